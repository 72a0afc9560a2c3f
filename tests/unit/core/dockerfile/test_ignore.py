"""core/dockerfile/ignore.py: moby's pattern matcher, its own test tables passing as data
(tests/unit/core/dockerfile/data/patternmatcher.json), and the walk that sends a context."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from buildcache.core.dockerfile.ignore import (
    DockerIgnore,
    IgnoreError,
    PatternMatcher,
    clean,
    compile_pattern,
    matches_or_parent_matches,
    parent_of,
    read_patterns,
)

TABLES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "patternmatcher.json").read_text()
)


def _walk_matches(matcher: PatternMatcher, path: str) -> bool:
    """As fsutil walks: each folder's results carried to the next (moby's MatchesUsingParentResults
    subtest)."""
    parent = parent_of(path)
    parts = parent.split("/") if parent != "." else []
    results: tuple[bool, ...] = ()
    for depth in range(1, len(parts) + 1):
        results = matcher.matches_using_parent_results("/".join(parts[:depth]), results)[1]
    return matcher.matches_using_parent_results(path, results)[0]


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [f"{c.get('pattern', c.get('patterns'))!s}~{c['path']}" for c in cases]


MATCHES = TABLES["matches"]["cases"] + [
    {"pattern": None, **c} for c in TABLES["multi_pattern"]["cases"]
]


@pytest.mark.parametrize("case", MATCHES, ids=_ids(MATCHES))
def test_moby_matches_table(case: dict[str, Any]) -> None:
    matcher = PatternMatcher.new(case.get("patterns") or [case["pattern"]])
    assert matcher.matches_or_parent_matches(case["path"]) is case["excluded"]
    assert matcher.matches_using_parent_results(case["path"])[0] is case["excluded"]
    assert _walk_matches(matcher, case["path"]) is case["excluded"]


@pytest.mark.parametrize("case", TABLES["simple"]["cases"] + TABLES["match"]["cases"], ids=str)
def test_moby_match_tables_errors_included(case: dict[str, Any]) -> None:
    patterns = case.get("patterns", [case.get("pattern")])
    if case.get("error"):
        with pytest.raises(IgnoreError):
            matches_or_parent_matches(case["path"], patterns)
        return
    assert matches_or_parent_matches(case["path"], patterns) is case["excluded"]


@pytest.mark.parametrize("case", TABLES["compile"]["cases"], ids=lambda c: c["pattern"])
def test_moby_compile_table(case: dict[str, Any]) -> None:
    pattern = compile_pattern(clean(case["pattern"]))
    assert pattern.kind == case["kind"]
    assert pattern.regexp == (case["regexp"] if case["kind"] == "regexp" else "")


def test_moby_read_all() -> None:
    table = TABLES["read_all"]
    assert read_patterns(table["text"]) == table["patterns"]
    assert read_patterns("") == []


@pytest.mark.parametrize(
    ("path", "cleaned"),
    [
        ("a/../b", "b"),
        ("./a//b/", "a/b"),
        ("../a", "../a"),
        ("/../a", "/a"),
        ("", "."),
        ("a/..", "."),
        ("//a", "/a"),
    ],
)
def test_clean_is_go_filepath_clean(path: str, cleaned: str) -> None:
    assert clean(path) == cleaned


def test_read_patterns_bom_comments_only_in_the_first_column_and_windows_lines() -> None:
    text = "\ufeff*.pyc\r\n  # not a comment\r\n#comment\n./build/\n/\n!  /keep/../keep.txt \n"
    assert read_patterns(text) == ["*.pyc", "# not a comment", "build", "/", "!keep.txt"]


def test_a_folder_excluded_keeps_an_exception_under_it_and_the_last_pattern_decides() -> None:
    ignore = DockerIgnore.parse("# comment\n*.pyc\nbuild/\n**/secret.txt\n!build/keep.txt\n")
    assert ignore.excludes("a.pyc")
    assert not ignore.excludes("src/a.pyc")  # `*` does not cross a folder
    assert ignore.excludes("build/x/y")
    assert not ignore.excludes("build/keep.txt")
    assert ignore.excludes("deep/down/secret.txt")
    assert not ignore.excludes("src/main.py")


def test_classes_escapes_and_dotdot() -> None:
    ignore = DockerIgnore.parse("[a-c].txt\nlog[^s]\nweird\\*name\nsub/../top.txt\n../out\n")
    assert [ignore.excludes(p) for p in ("a.txt", "c.txt", "d.txt")] == [True, True, False]
    assert ignore.excludes("log1")
    assert not ignore.excludes("logs")
    assert ignore.excludes("weird*name")
    assert not ignore.excludes("weirdXname")
    assert ignore.excludes("top.txt")
    assert not ignore.excludes("sub/top.txt")
    assert not ignore.excludes("out")


def test_the_walk_differs_from_trying_every_folder_where_docker_does() -> None:
    """A pattern skipped at a folder (the folder was already excluded) is not tried on that
    folder again below it: `a/b` stays in the context, as fsutil sends it."""
    lines = ["a", "!a/b", "a"]
    assert not DockerIgnore(PatternMatcher.new(lines)).excludes("a/b/c")
    assert PatternMatcher.new(lines).matches_or_parent_matches("a/b/c")


def test_a_lone_exception_or_a_broken_class_is_refused() -> None:
    with pytest.raises(IgnoreError, match="illegal exclusion"):
        DockerIgnore.parse("!\n")
    with pytest.raises(IgnoreError, match="'\\[a-'"):
        DockerIgnore.parse("[a-\n")


def test_a_pattern_whose_regexp_cannot_compile_fails_only_when_it_is_tried() -> None:
    ignore = DockerIgnore.parse("[Local-Only]/\n")  # moby's regression case: l-O is no range
    with pytest.raises(IgnoreError, match="not valid"):
        ignore.excludes("x")
    # an inclusion is not tried once the path is excluded: no error
    assert DockerIgnore.parse("*\n[Local-Only]\n").excludes("x")
