"""`docker buildx bake` itself: the process, its progress read line by line, the signal that
stops buildcache passed on to it, the metadata it leaves.

Not through python-on-whales: its stream reader keeps the whole of stderr, where the progress
arrives, in one bytes object grown line by line, which is quadratic (42 s of CPU for a 14.8 MB
stream of a chatty build), and it gives no handle to the process, which a SIGTERM to buildcache
must reach. The command is engine.Docker's, so bake reaches the engine every other call reaches.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from buildcache.buildkit.metadata import TargetMetadata, parse_metadata
from buildcache.core import doctor as fixes
from buildcache.core.bake import bake_command
from buildcache.docker.engine import Docker
from buildcache.errors import BuildFailed, EnvironmentProblem


def run_bake(
    client: Docker,
    *,
    bake_file: Path,
    metadata_file: Path,
    on_line: Callable[[str], None],
    builder: str | None = None,
) -> dict[str, Any]:
    """Run `docker buildx bake` on the bake file, streaming BuildKit's rawjson progress lines.

    Returns the metadata buildx wrote per target (digest, cache manifest). A failed build raises
    BuildFailed; the caller has seen every progress line by then, which says what failed. On
    Ctrl-C or SIGTERM bake gets the signal and ten seconds to stop; it would otherwise go on
    building, its bake file deleted under it.
    """
    command = [
        *client.command(),
        *bake_command(bake_file, metadata_file, "rawjson")[1:],
    ]
    if builder:
        command[command.index("bake") + 1 : command.index("bake") + 1] = ["--builder", builder]
    try:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    except OSError as error:
        raise EnvironmentProblem(
            f"cannot run docker: {error.strerror}", hint=fixes.INSTALL_DOCKER
        ) from None
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode(errors="replace")
            on_line(line)
        code = process.wait()
    except BaseException as stop:  # Ctrl-C, SIGTERM, a failing view: never leave bake behind
        _stop(process, signal.SIGINT if isinstance(stop, KeyboardInterrupt) else signal.SIGTERM)
        raise
    if code != 0:
        raise BuildFailed(f"docker buildx bake exited with code {code}")
    return read_metadata(metadata_file)


def _stop(process: subprocess.Popen[bytes], signum: int, grace: float = 10.0) -> None:
    """Pass the signal on to bake, give it `grace` seconds to stop its build, then kill it."""
    if process.poll() is not None:
        return
    process.send_signal(signum)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def read_metadata(metadata_file: Path) -> dict[str, TargetMetadata]:
    """What buildx wrote per target; nothing where the file is missing or broken."""
    try:
        data = json.loads(metadata_file.read_text())
    except (OSError, ValueError):
        return {}
    return parse_metadata(data) if isinstance(data, dict) else {}
