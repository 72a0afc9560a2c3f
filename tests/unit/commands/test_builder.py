from __future__ import annotations

from pathlib import Path

from tests.unit.commands.conftest import Run
from tests.unit.conftest import DockerCalls


def test_builder_down_without_a_builder_removes_nothing(
    repo: Path, cli: Run, docker_calls: DockerCalls
) -> None:
    docker_calls.answer("buildx inspect", stderr='ERROR: no builder "buildcache" found\n', code=1)
    code, _, err = cli("builder", "down")
    assert code == 0, err
    assert "there is no builder 'buildcache'; nothing to remove" in err
    assert not any(c["args"][:2] == ["buildx", "rm"] for c in docker_calls.calls)
