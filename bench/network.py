"""11. Registries across a network: both registries behind bench/netproxy.py (30 ms round trip,
100 Mbit/s each way, shared, as a runner's one link), a release whose layers are new.

buildcache's bake pushes to both registries (by digest, or under its staging tag), then writes
each tag as one manifest PUT; plain bake pushes every tag to both registries from BuildKit. The
proxy counts the bytes each run sends and receives over the link: the same layers should cross
it once per registry on both sides. Every run builds new content (a NONCE and random bytes per
variant and platform), so neither side finds its layers already in a registry.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from bench.harness import (
    GHCR,
    HUB,
    OURS,
    PLAIN,
    Project,
    Run,
    Scenario,
    bake_cmd,
    interleaved,
    measure,
)

LATENCY_MS, MBIT = 30, 100
PAYLOAD = 8 * 1000 * 1000  # random bytes per variant and platform: 32 MB per registry per release
DOCKERFILE = f"""\
ARG BASE_IMAGE
FROM ${{BASE_IMAGE}}
ARG VARIANT
ARG NONCE
RUN echo "$NONCE $VARIANT" > /release && head -c {PAYLOAD} /dev/urandom > /payload
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def network() -> Iterator[tuple[tuple[str, str], Callable[[], int]]]:
    """The two registries, as a runner across a network reaches them, and the bytes the link
    has carried so far."""
    ports = _free_port(), _free_port()
    routes = [f"{port}={target}" for port, target in zip(ports, (GHCR, HUB), strict=True)]
    counter = Path(tempfile.mkdtemp(prefix="bench-net-")) / "bytes"
    proxy = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.netproxy",
            "--latency-ms",
            str(LATENCY_MS),
            "--mbit",
            str(MBIT),
            "--count",
            str(counter),
            *routes,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )

    def carried() -> int:
        time.sleep(0.3)  # the proxy rewrites the count ten times a second
        try:
            return int(counter.read_text() or 0)
        except (OSError, ValueError):
            return 0

    try:
        assert proxy.stdout is not None
        if proxy.stdout.readline().strip() != "ready":
            raise SystemExit("the network proxy did not start")
        yield (f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}"), carried
    finally:
        proxy.terminate()
        proxy.wait()
        counter.unlink(missing_ok=True)
        counter.parent.rmdir()


def across_a_network(runs: int, _deps: int) -> Scenario:
    scenario = Scenario(
        "11. release across a network",
        note=f"{LATENCY_MS} ms round trip, {MBIT} Mbit/s; 2 variants x 2 platforms of "
        f"{PAYLOAD // 10**6} MB new layers to 2 registries",
    )
    with network() as (registries, carried):

        def counted(run: Callable[[], Run]) -> Run:
            before = carried()
            done = run()
            return replace(done, bytes=carried() - before)

        def project() -> Project:
            nonce = uuid.uuid4().hex  # new layers: nothing to mount from an earlier run
            return Project(
                dockerfile=DOCKERFILE, registries=registries, build_args={"NONCE": nonce}
            )

        def ours(_: int) -> Run:
            with project() as made:
                command = ("buildcache", "build", "--push", "--version", "1", "--progress")
                return counted(lambda: measure((*command, "plain"), made.dir)[0])

        def plain(_: int) -> Run:
            with project() as made:
                return counted(lambda: measure(bake_cmd(made.bake_file("1")), made.dir)[0])

        interleaved(scenario, runs, {OURS: ours, PLAIN: plain})
    return scenario
