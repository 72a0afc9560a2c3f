from __future__ import annotations

from pathlib import Path

import pytest

from buildcache.cli.main import main
from tests.unit.core.test_init import MULTI_STAGE


def test_init_writes_refuses_to_overwrite_and_needs_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "Dockerfile").write_text(MULTI_STAGE)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)

    def run(*args: str) -> int:
        with pytest.raises(SystemExit) as done:
            main(["init", *args])
        return int(done.value.code or 0)

    assert run() == 2
    assert "--image" in capsys.readouterr().err
    assert run("--image", "ghcr.io/acme/widget") == 0
    err = capsys.readouterr().err
    assert "buildcache build --push" in err  # the make target and the CI step
    assert (tmp_path / "buildcache.toml").read_text().startswith("# buildcache")
    assert run("--image", "ghcr.io/acme/other") == 2
    assert "already exists" in capsys.readouterr().err
    assert run("--image", "ghcr.io/acme/other", "--force") == 0
    assert "acme/other" in (tmp_path / "buildcache.toml").read_text()


def test_init_finds_the_dockerfile_under_docker_and_prints_make_targets_with_tabs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile").write_text(
        'FROM python:3.12-slim\nARG APP_VARIANT=slim\nRUN [ "$APP_VARIANT" = "full" ] && echo x\n'
    )
    with pytest.raises(SystemExit) as done:
        main(["init", "--image", "acme/app", "--image", "ghcr.io/acme/app"])
    err = capsys.readouterr().err
    assert done.value.code == 0, err
    text = (tmp_path / "buildcache.toml").read_text()
    assert 'dockerfile = "docker/Dockerfile"' in text
    assert "\tbuildcache build --push\n" in err  # make wants a tab, not spaces
    assert "uses: OWNER/buildcache@v1" in err
    with pytest.raises(SystemExit) as done:
        main(["plan", "--version", "1", "--json"])
    out = capsys.readouterr().out
    assert done.value.code == 0
    assert '"full"' in out


def test_init_with_several_dockerfiles_and_no_terminal_asks_for_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    for folder in ("api", "worker"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(SystemExit) as done:
        main(["init", "--image", "acme/app"])
    err = capsys.readouterr().err
    assert done.value.code == 2
    assert "found several Dockerfiles (api/Dockerfile, worker/Dockerfile)" in err
    assert "--dockerfile" in err
