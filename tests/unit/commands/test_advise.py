"""commands/advise.py: advise through the app (its rules: tests/unit/core/test_advise.py)."""

from __future__ import annotations

from pathlib import Path

from tests.unit.commands.conftest import Run


def test_advise_refuses_offline_in_one_sentence(repo: Path, cli: Run) -> None:
    code, out, err = cli("advise", "--offline", "--version", "1")
    assert code == 2, err
    assert "error: advise reads the records beside the caches: it cannot run --offline" in err
    assert out == ""
