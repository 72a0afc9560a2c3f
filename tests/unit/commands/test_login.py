from __future__ import annotations

import json
from pathlib import Path

import pytest

from buildcache.cli.main import main
from buildcache.core.publish.preflight import Access
from tests.unit.conftest import DockerCalls

SECRET = "s3cr3t-token-value"
DOCKER_HUB_VARIABLES = (
    "DOCKERHUB_USERNAME and DOCKERHUB_TOKEN, or "
    "BUILDCACHE_LOGIN_DOCKER_IO_USERNAME and BUILDCACHE_LOGIN_DOCKER_IO_PASSWORD"
)


def _asks_who_is_calling(registry: str, env: object = None) -> Access:
    return Access(registry, "no credentials", "401 at /v2/")


def _project(folder: Path, monkeypatch: pytest.MonkeyPatch, *images: str) -> None:
    """A project publishing to `images`, the working folder."""
    (folder / "buildcache.toml").write_text(f"images = {json.dumps(list(images))}\n")
    monkeypatch.chdir(folder)


@pytest.fixture
def laptop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project publishing to ghcr.io and Docker Hub, on a laptop (even when the tests run in
    CI) with GitHub's token in the environment and no docker login of the machine's."""
    _project(tmp_path, monkeypatch, "ghcr.io/acme/widget", "acme/widget")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    for name in ("CI", "GITHUB_ACTIONS", "GITLAB_CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", SECRET)
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    monkeypatch.delenv("DOCKERHUB_TOKEN", raising=False)
    return tmp_path


@pytest.mark.usefixtures("laptop")
def test_login_puts_the_password_on_stdin_only_and_never_in_output(
    capsys: pytest.CaptureFixture[str],
    docker_calls: DockerCalls,
) -> None:
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
    # on a laptop a registry without credentials is a warning; the login itself went through
    assert "warning: a push will fail without credentials (docker.io: set DOCKERHUB_USERNAME" in err


def test_in_ci_a_registry_without_credentials_fails_the_login_naming_the_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(tmp_path, monkeypatch, "registry.gitlab.com/acme/widget")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))  # no docker login of the machine's
    monkeypatch.setenv("GITLAB_CI", "true")
    monkeypatch.setenv("CI_REGISTRY", "registry.gitlab.com")
    monkeypatch.delenv("CI_REGISTRY_PASSWORD", raising=False)
    import buildcache.registry.client

    monkeypatch.setattr(buildcache.registry.client, "probe_access", _asks_who_is_calling)
    with pytest.raises(SystemExit) as done:
        main(["login"])
    err = capsys.readouterr().err
    assert done.value.code == 1
    assert "no credentials for registry.gitlab.com" in err
    assert "CI_REGISTRY_USER and CI_REGISTRY_PASSWORD" in err


def test_gitlab_ci_logs_in_to_its_own_registry(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    docker_calls: DockerCalls,
) -> None:
    _project(tmp_path, monkeypatch, "registry.gitlab.com/acme/widget")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    env = {
        "GITLAB_CI": "true",
        "CI_REGISTRY": "registry.gitlab.com",
        "CI_REGISTRY_USER": "gitlab-ci-token",
        "CI_REGISTRY_PASSWORD": SECRET,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as done:
        main(["login"])
    err = capsys.readouterr().err
    assert done.value.code == 0, err
    [call] = docker_calls.calls
    assert call["args"][-3:] == ["--username", "gitlab-ci-token", "registry.gitlab.com"]
    assert call["stdin"] == SECRET
    assert SECRET not in err


def test_logout_removes_the_credentials_of_every_registry_of_the_config(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    docker_calls: DockerCalls,
) -> None:
    _project(tmp_path, monkeypatch, "ghcr.io/acme/widget", "acme/widget")
    with pytest.raises(SystemExit) as done:
        main(["logout"])
    assert done.value.code == 0
    assert [c["args"] for c in docker_calls.calls] == [["logout", "ghcr.io"], ["logout"]]


@pytest.mark.usefixtures("laptop")
def test_login_json_says_each_registrys_outcome_on_stdout_and_no_secret(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    docker_calls: DockerCalls,
) -> None:
    import buildcache.registry.client

    monkeypatch.setattr(buildcache.registry.client, "probe_access", _asks_who_is_calling)
    with pytest.raises(SystemExit) as done:
        main(["login", "--json"])
    out, err = capsys.readouterr()
    assert done.value.code == 0
    assert SECRET not in out + err
    assert json.loads(out) == {
        "registries": [
            {
                "registry": "ghcr.io",
                "status": "logged in",
                "detail": "as octocat (from GITHUB_ACTOR and GITHUB_TOKEN)",
                "missing": None,
            },
            {
                "registry": "docker.io",
                "status": "missing",
                "detail": f"no credentials; set {DOCKER_HUB_VARIABLES}",
                "missing": DOCKER_HUB_VARIABLES,
            },
        ]
    }


def test_logout_json_lists_the_registries_logged_out(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    docker_calls: DockerCalls,
) -> None:
    _project(tmp_path, monkeypatch, "ghcr.io/acme/widget", "acme/widget")
    with pytest.raises(SystemExit) as done:
        main(["logout", "--json"])
    assert done.value.code == 0
    assert json.loads(capsys.readouterr().out) == {
        "registries": [
            {"registry": "ghcr.io", "status": "logged out"},
            {"registry": "docker.io", "status": "logged out"},
        ]
    }


@pytest.mark.usefixtures("laptop")
def test_keep_existing_leaves_credentials_another_login_stored_and_logs_in_elsewhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], docker_calls: DockerCalls
) -> None:
    """docker/login-action stored ghcr.io's: --keep-existing neither replaces them (nor, so,
    gives a logout of its own registries reason to remove them)."""
    import base64

    theirs = base64.b64encode(b"octocat:from-login-action").decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"ghcr.io": {"auth": theirs}}}))
    with pytest.raises(SystemExit) as done:
        main(["login", "--keep-existing", "--json"])
    out, err = capsys.readouterr()
    assert done.value.code == 0, err
    assert docker_calls.calls == []  # GITHUB_TOKEN is there, and ghcr.io was left as it was
    ghcr = json.loads(out)["registries"][0]
    assert (ghcr["registry"], ghcr["status"]) == ("ghcr.io", "docker config")
    assert "left as it is" in ghcr["detail"]
    with pytest.raises(SystemExit):
        main(["login"])  # without it, the environment's credentials win, as before
    assert [c["args"][0] for c in docker_calls.calls] == ["login"]


def test_logout_of_named_registries_logs_out_of_those_alone(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    docker_calls: DockerCalls,
) -> None:
    _project(tmp_path, monkeypatch, "ghcr.io/acme/widget", "acme/widget")
    with pytest.raises(SystemExit) as done:
        main(["logout", "docker.io"])
    assert done.value.code == 0
    assert [c["args"] for c in docker_calls.calls] == [["logout"]]
    with pytest.raises(SystemExit) as done:
        main(["logout", "quay.io"])
    assert done.value.code == 2
    assert "quay.io is not a registry of the config (ghcr.io, docker.io)" in capsys.readouterr().err
    assert len(docker_calls.calls) == 1
