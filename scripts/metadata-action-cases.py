"""docker/metadata-action's own test table, as data for buildcache's tests of `[tags] rules`.

Reads `__tests__/meta.test.ts` and its fixtures from a checkout of docker/metadata-action and
writes tests/unit/core/plan/data/metadata_action.json: the fixtures (`fixtures`: each env file's
GITHUB_* variables, those that name a runner's file aside, and its event file), their event
payloads (`events`, by file name), and per case (`cases`) its fixture, the variables it sets
beside it, the payload fields the rules read, the `images`, `tags`, `flavor` and `sepTags`
inputs, and the expected version and tag names (the first image's prefix taken off: buildcache
puts its images in front). Every section of the test file that checks tags
(SECTIONS): those of `Meta.getTags()` and the tags inside the JSON output, the bake files and
the `sepTags` output. A case where buildcache differs on purpose carries the reason (REFUSED,
DIFFERENT).

    git clone https://github.com/docker/metadata-action /tmp/metadata-action
    python scripts/metadata-action-cases.py /tmp/metadata-action
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "tests/unit/core/plan/data/metadata_action.json"
SECTIONS = (
    "null", "push", "tag", "latest", "pr", "pr-head-sha", "schedule", "release", "raw",
    "json", "bakeFile", "bakeFileTagsLabels", "sepTags",
)  # fmt: skip
# the runner's files: a test must not write where the fixture's runner did
RUNNER_FILES = (
    "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_STATE",
    "GITHUB_WORKSPACE", "GITHUB_ACTION_PATH", "GITHUB_EVENT_PATH",
)  # fmt: skip
# Where buildcache differs on purpose (the README lists them too). Refused: "section/name" ->
# why; the plan stops with a usage error (exit 2). A run no rule tags (push12, tag10) builds and
# pushes nothing, exit 0, as metadata-action outputs no tag.
REFUSED: dict[str, str] = {
    "null/null01": (
        "no tags or flavor lines and no CI variables: buildcache's own tag keys, on a laptop's "
        "detached HEAD with no version, ask for one (exit 2) rather than build nothing"
    )
}
# Other tags: "section/name" -> (why, the tags buildcache gives; {checkout} is the short sha
# of the case's commit)
OWN_DEFAULTS = (
    "no tags or flavor lines: buildcache's own tag keys ([tags] schedule), which tag a "
    "schedule nightly and not also by its branch"
)
DIFFERENT: dict[str, tuple[str, list[str]]] = {
    "null/null02": (
        "no CI variables: a run on a laptop, whose commit git gives (as metadata-action's "
        "`context: git` reads it)",
        ["sha-{checkout}"],
    ),
    "schedule/schedule01": (OWN_DEFAULTS, ["nightly"]),
    "schedule/schedule04": (OWN_DEFAULTS, ["nightly"]),
}
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


def fixture(root: Path, env_file: str) -> tuple[dict[str, str], str | None, dict[str, Any]]:
    """The fixture's variables, its event file's name (where there is one) and its payload."""
    env: dict[str, str] = {}
    for line in (root / "__tests__/fixtures" / env_file).read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            env[key] = value
    event_path = env.get("GITHUB_EVENT_PATH")
    if not event_path or not (root / event_path).is_file():
        return _kept(env), None, {}
    return _kept(env), Path(event_path).name, json.loads((root / event_path).read_text())


def _kept(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in RUNNER_FILES}


def facts(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload fields the rules read."""
    pull = payload.get("pull_request") or {}
    return {
        "default_branch": (payload.get("repository") or {}).get("default_branch"),
        "base_ref": payload.get("base_ref"),
        "number": payload.get("number"),
        "pr_head_sha": (pull.get("head") or {}).get("sha"),
        "pr_base_ref": (pull.get("base") or {}).get("ref"),
    }


def expected_tags(section: str, row: list[Any]) -> tuple[Any, list[str]]:
    """The version (where the section checks one) and the full tags a row expects."""
    inputs = row[2]
    if section == "json":
        return None, row[3]["tags"]
    if section in ("bakeFile", "bakeFileTagsLabels"):
        (target,) = row[3]["target"].values()  # the `bake-target` input names it
        return None, target["tags"]
    if section == "sepTags":
        return None, row[3].split(inputs["sepTags"]) if row[3] else []
    return row[3], row[4]


def case(section: str, row: list[Any], payload: dict[str, Any]) -> dict[str, Any]:
    name, env_file, inputs = row[:3]
    version, tags = expected_tags(section, row)
    # what the case sets beside its fixture
    env = {"DOCKER_METADATA_PR_HEAD_SHA": "true"} if section == "pr-head-sha" else {}
    images = inputs.get("images") or []
    first = images[0].split(",")[0] if images else ""
    prefix = f"{first.lower()}:" if first else ""
    found = {
        "name": name,
        "section": section,
        "fixture": env_file,
        "env": env,
        "payload": facts(payload),
        "images": images,
        "tags": inputs.get("tags") or [],
        "flavor": inputs.get("flavor") or [],
        "sep_tags": inputs.get("sepTags"),
        "version": version,
        "expected": [t.removeprefix(prefix) for t in tags if not prefix or t.startswith(prefix)],
    }
    if f"{section}/{name}" in REFUSED:
        found["refused"] = REFUSED[f"{section}/{name}"]
    if f"{section}/{name}" in DIFFERENT:
        found["differs"], found["buildcache_gives"] = DIFFERENT[f"{section}/{name}"]
    return found


def main() -> None:
    root = Path(sys.argv[1])
    text = (root / "__tests__/meta.test.ts").read_text()
    tables = sections(text)
    cases, fixtures, events = [], {}, {}
    for section in SECTIONS:
        for row in tables[section]:
            env, event_file, payload = fixture(root, row[1])
            fixtures[row[1]] = {"env": env, "event_file": event_file}
            if event_file is not None:
                events[event_file] = payload
            cases.append(case(section, row, payload))
    commit = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    data = {
        "source": f"docker/metadata-action@{commit}",
        "fixtures": dict(sorted(fixtures.items())),
        "events": dict(sorted(events.items())),
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"{len(cases)} cases, {len(fixtures)} fixtures -> {OUT}")


if __name__ == "__main__":
    main()
