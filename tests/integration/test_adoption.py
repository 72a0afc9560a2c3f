"""A new user's project, end to end: a Dockerfile under docker/, a variant switch named after the
project, a pip install spec with extras in a build argument, user text that looks like markup.
`init` writes the config; a real two-platform build publishes it; a broken variant with
--keep-going leaves the other published."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import (
    Project,
    Registries,
    fresh_runner,
    image_platforms,
    manifest,
)

# Every line a user could write that rich markup, Markdown or HTML would misread.
DOCKERFILE = """\
ARG BASE_IMAGE={base}
FROM ${{BASE_IMAGE}}
ARG APP_VARIANT=slim
ARG APP_SPEC="/src[slim]"
ARG BREAK={broken}
RUN echo "deps for $APP_VARIANT" > /deps
RUN if [ "$APP_VARIANT" = "full" ] && [ "$BREAK" = "yes" ]; then echo "broken [/x] <script>"; exit 3; fi
RUN echo "install $APP_SPEC" | sed 's/[/]x//' > /spec
RUN echo "[bold red]x[/] `tick` | <script>alert(1)</script>" > /odd
"""


@pytest.fixture
def app(tmp_path: Path, registries: Registries, base_image: str) -> Project:
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile").write_text(DOCKERFILE.format(base=base_image, broken="no"))
    return Project(path=tmp_path, registries=registries, name=f"acme/app-{uuid.uuid4().hex[:8]}")


def _init(app: Project) -> None:
    images = [f"{app.registries.hub}/{app.name}", f"{app.registries.ghcr}/{app.name}"]
    result = app.run("init", *(arg for image in images for arg in ("--image", image)))
    assert result.returncode == 0, result.stderr
    # the starter names linux/amd64 and linux/arm64; the cache goes on the "ghcr" image, but
    # neither test registry is called ghcr.io: name it, as a user of local registries would
    config = app.path / "buildcache.toml"
    config.write_text(
        config.read_text().replace(
            f'image = "{app.registries.hub}/{app.name}"',
            f'image = "{app.registries.ghcr}/{app.name}-cache"',
        )
    )


def test_init_then_a_real_build_shows_user_text_verbatim_everywhere(
    app: Project, tmp_path: Path
) -> None:
    _init(app)
    result, plan = app.run_json("plan", "--version", "1.0.0")
    assert result.returncode == 0, result.stderr
    args = {v["name"]: v["build_args"] for v in plan["variants"]}
    assert args == {
        "slim": {"APP_VARIANT": "slim", "APP_SPEC": "/src[slim]"},
        "full": {"APP_VARIANT": "full", "APP_SPEC": "/src[full]"},
    }
    shown = app.run("plan", "full", "--version", "1.0.0")
    assert "APP_SPEC=/src[full]" in shown.stderr

    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    with fresh_runner() as host:  # cold, so that every step runs and is reported as run
        result, data = app.run_json(
            "build",
            "--push",
            "--version",
            "1.0.0",
            "--progress",
            "plain",
            env={**env, "DOCKER_HOST": host},
        )
    assert result.returncode == 0, result.stderr
    assert "internal error" not in result.stderr
    # the log and the report: what the Dockerfile says, as it says it
    assert "/src[full]" in result.stderr
    assert "[bold red]x[/] `tick` | <script>alert(1)</script>" in result.stderr
    assert "sed 's/[/]x//'" in result.stderr
    full = next(v for v in data["variants"] if v["name"] == "full")
    names = " ".join(s["name"] for s in full["cache"]["executed_steps"])
    assert "/src[full]" in names
    # the job summary: Markdown text escaped, HTML never raw
    text = summary.read_text()
    assert "/src\\[full\\]" in text
    assert "<script>" not in text
    # and the release is on both registries
    for registry in (app.registries.ghcr, app.registries.hub):
        assert image_platforms(f"{registry}/{app.name}:1.0.0-full") == {
            "linux/amd64",
            "linux/arm64",
        }


def test_a_failing_variant_with_keep_going_leaves_the_other_published(app: Project) -> None:
    (app.path / "docker" / "Dockerfile").write_text(
        DOCKERFILE.format(base=_base_of(app), broken="yes")
    )
    _init(app)
    without = app.run("build", "--push", "--version", "2.0.0", "--json", "--progress", "plain")
    assert without.returncode == 1
    data = json.loads(without.stdout)
    statuses = {v["name"]: v["status"] for v in data["variants"]}
    assert statuses["full"]["state"] == "failed"
    assert "exit code: 3" in statuses["full"]["error"] or "3" in statuses["full"]["error"]
    assert any("broken [/x] <script>" in line for line in statuses["full"]["log"])
    # the first image ({hub}) may have got slim's push before full failed; nothing was copied
    assert manifest(f"{app.registries.ghcr}/{app.name}:2.0.0") is None

    result = app.run(
        "build", "--push", "--version", "2.0.0", "--keep-going", "--json", "--progress", "plain"
    )
    assert result.returncode == 1
    data = json.loads(result.stdout)
    statuses = {v["name"]: v["status"]["state"] for v in data["variants"]}
    # slim may have been pushed by the first, failed run: then it is published from that image
    assert statuses in (
        {"slim": "built", "full": "failed"},
        {"slim": "published before", "full": "failed"},
    )
    assert "FAILED at" in result.stderr
    assert "(slim built and published)" in result.stderr
    for registry in (app.registries.ghcr, app.registries.hub):
        assert image_platforms(f"{registry}/{app.name}:2.0.0") == {"linux/amd64", "linux/arm64"}
        assert manifest(f"{registry}/{app.name}:2.0.0-full") is None
    slim = next(v for v in data["variants"] if v["name"] == "slim")
    assert {p["status"] for p in slim["publish"]} == {"done"}


def _base_of(app: Project) -> str:
    return f"{app.registries.ghcr}/base/busybox:1"
