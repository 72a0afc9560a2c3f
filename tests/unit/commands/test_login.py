from __future__ import annotations

from pathlib import Path

import pytest

from buildcache.main import main
from tests.unit.conftest import DockerCalls

SECRET = "s3cr3t-token-value"


def test_login_puts_the_password_on_stdin_only_and_never_in_output(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    docker_calls: DockerCalls,
) -> None:
    (tmp_path / "buildcache.toml").write_text('images = ["ghcr.io/acme/widget", "acme/widget"]\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_TOKEN", SECRET)
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    monkeypatch.delenv("DOCKERHUB_TOKEN", raising=False)
    with pytest.raises(SystemExit) as done:
        main(["login"])
    out, err = capsys.readouterr()
    assert done.value.code == 0
    calls = docker_calls.calls
    assert len(calls) == 1
    assert calls[0]["args"][-4:] == ["--password-stdin", "--username", "octocat", "ghcr.io"]
    assert calls[0]["stdin"] == SECRET
    assert all(SECRET not in arg for arg in calls[0]["args"])
    assert SECRET not in out + err
    assert "login  ghcr.io as octocat (from GITHUB_ACTOR and GITHUB_TOKEN)" in err
    assert "skip   docker.io: no credentials; set DOCKERHUB_USERNAME and DOCKERHUB_TOKEN" in err
