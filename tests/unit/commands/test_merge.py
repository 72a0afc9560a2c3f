from __future__ import annotations

import json
from pathlib import Path

from tests.unit.commands.conftest import Run


def test_merge_refuses_a_result_of_a_failed_build_before_touching_docker(
    repo: Path, cli: Run
) -> None:
    result = repo / "arm64.json"
    result.write_text(
        json.dumps({"version": "1", "push_by_digest": True, "ok": False, "error": "boom"})
    )
    code, out, err = cli("merge", str(result))
    assert code == 2
    assert "is from a build that failed: boom" in err
    assert out == ""


def test_merge_of_nothing_readable_is_a_usage_error(repo: Path, cli: Run) -> None:
    code, _, err = cli("merge", str(repo / "missing.json"))
    assert code == 2
    assert "cannot read" in err
