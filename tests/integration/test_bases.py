"""Base images on the real engine and registries: a base tag that moves between two releases
(a changed image pushed under the same tag), predicted by `plan`, kept on purpose with
`[base] refresh = "cache"`, taken with --refresh-base and named as the cause of the misses; and a
changed build argument and a changed COPY source named as the cause of theirs."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

from tests.integration.conftest import Project, fresh_runner, manifest, registry_get

BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"


def _variant(data: dict, name: str) -> dict:
    return next(v for v in data["variants"] if v["name"] == name)


def _ran(data: dict, name: str) -> list[str]:
    """The steps that ran (FROM aside: a fresh runner fetches the base, which is no miss)."""
    cache = _variant(data, name)["cache"]
    return [s["name"] for s in cache["executed_steps"] if " FROM " not in s["name"]]


def _move(base: str, to: str, host: str) -> str:
    """Push a changed image under the tag `to` (on the throwaway daemon `host`): what upstream
    does when it republishes python:3.12-slim. Returns the tag's new digest."""
    folder = Path(f"/tmp/buildcache-moved-{uuid.uuid4().hex[:8]}")
    folder.mkdir()
    (folder / "Dockerfile").write_text(f"FROM {base}\nRUN echo {uuid.uuid4().hex} > /release\n")
    subprocess.run(
        ["docker", "--host", host, "buildx", "build", "--platform", "linux/amd64,linux/arm64",
         "--tag", to, "--push", "--progress", "quiet", str(folder)],
        check=True, capture_output=True,
    )  # fmt: skip
    found = manifest(to)
    assert found is not None
    return str(found["_digest"])


def test_a_moved_base_is_predicted_kept_on_purpose_then_taken_and_named(
    project: Project, base_image: str
) -> None:
    ghcr = project.registries.ghcr
    moving = f"{ghcr}/upstream-{uuid.uuid4().hex[:8]}/python:3.12-slim"
    subprocess.run(
        ["docker", "buildx", "imagetools", "create", "--tag", moving, base_image],
        check=True,
        capture_output=True,
    )
    config = (project.path / "buildcache.toml").read_text().replace(base_image, moving)
    project.write_config(config + '\n[base]\nrefresh = "cache"\n')
    old = manifest(moving)["_digest"]  # type: ignore[index]

    with fresh_runner() as host:
        result, data = project.run_json(
            "build", "slim", "--push", "--version", "1.0.0", env={"DOCKER_HOST": host}
        )
        assert result.returncode == 0, result.stderr
        [base] = _variant(data, "slim")["bases"]
        assert (base["name"], base["used"], base["moved"]) == (moving, old, False)
        new = _move(base_image, moving, host)
    assert new != old
    cache = f"{ghcr}/{project.name}-cache:buildcache-slim"
    assert manifest(f"{cache}.record") is not None  # the record beside the cache

    # before any build, with no engine at all: the plan sees the move and keeps the old base
    result = project.run(
        "plan", "slim", "--version", "1.0.1", env={"DOCKER_HOST": "unix:///nowhere"}
    )
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stderr.split() + result.stdout.split())
    assert f"the tag now resolves to {new[:19]}" in said
    assert "building on the cache's base until" in said
    result = project.run("plan", "slim", "--version", "1.0.1", "--refresh-base", "--json")
    [base] = json.loads(result.stdout)["variants"][0]["bases"]
    assert (base["used"], base["recorded"], base["moved"], base["pinned"]) == (
        new,
        old,
        True,
        False,
    )

    summary = project.path / "summary.md"
    ci = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    with fresh_runner() as host:
        # refresh = "cache": every dependency step from the registry cache, on the old base
        result, data = project.run_json(
            "build", "slim", "--push", "--version", "1.0.1", env={"DOCKER_HOST": host, **ci}
        )
        assert result.returncode == 0, result.stderr
        assert all("install.sh /opt/app" in s for s in _ran(data, "slim")), _ran(data, "slim")
        [base] = _variant(data, "slim")["bases"]
        assert (base["used"], base["pinned"], base["digest"]) == (old, True, new)
        index = manifest(f"{ghcr}/{project.name}:1.0.1")
        assert index is not None
        assert index["annotations"][BASE_DIGEST] == old
        assert index["annotations"][BASE_NAME] == moving
        assert "**pinned** to the cache's" in summary.read_text()

        # --refresh-base: the new base, so the dependency steps run again, and the report says why
        summary.unlink()
        result, data = project.run_json(
            "build", "slim", "--push", "--version", "1.0.2", "--refresh-base",
            env={"DOCKER_HOST": host, **ci},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    assert any("install.sh common" in s for s in _ran(data, "slim")), _ran(data, "slim")
    cause = _variant(data, "slim")["cache"]["miss_cause"]
    assert cause["kind"] == "base"
    assert cause["changes"] == [{"what": moving, "old": old, "new": new}]
    assert f"moved: {old[:19]} -> {new[:19]}" in result.stderr
    assert "**why steps ran:**" in summary.read_text()
    assert f"(moved from `{old}`)" in summary.read_text()
    index = manifest(f"{ghcr}/{project.name}:1.0.2")
    assert index is not None
    assert index["annotations"][BASE_DIGEST] == new
    # cache ls names the base each cache was built on
    listing = json.loads(project.run("cache", "ls", "--json").stdout)
    slim = next(r for r in listing["refs"] if r["variant"] == "slim")
    assert slim["record"]["bases"][0]["digest"] == new


def test_a_changed_build_argument_and_a_changed_copy_source_are_named(project: Project) -> None:
    # unique values, so that no build cache on this engine holds the steps they feed
    flavour_a, flavour_b, files_b = (uuid.uuid4().hex for _ in range(3))
    (project.path / "deps").mkdir()
    (project.path / "deps" / "list.txt").write_text(f"{uuid.uuid4().hex}\n")
    (project.path / ".dockerignore").write_text("deps/*.tmp\n")
    (project.path / "Dockerfile").write_text(
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG DEPS_SECONDS\nCOPY deps/ /deps/\nARG FLAVOUR=plain\n"
        'RUN echo "$FLAVOUR" > /flavour && cat /deps/list.txt\n'
    )
    config = (project.path / "buildcache.toml").read_text()
    config = config.replace('"Dockerfile.example"', '"Dockerfile"').replace(
        'platforms = ["linux/amd64", "linux/arm64"]', 'platforms = ["linux/amd64"]'
    )
    project.write_config(config.replace('VARIANT = "slim"', f'FLAVOUR = "{flavour_a}"'))
    build = ("build", "slim", "--cache-write", "--version", "t", "--no-latest")
    result = project.run(*build)
    assert result.returncode == 0, result.stderr

    project.write_config(config.replace('VARIANT = "slim"', f'FLAVOUR = "{flavour_b}"'))
    result, data = project.run_json(*build)
    assert result.returncode == 0, result.stderr
    cause = _variant(data, "slim")["cache"]["miss_cause"]
    assert cause["kind"] == "argument"
    assert cause["changes"] == [{"what": "FLAVOUR", "old": flavour_a, "new": flavour_b}]

    (project.path / "deps" / "ignored.tmp").write_text("no change that matters")
    (project.path / "deps" / "list.txt").write_text(f"{files_b}\n")
    result, data = project.run_json(*build)
    assert result.returncode == 0, result.stderr
    cause = _variant(data, "slim")["cache"]["miss_cause"]
    # the file that changed, not the source `deps/`; the ignored one is not named
    assert (cause["kind"], cause["detail"]) == (
        "files",
        "the files it reads changed: deps/list.txt",
    )
    tags = registry_get(project.registries.ghcr, f"{project.name}-cache/tags/list").json()["tags"]
    assert sorted(tags) == ["buildcache-slim", "buildcache-slim.record"]


MULTI_STAGE = """\
ARG BASE_IMAGE
FROM ${{BASE_IMAGE}} AS base
ARG DEPS_SECONDS VARIANT
WORKDIR /app
COPY .docker/scripts/*.sh /usr/local/bin/
RUN echo {salt} > /salt

FROM base AS build
RUN echo {line} \\
    && cat /salt > /built

FROM ${{BASE_IMAGE}} AS release
COPY --from=build /built /built
COPY --from=base /usr/local/bin/entrypoint.sh /entrypoint.sh
"""


def test_a_multi_stage_miss_names_the_step_whose_own_input_changed(project: Project) -> None:
    """The issue's two misses: a changed script read by `base`'s COPY is that step's, not
    `release`'s `COPY --from=build` (numbered before it: BuildKit counts steps per stage); an
    edited RUN line is "its text changed", with the old and the new line."""
    salt = uuid.uuid4().hex  # no build cache on this engine holds these steps
    scripts = project.path / ".docker" / "scripts"
    scripts.mkdir(parents=True)
    (scripts / "entrypoint.sh").write_text(f"#!/bin/sh\necho one {salt}\n")
    dockerfile = project.path / "Dockerfile"
    dockerfile.write_text(MULTI_STAGE.format(salt=salt, line="first"))
    config = (project.path / "buildcache.toml").read_text()
    config = config.replace('"Dockerfile.example"', '"Dockerfile"').replace(
        'platforms = ["linux/amd64", "linux/arm64"]', 'platforms = ["linux/amd64"]'
    )
    project.write_config(config)
    build = ("build", "slim", "--cache-write", "--version", "t", "--no-latest")
    result = project.run(*build)
    assert result.returncode == 0, result.stderr

    (scripts / "entrypoint.sh").write_text(f"#!/bin/sh\necho two {salt}\n")
    result, data = project.run_json(*build)
    assert result.returncode == 0, result.stderr
    cause = _variant(data, "slim")["cache"]["miss_cause"]
    assert cause["step"] == "COPY .docker/scripts/*.sh /usr/local/bin/", cause
    assert cause["kind"] == "files"
    assert cause["detail"] == "the files it reads changed: .docker/scripts/entrypoint.sh"

    dockerfile.write_text(MULTI_STAGE.format(salt=salt, line="second"))
    result, data = project.run_json(*build)
    assert result.returncode == 0, result.stderr
    cause = _variant(data, "slim")["cache"]["miss_cause"]
    old, new = "RUN echo first && cat /salt > /built", "RUN echo second && cat /salt > /built"
    assert cause["kind"] == "instruction", cause
    assert cause["detail"] == f"its text changed: {old} -> {new}"
    assert cause["changes"] == [{"what": "text", "old": old, "new": new}]
