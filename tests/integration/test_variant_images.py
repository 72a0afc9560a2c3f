"""Variants with images, inputs and tag rules of their own, built on the real engine and pushed
to the compose registries; what landed is read back from the registries (labels from each
image's config blob, platforms from its index), never from buildcache's own JSON."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.integration.conftest import Project, manifest, registry_get

DATA = Path(__file__).parents[1] / "unit" / "core" / "config" / "data"
# no RUN: any platform builds without an emulator
DOCKERFILE = """\
FROM scratch
ARG FLAVOUR=none
ARG EDITION=community
ARG BASE=none
LABEL acme.flavour=$FLAVOUR acme.edition=$EDITION
COPY hello /hello
"""


def _platforms(reference: str) -> dict[str, dict[str, Any]]:
    """os/arch[/variant] -> that platform's image config, read over the registry API."""
    index = manifest(reference)
    assert index is not None, f"{reference} is not in the registry"
    address, rest = reference.split("/", 1)
    repo = rest.rpartition(":")[0]
    entries = index.get("manifests") or [{"digest": index["_digest"], "platform": None}]
    found = {}
    for entry in entries:
        platform = entry.get("platform") or {}
        if platform.get("os") == "unknown":
            continue  # an attestation
        own = registry_get(address, f"{repo}/manifests/{entry['digest']}").json()
        blob = registry_get(address, f"{repo}/blobs/{own['config']['digest']}").json()
        name = "/".join(p for p in (blob["os"], blob["architecture"], blob.get("variant")) if p)
        found[name] = blob["config"]
    return found


def _labels(reference: str) -> dict[str, str]:
    configs = list(_platforms(reference).values())
    labels: dict[str, str] = configs[0].get("Labels") or {}
    return labels


def _write(project: Project, folder: str = ".") -> None:
    path = project.path / folder
    path.mkdir(exist_ok=True)
    (path / "Dockerfile").write_text(DOCKERFILE)
    (path / "hello").write_text("hello\n")


def test_variants_with_their_own_images_and_flavors_are_published_as_their_rules_say(
    project: Project,
) -> None:
    """alpine is listed first, and its flavor suffixes it: debian (no suffix) gets the bare
    tags; ee goes to an image of its own on another registry, for its own platforms, with its
    own build arguments, context and cache."""
    ghcr, hub = project.registries.ghcr, project.registries.hub
    app, ee = f"{ghcr}/{project.name}", f"{hub}/{project.name}-ee"
    _write(project)
    _write(project, "ee")
    project.write_config(
        f'images = ["{app}"]\n'
        'platforms = ["linux/amd64"]\n'
        "[tags]\n"
        'rules = ["type=semver,pattern={{version}}", "type=semver,pattern={{major}}.{{minor}}"]\n'
        "[variants.alpine]\n"
        'build-args = { FLAVOUR = "alpine" }\n'
        "[variants.alpine.tags]\n"
        'flavor = ["suffix=-alpine,onlatest=true"]\n'
        "[variants.debian]\n"
        'build-args = { FLAVOUR = "debian" }\n'
        "[variants.debian.tags]\n"
        'flavor = ["latest=auto"]\n'
        "[variants.ee]\n"
        f'images = ["{ee}"]\n'
        'context = "ee"\n'
        'platforms = ["linux/arm64/v8", "linux/arm/7"]\n'
        'build-args = { FLAVOUR = "debian", EDITION = "enterprise" }\n'
    )
    result, plan = project.run_json("plan", "--version", "1.2.3")
    assert result.returncode == 0, result.stderr
    images = {v["name"]: v["images"] for v in plan["variants"]}
    assert images == {"alpine": [app], "debian": [app], "ee": [ee]}

    result = project.run("build", "--push", "--version", "1.2.3")
    assert result.returncode == 0, result.stderr

    for tag in ("1.2.3", "1.2", "latest"):
        assert _labels(f"{app}:{tag}")["acme.flavour"] == "debian", tag
    for tag in ("1.2.3-alpine", "1.2-alpine", "latest-alpine"):
        assert _labels(f"{app}:{tag}")["acme.flavour"] == "alpine", tag
    assert manifest(f"{app}:1.2.3-ee") is None  # ee is not folded into the app's image
    assert manifest(f"{app}:1.2.3-debian") is None  # nor is the bare one suffixed
    ee_platforms = _platforms(f"{ee}:1.2.3")
    assert set(ee_platforms) == {"linux/arm64", "linux/arm/v7"}
    labels = _labels(f"{ee}:1.2.3")
    assert (labels["acme.edition"], labels["org.opencontainers.image.version"]) == (
        "enterprise",
        "1.2.3",
    )
    # each variant's cache: the first of its own images (no cache.image is given)
    assert manifest(f"{ee}:buildcache-ee") is not None
    assert manifest(f"{app}:buildcache-alpine") is not None
    assert manifest(f"{app}:buildcache-ee") is None
    # cache ls reads each cache where it lives
    result, listing = project.run_json("cache", "ls")
    assert result.returncode == 0, result.stderr
    assert {e["ref"]: e["present"] for e in listing["refs"]} == {
        f"{app}:buildcache-alpine": True,
        f"{app}:buildcache-debian": True,
        f"{ee}:buildcache-ee": True,
    }


def test_two_variants_writing_one_tag_are_refused_before_anything_runs(project: Project) -> None:
    _write(project)
    project.write_config(
        f'images = ["{project.registries.ghcr}/{project.name}"]\n'
        '[variants.alpine]\n[variants.alpine.tags]\nflavor = ["latest=auto"]\n'
        '[variants.debian]\n[variants.debian.tags]\nflavor = ["latest=auto"]\n'
    )
    result = project.run("build", "--push", "--version", "1.2.3")
    assert result.returncode == 2, result.stderr
    assert "the variants alpine and debian would both write" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_recorded_bake_print_is_what_buildx_prints(tmp_path: Path) -> None:
    """The unit tests map data/monorepo.print.json: it must be buildx's own reading of the HCL
    beside it (matrix, inherits, a function, nested groups)."""
    (tmp_path / "docker-bake.hcl").write_text((DATA / "monorepo.docker-bake.hcl").read_text())
    printed = subprocess.run(
        ["docker", "buildx", "bake", "--print"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(printed.stdout) == json.loads((DATA / "monorepo.print.json").read_text())


def test_a_bake_file_s_matrix_and_nested_groups_build_each_target_in_its_own_image(
    project: Project,
) -> None:
    ghcr, hub = project.registries.ghcr, project.registries.hub
    _write(project)
    _write(project, "tools")
    hcl = (DATA / "monorepo.docker-bake.hcl").read_text()
    hcl = hcl.replace("docker.io/acme/tools", f"{hub}/{project.name}-tools")
    hcl = hcl.replace('default = "ghcr.io/acme"', f'default = "{ghcr}/{project.name}"')
    (project.path / "docker-bake.hcl").write_text(hcl)
    app, tools = f"{ghcr}/{project.name}/app", f"{ghcr}/{project.name}/tools"
    project.write_config(
        f'images = ["{app}"]\nbake-file = "docker-bake.hcl"\n'
        "[variants.app-alpine.tags]\n"
        'flavor = ["suffix=-alpine,onlatest=true"]\n'
    )
    result = project.run("build", "--push", "--version", "1.2.3")
    assert result.returncode == 0, result.stderr
    assert _labels(f"{app}:1.2.3")["acme.flavour"] == "debian"
    assert _labels(f"{app}:1.2.3-alpine")["acme.flavour"] == "alpine"
    assert manifest(f"{app}:1.2.3-tools") is None
    for image in (tools, f"{hub}/{project.name}-tools"):
        assert set(_platforms(f"{image}:1.2.3")) == {"linux/arm/v7", "linux/arm64"}, image
        assert _labels(f"{image}:latest")["org.opencontainers.image.version"] == "1.2.3"
