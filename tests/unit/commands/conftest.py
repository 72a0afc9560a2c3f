"""A repository with a config, and a way to run the CLI in it as a user would."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from buildcache.cli.main import main

CONFIG = """\
images = ["ghcr.io/acme/widget", "acme/widget"]
platforms = ["linux/amd64", "linux/arm64"]

[variants.slim]
default = true
build-args = { VARIANT = "slim" }

[variants.full]
build-args = { VARIANT = "full" }
"""

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "buildcache.toml").write_text(CONFIG)
    (tmp_path / "Dockerfile").write_text("FROM scratch\nARG VARIANT\n")
    monkeypatch.chdir(tmp_path)
    for name in ("BUILDCACHE_VERSION", "BUILDCACHE_IMAGES", "GITHUB_ACTIONS", "GITLAB_CI", "CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """Run `buildcache ARGS...`: (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as done:
            main(list(args))
        out, err = capsys.readouterr()
        return int(done.value.code or 0), out, err

    return run
