"""Unit tests never run the real docker.

An autouse fixture puts a stand-in `docker` first on PATH: python-on-whales finds it through its
public configuration (the `docker` it calls), and the stand-in records each call (its arguments
and standard input) instead of running anything. A test that did not ask for `docker_calls`
fails if anything called it; one that did reads the calls.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FAKE_DOCKER = """\
#!{python}
import json, os, sys
args = sys.argv[1:]
stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
# a file it is handed (a bake file) is gone once the command returns: keep its text
files = {{a: open(a).read() for a in args if os.path.isfile(a) and a.endswith(".json")}}
with open({log!r}, "a") as log:
    log.write(json.dumps({{"args": args, "stdin": stdin, "files": files}}) + "\\n")
answers = json.load(open({answers!r})) if os.path.exists({answers!r}) else {{}}
for prefix, answer in answers.items():
    if " ".join(args).startswith(prefix):
        sys.stdout.write(answer.get("stdout", ""))
        sys.stderr.write(answer.get("stderr", ""))
        sys.exit(answer.get("code", 0))
if args[:2] == ["buildx", "create"]:
    print(args[args.index("--name") + 1] if "--name" in args else "bc")
elif args[:2] == ["buildx", "ls"]:
    # every builder created so far, as `buildx ls --format json` lists them
    with open({log!r}) as log:
        calls = [json.loads(line)["args"] for line in log]
    for call in calls:
        if call[:2] == ["buildx", "create"] and "--name" in call:
            print(json.dumps({{"Name": call[call.index("--name") + 1], "Driver": "docker-container"}}))
"""


class DockerCalls:
    """What the stand-in docker was asked: one entry per call, {"args": [...], "stdin": "..."}."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.answers = log.with_name("answers.json")
        self.expected = False

    def answer(self, prefix: str, *, stdout: str = "", stderr: str = "", code: int = 0) -> None:
        """Make the stand-in answer calls whose arguments start with `prefix` this way."""
        answers = json.loads(self.answers.read_text()) if self.answers.exists() else {}
        answers[prefix] = {"stdout": stdout, "stderr": stderr, "code": code}
        self.answers.write_text(json.dumps(answers))

    @property
    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture(autouse=True)
def _stand_in_docker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerCalls]:
    folder = tmp_path_factory.mktemp("bin")
    recorder = DockerCalls(folder / "calls.jsonl")
    script = folder / "docker"
    script.write_text(
        FAKE_DOCKER.format(
            python=sys.executable, log=str(recorder.log), answers=str(recorder.answers)
        )
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    path = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{folder}{os.pathsep}{path}"
    try:
        yield recorder
    finally:
        os.environ["PATH"] = path
    if not recorder.expected:
        assert recorder.calls == [], f"a unit test ran docker: {recorder.calls}"


@pytest.fixture
def docker_calls(_stand_in_docker: DockerCalls) -> DockerCalls:
    _stand_in_docker.expected = True
    return _stand_in_docker


@pytest.fixture(autouse=True)
def _no_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run by unit tests ask no registry about base images (as --offline); bases.py is
    tested with a registry in memory."""
    monkeypatch.setenv("BUILDCACHE_OFFLINE", "1")
