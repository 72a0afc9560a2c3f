from __future__ import annotations

import json
from pathlib import Path

import pytest

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
    ("asks", "state", "words"),
    [
        (False, "ok", "no credentials, and it asks for none"),
        (True, "warn", "it asks who is calling"),
        (None, "warn", "could not be reached"),
    ],
)
def test_a_registry_without_credentials_is_a_warning_only_where_it_asks_for_them(
    monkeypatch: pytest.MonkeyPatch, asks: bool | None, state: str, words: str
) -> None:
    from buildcache.commands import doctor

    monkeypatch.setattr(doctor, "has_credentials", lambda registry: False)
    monkeypatch.setattr(doctor, "needs_login", lambda registry: asks)
    check = doctor._registry_check("127.0.0.1:5000")
    assert (check.status, words in check.detail) == (state, True)
