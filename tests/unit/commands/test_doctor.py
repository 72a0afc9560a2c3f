from __future__ import annotations

import json
from pathlib import Path

import pytest

from buildcache.core.publish.preflight import Access
from tests.unit.commands.conftest import Run


def test_doctor_without_docker_says_what_is_missing_and_exits_1(
    repo: Path, cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(repo))  # no docker on it
    code, out, err = cli("doctor")
    assert code == 1
    assert out == ""
    assert "docker client" in err
    assert "not installed" in err
    assert "config" in err
    assert "variants slim, full" in err


def test_doctor_json_writes_only_json_to_stdout_and_no_table(
    repo: Path, cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(repo))
    code, out, err = cli("doctor", "--json")
    assert code == 1
    data = json.loads(out)
    assert data["healthy"] is False
    assert [c["name"] for c in data["checks"]][:2] == ["config", "docker client"]
    assert "buildcache doctor" not in err  # the table is for people who did not ask for JSON


@pytest.mark.parametrize(
    ("access", "state", "words"),
    [
        (Access("r", "ok", "credentials accepted"), "ok", "credentials in the docker config"),
        (Access("r", "anonymous", "takes calls"), "ok", "no credentials, and it asks for none"),
        (Access("r", "no credentials", "401 at /v2/"), "warn", "it asks who is calling"),
        (Access("r", "refused", "401 at /v2/"), "fail", "refused the credentials"),
        (Access("r", "unreachable", "connection refused"), "fail", "unreachable (connection"),
        (Access("r", "unexpected", "503 at /v2/"), "warn", "it answered 503"),
    ],
)
def test_a_registry_check_says_whether_a_push_could_reach_and_write_there(
    monkeypatch: pytest.MonkeyPatch, access: Access, state: str, words: str
) -> None:
    from buildcache.commands import doctor

    monkeypatch.setattr(doctor, "probe_access", lambda registry: access)
    check = doctor._registry_check("127.0.0.1:5000", images=True)
    assert (check.status, words in check.detail) == (state, True), check.detail
    # the cache's registry alone: a build goes on without saving its cache
    cache_only = doctor._registry_check("127.0.0.1:5000", images=False)
    assert cache_only.status == ("warn" if state == "fail" else state)
