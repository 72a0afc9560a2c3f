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
import json, sys
args = sys.argv[1:]
stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
with open({log!r}, "a") as log:
    log.write(json.dumps({{"args": args, "stdin": stdin}}) + "\\n")
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
        self.expected = False

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
    script.write_text(FAKE_DOCKER.format(python=sys.executable, log=str(recorder.log)))
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
