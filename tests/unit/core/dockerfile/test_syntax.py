"""core/dockerfile/syntax.py reads every Dockerfile of the corpus as BuildKit's own parser does:
tests/unit/core/dockerfile/data/dockerfile_syntax.json, filled in by scripts/dockerfile-oracle.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from buildcache.core.dockerfile.syntax import parse_instructions, unknown_instruction
from buildcache.errors import ConfigError

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "dockerfile_syntax.json").read_text()
)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_a_dockerfile_reads_as_buildkit_reads_it(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(ConfigError, match=case["error"]):
            parse_instructions(case["text"])
        return
    read = [
        {
            "cmd": i.cmd,
            "original": i.original,
            "flags": list(i.flags),
            "value": list(i.value),
            "json": i.json,
            "heredocs": [{"name": h.name, "content": h.content} for h in i.heredocs],
            "line": i.line,
        }
        for i in parse_instructions(case["text"])
    ]
    assert read == case["instructions"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("FROM a\nRUN x\n", None),
        ("# syntax=docker/dockerfile:1\nfrom a\nrun x \\\n  y\n", None),
        ("root:x:0:0:root:/root:/bin/bash\n", 1),
        ("FROM a\nRUN <<EOF\nnot an instruction\nEOF\nCOPY a b\n", None),
        ("FROM a\n\nAPI_KEY=abc\n", 3),
        ("# syntax=example.com/other:1\nBUILD it\n", None),  # another frontend's own words
        ("", None),
    ],
)
def test_a_line_that_is_no_dockerfile_instruction_is_found(text: str, line: int | None) -> None:
    assert unknown_instruction(text) == line
