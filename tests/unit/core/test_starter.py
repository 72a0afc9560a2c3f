from __future__ import annotations

import tomllib
from pathlib import Path

from buildcache.core.config import parse_config
from buildcache.core.starter import read_dockerfile, starter_config

MULTI_STAGE = """\
# syntax comment
ARG PYTHON=3.12
FROM python:${PYTHON} AS base
ARG VARIANT=slim
RUN pip install \\
      numpy
FROM base AS builder
RUN make
FROM base AS slim
COPY --from=builder /out /app
FROM slim AS full
RUN apt-get install -y extras
FROM base AS gpu
"""


def test_stages_and_args_are_read() -> None:
    dockerfile = read_dockerfile(MULTI_STAGE)
    assert dockerfile.stages == ["base", "builder", "slim", "full", "gpu"]
    assert dockerfile.args == {"PYTHON": "3.12", "VARIANT": "slim"}
    assert dockerfile.final_stages == ["full", "gpu"]  # base, builder and slim are built on


def _parsed(text: str):
    return parse_config(tomllib.loads(text), {}, path=Path("/r/buildcache.toml"), root=Path("/r"))


def test_several_final_stages_become_variants_by_target() -> None:
    text = starter_config(
        images=["ghcr.io/a/b"],
        dockerfile_name="Dockerfile",
        dockerfile=read_dockerfile(MULTI_STAGE),
        platforms=["linux/amd64"],
    )
    config = _parsed(text)
    assert [(v.name, v.target, v.default) for v in config.variants] == [
        ("full", "full", False),
        ("gpu", "gpu", True),
    ]


def test_a_variant_argument_becomes_variants_by_build_argument() -> None:
    dockerfile = read_dockerfile("FROM debian\nARG FLAVOR=lite\nRUN echo $FLAVOR\n")
    text = starter_config(
        images=["a/b"],
        dockerfile_name="docker/Dockerfile",
        dockerfile=dockerfile,
        platforms=["linux/amd64"],
    )
    config = _parsed(text)
    assert [(v.name, dict(v.build_args)) for v in config.variants] == [("lite", {"FLAVOR": "lite"})]
    assert config.dockerfile == Path("/r/docker/Dockerfile")


def test_a_plain_dockerfile_gives_one_variant() -> None:
    text = starter_config(
        images=["a/b"],
        dockerfile_name="Dockerfile",
        dockerfile=read_dockerfile("FROM x\n"),
        platforms=["linux/amd64", "linux/arm64"],
    )
    config = _parsed(text)
    assert [v.name for v in config.variants] == ["default"]
    assert config.platforms == ("linux/amd64", "linux/arm64")
