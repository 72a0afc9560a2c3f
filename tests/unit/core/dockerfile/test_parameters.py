"""core/dockerfile/parameters.py: `${}` expansion, one reader for the Dockerfile and the simulated steps."""

from __future__ import annotations

import pytest

from buildcache.core.dockerfile.parameters import expand, names, substitute


def test_expand_follows_the_shell_lexer_forms() -> None:
    values = {"A": "1", "E": ""}
    assert expand("$A ${A} ${B:-b} ${E:-e} ${E-e} ${A:+x} ${B:+x} ${E+y}", values) == (
        "1 1 b e  x  y"
    )


def test_the_dockerfile_reads_the_trims_of_its_1_7_syntax_and_leaves_bash_only_forms() -> None:
    values = {"V": "v1.2.3", "IMAGE": "Acme/App"}
    assert expand("${V#v} ${V%.*} ${V//./-}", values) == "1.2.3 v1.2 v1-2-3"
    # `,,` is bash's alone: BuildKit's lexer refuses it, so it is not read as a value
    assert expand("${IMAGE,,}", values) == "${IMAGE,,}"
    assert expand("${IMAGE,,}", values, operators={",,"}) == "acme/app"


@pytest.mark.parametrize(
    ("value", "operator", "argument", "expected"),
    [
        (None, "-", "d", "d"),
        ("", "-", "d", ""),
        ("", ":-", "d", "d"),
        ("x", ":+", "y", "y"),
        ("", "+", "y", "y"),
        ("refs/tags/v1.2.3", "##*/", "", "refs/tags/v1.2.3"),  # not an operator of its own
        ("refs/tags/v1.2.3", "##", "*/", "v1.2.3"),
        ("a.b.c", "%%", ".*", "a"),
        ("0123456789", ":", ":7", "0123456"),
        ("0123456789", ":", "2", "23456789"),
        ("ABC", ",,", "", "abc"),
        ("abc", "^^", "", "ABC"),
    ],
)
def test_substitute_as_bash_has_it(
    value: str | None, operator: str, argument: str, expected: str
) -> None:
    assert substitute(value, operator, argument) == expected


def test_names_lists_every_parameter_a_text_reads() -> None:
    assert names("$A ${B:-b} ${D#x}") == {"A", "B", "D"}
