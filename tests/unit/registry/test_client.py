"""registry/client.py: registry calls side by side."""

from __future__ import annotations

import threading
import time

import pytest

from buildcache.errors import RegistryError
from buildcache.registry.client import REQUESTS_AT_ONCE, at_once


def test_calls_at_once_come_back_in_order_and_overlap() -> None:
    # REQUESTS_AT_ONCE calls must be under way together for any of them to pass the barrier
    together = threading.Barrier(REQUESTS_AT_ONCE, timeout=10)
    in_flight, most = 0, 0
    lock = threading.Lock()

    def call(n: int) -> int:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        together.wait()
        with lock:
            in_flight -= 1
        return n * n

    assert at_once(call, list(range(2 * REQUESTS_AT_ONCE))) == [
        n * n for n in range(2 * REQUESTS_AT_ONCE)
    ]
    assert most == REQUESTS_AT_ONCE  # and never more


def test_the_first_error_comes_out_after_every_call_ended() -> None:
    ended: list[int] = []

    def call(n: int) -> int:
        time.sleep(0.01 * n)
        ended.append(n)
        if n == 1:
            raise RegistryError("503 Service Unavailable")
        return n

    with pytest.raises(RegistryError, match="503"):
        at_once(call, [0, 1, 2, 3])
    assert sorted(ended) == [0, 1, 2, 3]
