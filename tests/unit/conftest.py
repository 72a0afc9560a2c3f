"""Unit tests never run docker: any attempt to start a process through python-on-whales fails."""

from __future__ import annotations

from typing import Any

import pytest


def _never(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError(f"a unit test tried to run docker: {args!r}")


@pytest.fixture(autouse=True)
def _no_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    import python_on_whales.utils

    monkeypatch.setattr(python_on_whales.utils, "run", _never)
    monkeypatch.setattr(python_on_whales.utils, "stream_stdout_and_stderr", _never)
    for module in (
        "python_on_whales.components.buildx.cli_wrapper",
        "python_on_whales.components.system.cli_wrapper",
    ):
        mod = __import__(module, fromlist=["_"])
        for name in ("run", "stream_stdout_and_stderr"):
            if hasattr(mod, name):
                monkeypatch.setattr(mod, name, _never)
