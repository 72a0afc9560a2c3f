"""A team's own docker-bake.hcl built by buildcache on the real engine: its targets become the
variants, with buildcache's tags and cache refs, and --set reaches buildx."""

from __future__ import annotations

from tests.integration.conftest import Project, manifest, registry_get
from tests.integration.test_inputs import _files

BAKE_FILE = """\
variable "BASE" { default = "" }
group "default" { targets = ["slim", "full"] }
target "_common" {
  dockerfile = "docker/Dockerfile"
  platforms = ["linux/amd64"]
  args = { BASE_IMAGE = BASE, FLAVOUR = "plain" }
  tags = ["@REPO@:dev"]
}
target "slim" { inherits = ["_common"] }
target "full" {
  inherits = ["_common"]
  args = { FLAVOUR = "everything" }
}
"""
DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG FLAVOUR
ARG EXTRA=none
RUN echo "$FLAVOUR $EXTRA" > /flavour
"""


def test_a_bake_file_s_targets_build_as_variants_with_buildcache_s_tags_and_cache(
    project: Project, base_image: str
) -> None:
    (project.path / "docker").mkdir()
    (project.path / "docker" / "Dockerfile").write_text(DOCKERFILE)
    ghcr = project.registries.ghcr
    # the image its targets' tags name is where they are pushed; the tags are buildcache's
    (project.path / "docker-bake.hcl").write_text(
        BAKE_FILE.replace('default = ""', f'default = "{base_image}"').replace(
            "@REPO@", f"{ghcr}/{project.name}"
        )
    )
    project.write_config(
        f'images = ["{ghcr}/{project.name}"]\nbake-file = "docker-bake.hcl"\n'
        f'[cache]\nimage = "{ghcr}/{project.name}-cache"\n'
    )
    result = project.run("build", "--push", "--version", "1.0", "--set", "full.args.EXTRA=set")
    assert result.returncode == 0, result.stderr
    assert "its tags are buildcache's to make, and replaced" in result.stderr
    flavours = {}
    for tag in ("1.0", "1.0-full"):
        index = manifest(f"{ghcr}/{project.name}:{tag}")
        assert index is not None, tag
        entry = next(m for m in index["manifests"] if m["platform"]["os"] == "linux")
        image = registry_get(ghcr, f"{project.name}/manifests/{entry['digest']}").json()
        flavours[tag] = _files(project, image)["flavour"].decode().strip()
    # the bake file's args, its inheritance, and the --set on top
    assert flavours == {"1.0": "plain none", "1.0-full": "everything set"}
    for variant in ("slim", "full"):
        assert manifest(f"{ghcr}/{project.name}-cache:buildcache-{variant}") is not None
    # `cache ls` knows the bake file's variants: their caches are theirs, not orphans to prune
    result, listing = project.run_json("cache", "ls")
    assert result.returncode == 0, result.stderr
    assert {e["variant"]: e["present"] for e in listing["refs"]} == {"slim": True, "full": True}
    assert listing["orphans"] == []
