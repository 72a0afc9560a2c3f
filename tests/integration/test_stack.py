"""The test stack itself works: a real engine, real registries, a registry cache that survives a
fresh runner. Built with plain `docker buildx` through python-on-whales, not with buildcache, so a
failure here is the stack's, not the tool's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from python_on_whales import DockerClient

from buildcache.buildkit.tracker import BuildTracker
from tests.integration.conftest import Registries, fresh_runner, image_platforms, manifest

DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN echo dependencies > /deps && sleep 1
RUN echo more dependencies >> /deps
COPY app.txt /app.txt
"""


def _build(docker: DockerClient, context: Path, **options: Any) -> BuildTracker:
    tracker = BuildTracker(["app"], {"app": ["linux/amd64", "linux/arm64"]})
    stream = docker.buildx.build(
        context,
        platforms=["linux/amd64", "linux/arm64"],
        progress=cast(Any, "rawjson"),
        stream_logs=True,
        **options,
    )
    for line in cast(Iterator[str], stream):
        tracker.feed_line(line)
    return tracker


def test_two_platform_build_with_registry_cache_survives_a_fresh_runner(
    docker: DockerClient, registries: Registries, base_image: str, tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / "app.txt").write_text("one\n")
    repo = f"stack/app-{uuid.uuid4().hex[:8]}"
    cache_ref = f"{registries.ghcr}/{repo}:buildcache-app"
    tags = [f"{registries.ghcr}/{repo}:1", f"{registries.hub}/{repo}:1"]

    first = _build(
        docker,
        tmp_path,
        build_args={"BASE_IMAGE": base_image},
        tags=tags,
        push=True,
        cache_to=f"type=registry,ref={cache_ref},mode=max",
    )
    runs = [s for s in first.steps() if s.text.startswith("RUN")]
    assert len(runs) == 4  # two RUN steps on two platforms
    for tag in tags:
        assert image_platforms(tag) == {"linux/amd64", "linux/arm64"}
    assert manifest(cache_ref) is not None

    (tmp_path / "app.txt").write_text("two\n")
    with fresh_runner() as host:
        second = _build(
            DockerClient(host=host),
            tmp_path,
            build_args={"BASE_IMAGE": base_image},
            tags=tags,
            push=True,
            cache_from=f"type=registry,ref={cache_ref}",
        )
    steps = {(s.platform, s.text.split()[0], s.index): s for s in second.steps()}
    runs = [s for key, s in steps.items() if key[1] == "RUN"]
    assert len(runs) == 4
    assert all(s.cached for s in runs), [(s.platform, s.text, s.cached) for s in runs]
    copies = [s for key, s in steps.items() if key[1] == "COPY"]
    assert copies
    assert not any(s.cached for s in copies)  # the changed file is copied again


def test_the_registry_that_needs_a_login_refuses_anonymous_pushes(registries: Registries) -> None:
    import httpx

    response = httpx.get(f"http://{registries.private}/v2/", timeout=5)
    assert response.status_code == 401
