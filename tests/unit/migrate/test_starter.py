"""migrate/starter.py: a starter config from what a Dockerfile says."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from buildcache.core.config.load import parse_config
from buildcache.errors import UsageError
from buildcache.migrate.starter import (
    read_dockerfile,
    starter_config,
    starter_notes,
    unset_empty_args,
)

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


# a Dockerfile shaped like a real project's: docker/Dockerfile, an unpinned python base, a
# variant switch named after the project, a pip install spec with extras
REAL = """\
# syntax=docker/dockerfile:1
ARG PY=3.12 CCC_VARIANT="slim"
FROM python:${PY}-slim AS base
ARG CCC_VARIANT
ARG CCC_INSTALL_SPEC="/src[slim]"
RUN <<EOF
FROM scratch AS ghost
EOF
RUN if [ "$CCC_VARIANT" = "full" ]; then \\
      apt-get update && apt-get install -y big-deps; \\
    fi
COPY . /src
RUN pip install "$CCC_INSTALL_SPEC"
"""


def test_a_real_dockerfile_gives_both_variants_with_both_build_args() -> None:
    dockerfile = read_dockerfile(REAL)
    assert dockerfile.stages == ["base"]  # the heredoc's FROM line is a script, not a stage
    assert dockerfile.args["CCC_VARIANT"] == "slim"  # quotes are the shell's, not the value's
    assert dockerfile.compared == {"CCC_VARIANT": ["full"]}
    text = starter_config(
        images=["acme/ccc", "ghcr.io/acme/ccc"],
        dockerfile_name="docker/Dockerfile",
        dockerfile=dockerfile,
        platforms=["linux/amd64", "linux/arm64"],
    )
    config = _parsed(text)
    assert [(v.name, v.default, dict(v.build_args)) for v in config.variants] == [
        ("slim", True, {"CCC_VARIANT": "slim", "CCC_INSTALL_SPEC": "/src[slim]"}),
        ("full", False, {"CCC_VARIANT": "full", "CCC_INSTALL_SPEC": "/src[full]"}),
    ]
    assert config.dockerfile == Path("/r/docker/Dockerfile")
    assert str(config.cache_image) == "ghcr.io/acme/ccc"  # the ghcr.io image, though listed second


def test_case_statements_and_quotes_that_would_break_hand_written_toml() -> None:
    text = """\
FROM debian
ARG EDITION='lite "x"'
ARG TIER=free
RUN case "${TIER}" in free) echo f ;; pro|team) echo p ;; *) echo other ;; esac
"""
    dockerfile = read_dockerfile(text)
    assert dockerfile.args == {"EDITION": 'lite "x"', "TIER": "free"}
    assert dockerfile.compared == {"TIER": ["free", "pro", "team"]}
    config = _parsed(
        starter_config(
            images=["a/b"],
            dockerfile_name="Dockerfile",
            dockerfile=dockerfile,
            platforms=["linux/s390x"],
        )
    )
    assert [v.name for v in config.variants] == ["free", "pro", "team"]


def test_a_word_holding_the_variable_is_not_a_comparison() -> None:
    """`echo "variant=$VARIANT"` once gave a variant called `variant`."""
    text = (
        "FROM debian\nARG VARIANT=slim\n"
        'RUN echo "variant=$VARIANT" > /etc/variant && if [ "$VARIANT" = "full" ]; then x; fi\n'
        "RUN [[ ${VARIANT} == gpu ]] && y || true\n"
    )
    assert read_dockerfile(text).compared == {"VARIANT": ["full", "gpu"]}


def test_a_dockerfile_that_does_not_parse_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="cannot be read: unterminated heredoc EOF"):
        read_dockerfile("FROM debian\nRUN <<EOF\nnever closed\n")


def test_parser_directives_and_continuations_read_as_docker_reads_them() -> None:
    text = (
        "# escape=`\n"
        "FROM mcr.microsoft.com/windows/servercore AS base\n"
        'ARG EDITION="pro" `\n'
        "    LANG=en\n"
        'RUN if ($env:EDITION -eq "home") { echo home } `\n'
        "    else { echo pro }\n"
    )
    dockerfile = read_dockerfile(text)
    assert dockerfile.stages == ["base"]
    assert dockerfile.args == {"EDITION": "pro", "LANG": "en"}


@pytest.mark.parametrize(
    "run",
    [
        'if [ -n "$CCC_INSTALL_SPEC" ]; then pip install "$CCC_INSTALL_SPEC"; else pip install ccc; fi',
        '[ -z "${CCC_INSTALL_SPEC}" ] && pip install ccc || pip install "$CCC_INSTALL_SPEC"',
        'pip install "${CCC_INSTALL_SPEC:-ccc}"',
        'if [ "$CCC_INSTALL_SPEC" != "" ]; then pip install .; fi',
    ],
)
def test_an_empty_argument_a_run_tests_and_no_variant_sets_is_a_note(run: str) -> None:
    dockerfile = read_dockerfile(
        f"FROM python:3.12\nARG CCC_INSTALL_SPEC=\nARG OTHER=\nRUN {run}\n"
    )
    assert dockerfile.tested_empty == ["CCC_INSTALL_SPEC"]  # OTHER is never tested
    (note,) = starter_notes(dockerfile)
    assert note.startswith("CCC_INSTALL_SPEC: its default is empty and a RUN tests it")
    text = starter_config(
        images=["a/b"],
        dockerfile_name="Dockerfile",
        dockerfile=dockerfile,
        platforms=["linux/amd64"],
    )
    assert f"# note: {note}\n" in text
    _parsed(text)  # still a config buildcache reads


def test_an_empty_argument_a_variant_sets_is_no_note() -> None:
    dockerfile = read_dockerfile(
        'FROM python:3.12\nARG SPEC=\nARG VARIANT=slim\nRUN [ "$VARIANT" = "full" ] && echo\n'
        'RUN pip install "${SPEC:-x}"\n'
    )
    assert unset_empty_args(dockerfile, {"full": {"build-args": {"SPEC": ".[all]"}}}) == []
    assert len(unset_empty_args(dockerfile, {"full": {}})) == 1
