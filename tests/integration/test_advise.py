"""`buildcache advise` on the real engine: a Dockerfile with `COPY . .` before a slow dependency
install, a `chown -R` in its own layer and an `apt-get update` alone gets the three pieces of
advice, measured by the record of its last build; the first applied, a source-only change keeps
the install cached (BuildKit's own figures)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.integration.conftest import Project

INSTALL = "RUN pip install . 2>/dev/null || (sleep 6 && cat pyproject.toml uv.lock > /deps)"
BEFORE = f"""\
ARG BASE_IMAGE
FROM ${{BASE_IMAGE}}
ARG DEPS_SECONDS VARIANT
RUN which apt-get && apt-get update || echo "no apt-get here"
WORKDIR /app
COPY . .
{INSTALL}
RUN chown -R 1000:1000 /app
"""
AFTER = f"""\
ARG BASE_IMAGE
FROM ${{BASE_IMAGE}}
ARG DEPS_SECONDS VARIANT
WORKDIR /app
COPY pyproject.toml uv.lock ./
{INSTALL}
COPY --chown=1000:1000 . .
"""


def _slim(data: dict[str, Any]) -> dict[str, Any]:
    return next(v for v in data["variants"] if v["name"] == "slim")


def _ran(data: dict[str, Any]) -> dict[str, float]:
    return {
        s["name"].split(" ", 1)[1]: s["seconds"] for s in _slim(data)["cache"]["executed_steps"]
    }


def test_advise_names_three_layouts_and_the_first_applied_keeps_the_install_cached(
    project: Project,
) -> None:
    salt = uuid.uuid4().hex  # no build cache on this engine holds these steps
    (project.path / "pyproject.toml").write_text(f'[project]\nname = "w{salt[:8]}"\n')
    (project.path / "uv.lock").write_text(f"# {salt}\n")
    (project.path / "src").mkdir()
    source = project.path / "src" / "app.py"
    source.write_text("print(1)\n")
    (project.path / ".dockerignore").write_text("buildcache.toml\nexample\nDockerfile*\n")
    # the apt step too: no build cache on this engine holds it, so the record has its time
    (project.path / "Dockerfile").write_text(BEFORE.replace("here", f"here {salt}"))
    config = (project.path / "buildcache.toml").read_text()
    project.write_config(
        config.replace('"Dockerfile.example"', '"Dockerfile"').replace(
            'platforms = ["linux/amd64", "linux/arm64"]', 'platforms = ["linux/amd64"]'
        )
    )
    # pushed (each time again, --force): the record sizes each layer from the image pushed
    build = ("build", "slim", "--push", "--force", "--version", "t", "--no-latest")
    result = project.run(*build)
    assert result.returncode == 0, result.stderr
    source.write_text("print(2)\n")  # a source-only change: the install runs again
    result, data = project.run_json(*build)
    assert result.returncode == 0, result.stderr
    install_took = _ran(data)[INSTALL]
    assert install_took >= 6
    assert "buildcache advise:" in result.stderr  # the one line pointing at it

    result, advice = project.run_json("advise", "slim", "--version", "t")
    assert result.returncode == 0, result.stderr
    found = {a["kind"]: a for a in advice["advice"]}
    assert sorted(found) == ["apt-update-alone", "chown-layer", "copy-first"]
    first = found["copy-first"]
    assert first["files"] == ["pyproject.toml", "uv.lock"]
    assert first["changed"] == ["src/"]
    assert abs(first["seconds"] - install_took) < 0.01  # the record's figure
    assert first["message"].startswith(
        "copy pyproject.toml and uv.lock first: pip install reran for a change to src/, "
    )
    assert found["chown-layer"]["step"] == "RUN chown -R 1000:1000 /app"
    assert found["chown-layer"]["size"] > 0  # the record's, read from the pushed image
    assert found["apt-update-alone"]["seconds"] is not None
    result = project.run("advise", "slim", "--version", "t")
    assert result.returncode == 0, result.stderr
    assert "copy pyproject.toml and uv.lock first" in result.stderr

    (project.path / "Dockerfile").write_text(AFTER)  # the first advice (and the second) applied
    result = project.run(*build)
    assert result.returncode == 0, result.stderr
    source.write_text("print(3)\n")
    result, data = project.run_json(*build)
    assert result.returncode == 0, result.stderr
    ran = _ran(data)
    assert INSTALL not in ran, ran  # the source-only change kept the install cached
    assert sum(ran.values()) < install_took
    result, advice = project.run_json("advise", "slim", "--version", "t")
    assert advice["advice"] == []
