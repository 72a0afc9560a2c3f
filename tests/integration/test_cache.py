"""The cache made visible: the report against BuildKit's own figures, `cache ls`, `cache prune`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from python_on_whales import DockerClient

from tests.integration.conftest import Project, fresh_runner, manifest, registry_get


def _buildkit_steps(raw_log: Path) -> dict[tuple[str, str, int], bool]:
    """(variant, platform, step) -> cached, straight from BuildKit's rawjson, read independently
    of buildcache's parser: every object whose vertex names a Dockerfile step."""
    steps: dict[tuple[str, str, int], bool] = {}
    decoder = json.JSONDecoder()
    text = raw_log.read_text()
    position = 0
    while (start := text.find("{", position)) != -1:
        obj, position = decoder.raw_decode(text, start)
        for vertex in obj.get("vertexes") or []:
            # bake names the target only when it builds more than one
            match = re.match(r"^\[(?:(\w+) )?(linux/\w+) \w+ (\d+)/\d+\]", vertex.get("name", ""))
            if match:
                key = (match.group(1) or "", match.group(2), int(match.group(3)))
                steps[key] = steps.get(key, False) or bool(vertex.get("cached"))
    return steps


def _cache(data: dict[str, Any], variant: str) -> dict[str, Any]:
    return next(v for v in data["variants"] if v["name"] == variant)["cache"]


def test_the_report_matches_buildkit_step_by_step_on_a_warm_cache(
    project: Project, docker: DockerClient
) -> None:
    result = project.run("build", "full", "--push", "--version", "1", "--no-latest")
    assert result.returncode == 0, result.stderr
    raw = project.path / "raw.json"
    with fresh_runner() as host:
        result, data = project.run_json(
            "build",
            "full",
            "--push",
            "--version",
            "2",
            "--no-latest",
            "--raw-log",
            str(raw),
            "--min-cache-hit",
            "0.7",
            env={"DOCKER_HOST": host},
        )
    assert result.returncode == 0, result.stderr
    buildkit = _buildkit_steps(raw)
    # four steps on two platforms, each seen by BuildKit (the base is a named context pinned by
    # digest, so there is no FROM step)
    assert len(buildkit) == 8
    cache = _cache(data, "full")
    executed = {
        (s["platform"], int(s["name"].split()[1].split("/")[0])) for s in cache["executed_steps"]
    }
    for (_, platform, step), cached in buildkit.items():
        assert ((platform, step) not in executed) == cached, (platform, step)
    assert cache["steps"]["cached"] == sum(buildkit.values())
    assert cache["steps"]["total"] == len(buildkit)
    assert cache["per_platform"]["linux/arm64"]["cached"] == sum(
        c for (_, p, _), c in buildkit.items() if p == "linux/arm64"
    )
    # the plain log has a line per finished step, with CACHED where BuildKit said so
    lines = [line for line in result.stderr.splitlines() if line.startswith("full linux/")]
    assert len(lines) == 8
    assert sum(line.endswith("CACHED") for line in lines) == cache["steps"]["cached"]


def test_min_cache_hit_fails_a_cold_build(project: Project) -> None:
    with fresh_runner() as host:  # cold: no build cache of earlier tests' builds
        result = project.run(
            "build",
            "slim",
            "--platform",
            "linux/amd64",
            "--version",
            "1",
            "--min-cache-hit",
            "0.9",
            env={"DOCKER_HOST": host},
        )
    assert result.returncode == 1
    assert "too few steps came from the cache" in result.stderr
    assert "slim 0/4" in result.stderr


def test_cache_ls_shows_every_variant_present_or_not(project: Project) -> None:
    result, data = project.run_json("cache", "ls")
    assert result.returncode == 0, result.stderr
    assert [(r["variant"], r["present"]) for r in data["refs"]] == [
        ("slim", False),
        ("full", False),
    ]

    result = project.run("build", "full", "--push", "--version", "1")
    assert result.returncode == 0, result.stderr
    result, data = project.run_json("cache", "ls")
    slim, full = data["refs"]
    assert slim["present"] is False
    assert full["present"] is True
    assert full["ref"].endswith(f"{project.name}-cache:buildcache-full")
    assert full["platforms"] == ["linux/amd64", "linux/arm64"]
    assert full["size"] > 1_000_000  # the dependency layers, several hundred kB each
    assert full["written"]
    assert full["digest"] == manifest(full["ref"])["_digest"]


def test_prune_deletes_a_renamed_variants_cache_and_keeps_the_others(project: Project) -> None:
    config = project.path / "buildcache.toml"
    result = project.run("build", "--push", "--version", "1")
    assert result.returncode == 0, result.stderr
    # rename `full` to `fat`: its old cache tag is now an orphan
    config.write_text(config.read_text().replace("[variants.full]", "[variants.fat]"))

    result, data = project.run_json("cache", "ls")
    assert [o["ref"].rsplit(":", 1)[1] for o in data["orphans"]] == ["buildcache-full"]

    dry = project.run("cache", "prune", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "delete" in dry.stderr
    assert "buildcache-full" in dry.stderr
    assert "nothing deleted" in dry.stderr
    assert manifest(data["orphans"][0]["ref"]) is not None

    refused = project.run("cache", "prune")  # no terminal to ask on, no --yes
    assert refused.returncode == 2
    assert "--yes" in refused.stderr

    result = project.run("cache", "prune", "--yes")
    assert result.returncode == 0, result.stderr
    cache_repo = f"{project.name}-cache"
    tags = registry_get(project.registries.ghcr, f"{cache_repo}/tags/list").json()["tags"] or []
    assert "buildcache-full" not in tags
    assert "buildcache-slim" in tags
    assert manifest(f"{project.registries.ghcr}/{cache_repo}:buildcache-slim") is not None

    again = project.run("cache", "prune", "--yes")
    assert again.returncode == 0
    assert "nothing to prune" in again.stderr


def test_prune_on_a_registry_that_refuses_deletes_says_so_and_deletes_nothing(
    project: Project, docker: DockerClient, tmp_path: Path
) -> None:
    # A registry with deletes turned off, as Docker Hub's and ghcr.io's registry APIs are.
    name = f"nodelete-{tmp_path.name[-8:]}"
    container = docker.run(
        "registry:2",
        detach=True,
        remove=True,
        name=name,
        publish=[("127.0.0.1:0", 5000)],
        envs={"REGISTRY_STORAGE": "inmemory", "REGISTRY_STORAGE_DELETE_ENABLED": "false"},
    )
    try:
        port = docker.container.inspect(container.id).network_settings.ports["5000/tcp"][0][
            "HostPort"
        ]
        address = f"127.0.0.1:{port}"
        config = project.path / "buildcache.toml"
        text = config.read_text().replace(
            f'image = "{project.registries.ghcr}/{project.name}-cache"',
            f'image = "{address}/{project.name}-cache"',
        )
        config.write_text(text)
        for _ in range(50):
            try:
                if registry_get(address, "").status_code == 200:
                    break
            except Exception:
                pass
        result = project.run(
            "build", "full", "--platform", "linux/amd64", "--cache-write", "--version", "1"
        )
        assert result.returncode == 0, result.stderr
        config.write_text(text.replace("[variants.full]", "[variants.fat]"))
        result = project.run("cache", "prune", "--yes")
        assert result.returncode == 1
        assert "nothing was deleted" in result.stderr
        assert "does not allow deleting" in result.stderr
        assert "Traceback" not in result.stderr
        assert manifest(f"{address}/{project.name}-cache:buildcache-full") is not None
    finally:
        docker.container.stop(container)


def test_two_projects_on_one_cache_image_never_prune_each_other(project: Project) -> None:
    """Project A (slim, full) and project B (api) share A's cache image: each one's prune
    deletes nothing of the other's, and says whose the kept caches are."""
    ghcr = project.registries.ghcr
    cache_repo = f"{project.name}-cache"
    other_path = project.path / "other"
    other_path.mkdir()
    shutil.copy(project.path / "Dockerfile.example", other_path)
    shutil.copytree(project.path / "example", other_path / "example")
    (other_path / "example" / "src" / "VERSION").write_text("api\n")  # a cache of its own
    other = Project(path=other_path, registries=project.registries, name=f"{project.name}-api")
    text = (project.path / "buildcache.toml").read_text()
    other.write_config(
        text.replace(f'images = ["{ghcr}/{project.name}", ', f'images = ["{ghcr}/{other.name}", ')
        .replace(
            f'"{project.registries.hub}/{project.name}"', f'"{project.registries.hub}/{other.name}"'
        )
        .replace(
            '[variants.slim]\ndefault = true\nbuild-args = { VARIANT = "slim" }',
            '[variants.api]\ndefault = true\nbuild-args = { VARIANT = "slim" }',
        )
        .replace('[variants.full]\nbuild-args = { VARIANT = "full" }\n', "")
    )
    args = ("build", "--push", "--version", "1", "--platform", "linux/amd64")
    for side in (project, other):
        result = side.run(*args)
        assert result.returncode == 0, result.stderr

    def cache_tags() -> set[str]:
        return set(registry_get(ghcr, f"{cache_repo}/tags/list").json()["tags"] or [])

    both = cache_tags()
    assert {"buildcache-slim", "buildcache-full", "buildcache-api"} <= both
    result, data = other.run_json("cache", "ls")
    owners = {o["ref"].rsplit(":", 1)[1]: o["record"]["owner"] for o in data["orphans"]}
    assert owners == {
        "buildcache-slim": f"{ghcr}/{project.name}",
        "buildcache-full": f"{ghcr}/{project.name}",
    }

    for side, kept_owner in ((project, other.name), (other, project.name)):
        result = side.run("cache", "prune", "--yes")
        assert result.returncode == 0, result.stderr
        assert f"written by another project, {ghcr}/{kept_owner}" in result.stderr
        assert cache_tags() == both

    # A renames full to fat: its own orphan goes, B's api stays
    config = project.path / "buildcache.toml"
    config.write_text(config.read_text().replace("[variants.full]", "[variants.fat]"))
    result = project.run("cache", "prune", "--yes")
    assert result.returncode == 0, result.stderr
    assert cache_tags() == both - {"buildcache-full", "buildcache-full.record"}


def _git_repository(path: Path, remote: str) -> None:
    """`path` as a clone of `remote` would be: one commit, origin pointing at it."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]
    for command in (
        ["init", "-q", "-b", "main"],
        ["remote", "add", "origin", remote],
        ["add", "-A"],
        ["commit", "-qm", "start"],
    ):
        subprocess.run([*git, *command], cwd=path, check=True, capture_output=True)


def test_two_projects_with_the_same_variants_on_one_cache_image_are_told_apart(
    project: Project,
) -> None:
    """Repositories acme/a and acme/b, both with variants slim and full, share a's cache image
    (so the same cache tags): their records name their repositories; b's build says once that
    a wrote the caches it is about to replace; a's prune of its removed variant keeps the cache
    b wrote last; and each one's prune deletes nothing of the other's."""
    ghcr = project.registries.ghcr
    cache_repo = f"{project.name}-cache"
    other_path = project.path / "b"
    other_path.mkdir()
    shutil.copy(project.path / "Dockerfile.example", other_path)
    shutil.copytree(project.path / "example", other_path / "example")
    other = Project(path=other_path, registries=project.registries, name=f"{project.name}-b")
    text = (project.path / "buildcache.toml").read_text()
    other.write_config(text.replace(f'/{project.name}"', f'/{other.name}"'))
    assert f'image = "{ghcr}/{cache_repo}"' in (other_path / "buildcache.toml").read_text()
    (project.path / ".gitignore").write_text("b/\n")
    _git_repository(project.path, "git@github.com:acme/a.git")
    _git_repository(other_path, "https://github.com/acme/b")
    args = ("build", "--push", "--version", "1", "--platform", "linux/amd64", "--cache", "rw")

    def owners() -> dict[str, str]:
        _, data = project.run_json("cache", "ls")
        return {e["ref"].rsplit(":", 1)[1]: (e["record"] or {}).get("owner") for e in data["refs"]}

    def cache_tags() -> set[str]:
        return set(registry_get(ghcr, f"{cache_repo}/tags/list").json()["tags"] or [])

    first = project.run(*args)
    assert first.returncode == 0, first.stderr
    assert "another project" not in first.stderr
    assert owners() == {
        "buildcache-slim": "github.com/acme/a",
        "buildcache-full": "github.com/acme/a",
    }
    second = other.run(*args)
    assert second.returncode == 0, second.stderr
    assert second.stderr.count("was last written by another project") == 1, second.stderr
    assert (
        "the cache of slim, full was last written by another project (github.com/acme/a"
        in " ".join(second.stderr.split())
    )
    assert owners() == {
        "buildcache-slim": "github.com/acme/b",
        "buildcache-full": "github.com/acme/b",
    }
    both = cache_tags()

    # a renames full to fat: buildcache-full is its orphan now, but b wrote it last and uses it
    config = project.path / "buildcache.toml"
    config.write_text(config.read_text().replace("[variants.full]", "[variants.fat]"))
    pruned = project.run("cache", "prune", "--yes")
    assert pruned.returncode == 0, pruned.stderr
    assert "written by another project, github.com/acme/b" in " ".join(pruned.stderr.split())
    assert cache_tags() == both
    pruned = other.run("cache", "prune", "--yes")
    assert pruned.returncode == 0, pruned.stderr
    assert cache_tags() == both


def test_hits_from_the_engines_own_cache_are_counted_apart_from_the_registrys(
    project: Project,
) -> None:
    """A warm engine hides a registry cache that gives nothing: with a new cache ref (missing)
    every step still comes from the cache, all from the engine's local one, and that is a
    warning; with the ref its record describes, they are the registry cache's."""
    config = (
        (project.path / "buildcache.toml")
        .read_text()
        .replace('platforms = ["linux/amd64", "linux/arm64"]', 'platforms = ["linux/amd64"]')
    )
    (project.path / "example" / "deps" / "salt.txt").write_text(f"{project.name}\n")  # cold steps
    project.write_config(config)
    build = ("build", "slim", "--cache-write", "--version", "1", "--no-latest")
    result = project.run(*build)
    assert result.returncode == 0, result.stderr

    project.write_config(config.replace(f"{project.name}-cache", f"{project.name}-elsewhere"))
    result, data = project.run_json(*build)
    assert result.returncode == 0, result.stderr
    steps = _cache(data, "slim")["steps"]
    assert steps["cached"] == steps["total"] > 0
    assert (steps["from_registry"], steps["from_local"]) == (0, steps["cached"])
    assert {s["origin"] for s in _cache(data, "slim")["cached_steps"]} == {"local"}
    assert "the registry cache gave no step" in result.stderr
    assert f"0 from the registry cache, {steps['cached']} from the engine's local cache" in (
        result.stderr
    )

    project.write_config(config)
    result, data = project.run_json(*build)
    assert result.returncode == 0, result.stderr
    steps = _cache(data, "slim")["steps"]
    assert (steps["from_registry"], steps["from_local"]) == (steps["cached"], 0)
    assert {s["origin"] for s in _cache(data, "slim")["cached_steps"]} == {"registry"}
    assert "the registry cache gave no step" not in result.stderr
