"""docker/metadata-action's own test table, as data for buildcache's tests of `[tags] rules`.

Reads `__tests__/meta.test.ts` and its fixtures from a checkout of docker/metadata-action and
writes tests/unit/core/plan/data/metadata_action.json: per case, the event (the fixture's
GITHUB_* variables and the payload fields the rules read), the `tags` and `flavor` inputs, and
the expected version and tag names (the image prefix taken off: buildcache puts its images in
front). Only the cases that check tags through `Meta` (the sections listed in SECTIONS).

    git clone https://github.com/docker/metadata-action /tmp/metadata-action
    python scripts/metadata-action-cases.py /tmp/metadata-action
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "tests/unit/core/plan/data/metadata_action.json"
SECTIONS = ("null", "push", "tag", "latest", "pr", "pr-head-sha", "schedule", "release", "raw")
ENV_KEYS = ("GITHUB_REF", "GITHUB_EVENT_NAME", "GITHUB_SHA")
_TOKEN = re.compile(
    r"""\s+|//[^\n]*|/\*.*?\*/|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|`(?:\\.|[^`\\])*`"""
    r"""|[A-Za-z_$][\w$]*|-?\d+(?:\.\d+)?|[\[\]{}(),:]""",
    re.DOTALL,
)


def tokens(text: str) -> list[str]:
    """The tokens of the literal that starts `text`, up to its closing bracket."""
    found, at, depth = [], 0, 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise ValueError(f"cannot read the test file at {text[at : at + 40]!r}")
        token = match.group()
        at = match.end()
        if token.isspace() or token.startswith(("//", "/*")):
            continue
        found.append(token)
        depth += {"[": 1, "{": 1, "]": -1, "}": -1}.get(token, 0)
        if depth == 0:
            break
    return found


class Reader:
    """A JavaScript literal (arrays, objects, strings, numbers, true/false/undefined), with
    TypeScript's `as Type` casts skipped."""

    def __init__(self, items: list[str]) -> None:
        self.items, self.at = items, 0

    def next(self) -> str:
        self.at += 1
        return self.items[self.at - 1]

    def peek(self) -> str:
        return self.items[self.at]

    def value(self) -> Any:
        token = self.next()
        if token == "[":
            result = self._sequence("]", self.value)
        elif token == "{":
            result = dict(self._sequence("}", self._pair))
        elif token[0] in "'\"`":
            result = _string(token)
        elif token in ("true", "false"):
            result = token == "true"
        elif token in ("undefined", "null"):
            result = None
        else:
            result = float(token) if "." in token else int(token)
        if self.at < len(self.items) and self.peek() == "as":  # `as Inputs`, `as string[]`
            self.next(), self.next()
            while self.items[self.at : self.at + 2] == ["[", "]"]:
                self.at += 2
        return result

    def _pair(self) -> tuple[str, Any]:
        key = self.next()
        if self.next() != ":":
            raise ValueError(f"expected ':' after {key}")
        return (_string(key) if key[0] in "'\"`" else key), self.value()

    def _sequence(self, end: str, read: Any) -> list[Any]:
        items = []
        while self.peek() != end:
            items.append(read())
            if self.peek() == ",":
                self.next()
        self.next()
        return items


def _string(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def sections(text: str) -> dict[str, list[Any]]:
    """Each describe('name', ...) block's test.each([...]) table."""
    found = {}
    for match in re.finditer(r"^describe\('([^']+)'", text, re.MULTILINE):
        if match.group(1) not in SECTIONS:
            continue
        start = text.index("test.each(", match.end()) + len("test.each(")
        items = tokens(text[start:])
        found[match.group(1)] = Reader(items).value()
    return found


def fixture(root: Path, env_file: str) -> tuple[dict[str, str], dict[str, Any]]:
    env: dict[str, str] = {}
    for line in (root / "__tests__/fixtures" / env_file).read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            env[key] = value
    payload: dict[str, Any] = {}
    event_path = env.get("GITHUB_EVENT_PATH")
    if event_path and (root / event_path).is_file():
        payload = json.loads((root / event_path).read_text())
    pull = payload.get("pull_request") or {}
    facts = {
        "default_branch": (payload.get("repository") or {}).get("default_branch"),
        "base_ref": payload.get("base_ref"),
        "number": payload.get("number"),
        "pr_head_sha": (pull.get("head") or {}).get("sha"),
        "pr_base_ref": (pull.get("base") or {}).get("ref"),
    }
    return {k: env[k] for k in ENV_KEYS if k in env}, facts


def case(root: Path, section: str, row: list[Any]) -> dict[str, Any]:
    name, env_file, inputs, version, tags = row[:5]
    env, payload = fixture(root, env_file)
    if section == "pr-head-sha":
        env["DOCKER_METADATA_PR_HEAD_SHA"] = "true"
    first = (inputs.get("images") or [""])[0]
    prefix = f"{first.lower()}:" if first else ""
    return {
        "name": name,
        "section": section,
        "env": env,
        "payload": payload,
        "tags": inputs.get("tags") or [],
        "flavor": inputs.get("flavor") or [],
        "version": version,
        "expected": [t.removeprefix(prefix) for t in tags if not prefix or t.startswith(prefix)],
    }


def main() -> None:
    root = Path(sys.argv[1])
    text = (root / "__tests__/meta.test.ts").read_text()
    tables = sections(text)
    cases = [case(root, s, row) for s in SECTIONS for row in tables[s]]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(cases, indent=1) + "\n")
    print(f"{len(cases)} cases -> {OUT}")


if __name__ == "__main__":
    main()
