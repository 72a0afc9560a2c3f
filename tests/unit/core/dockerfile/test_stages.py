"""core/dockerfile/stages.py: BuildKit's reading of a Dockerfile, without an engine."""

from __future__ import annotations

import pytest

from buildcache.core.dockerfile.stages import (
    chain_bases,
    needed,
    read_dockerfile,
    step_views,
)
from buildcache.errors import ConfigError

MULTI = """\
ARG PY=3.12
ARG REGISTRY=docker.io
FROM python:${PY}-slim AS builder
RUN pip wheel -w /w .
FROM builder AS tested
RUN pytest
FROM ${REGISTRY}/library/debian:bookworm AS runtime
ARG EXTRAS=slim
COPY --from=builder /w /w
COPY --from=ghcr.io/acme/tools:1 /bin/tool /bin/tool
RUN --mount=type=cache,target=/root/.cache --mount=from=ghcr.io/acme/wheels:2,target=/x \\
    pip install "/w[$EXTRAS]"
COPY requirements.txt src/ /app/
FROM scratch AS unused
"""


def test_the_target_needs_its_stages_and_the_images_they_read() -> None:
    dockerfile = read_dockerfile(MULTI)
    found = needed(dockerfile, "runtime", {"PY": "3.11"})
    assert [s.label for s in found.stages] == ["builder", "runtime"]
    assert found.images == (
        "docker.io/library/debian:bookworm",
        "python:3.11-slim",
        "ghcr.io/acme/tools:1",
        "ghcr.io/acme/wheels:2",
    )
    assert found.final_base == "docker.io/library/debian:bookworm"
    # a stage built FROM another starts from that one's base
    tested = needed(dockerfile, "tested", {})
    assert tested.images == ("python:3.12-slim",)
    assert tested.final_base == "python:3.12-slim"
    assert needed(dockerfile, None, {}).images == ()  # the last stage is FROM scratch
    with pytest.raises(ConfigError, match="no stage named 'nope'"):
        needed(dockerfile, "nope", {})


def test_steps_are_named_as_buildkit_names_them_with_the_arguments_they_see() -> None:
    dockerfile = read_dockerfile(MULTI)
    stages = needed(dockerfile, "runtime", {"EXTRAS": "full"}).stages
    views = {
        v.text.split()[0] + " " + v.stage: v
        for v in step_views(dockerfile, stages, {"EXTRAS": "full"})
    }
    run = next(
        v for v in step_views(dockerfile, stages, {"EXTRAS": "full"}) if "pip install" in v.text
    )
    assert run.shown.endswith('pip install "/w[full]"')
    assert run.args == {"EXTRAS": "full"}  # a RUN sees every argument in scope
    copy = [v for v in step_views(dockerfile, stages, {}) if v.sources]
    assert copy[-1].sources == ("requirements.txt", "src/")
    assert copy[-1].args == {}  # a COPY only the ones it names
    assert "RUN builder" in views
    assert chain_bases(dockerfile, stages, {}) == {
        "builder": "python:3.12-slim",
        "runtime": "docker.io/library/debian:bookworm",
    }


def test_a_heredoc_run_is_named_as_buildkit_names_it() -> None:
    """Seen in BuildKit's progress: the first line, and the document's first line in brackets
    where it is the whole command; the text keeps the document (a change to it is a change)."""
    text = (
        "FROM busybox\nRUN <<EOF\necho hi\necho there\nEOF\nRUN <<EOF\necho one\nEOF\n"
        "RUN <<EOF sh -e\necho x\nEOF\n"
    )
    dockerfile = read_dockerfile(text)
    views = step_views(dockerfile, dockerfile.stages, {})
    assert [v.shown for v in views] == [
        "RUN <<EOF (echo hi...)",
        "RUN <<EOF (echo one)",
        "RUN <<EOF sh -e",
    ]
    assert views[0].text == "RUN <<EOF echo hi echo there EOF"


def test_bind_mounts_of_the_context_are_sources() -> None:
    dockerfile = read_dockerfile(
        "FROM alpine\nRUN --mount=type=bind,source=src,target=/s make\nRUN --mount=target=/c ls\n"
    )
    views = step_views(dockerfile, dockerfile.stages, {})
    assert [v.sources for v in views] == [("src",), (".",)]
    assert views[0].stage == "stage-0"


def test_a_dockerfile_buildkit_cannot_parse_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        read_dockerfile("FROM alpine\nRUN <<EOF\n")
