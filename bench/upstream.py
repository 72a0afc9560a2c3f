"""Scenario 6, "upstream base moved": the base tag (`FROM python:3.12-slim`) is republished
between two releases, as upstream does every few weeks.

Both sides release 1 on a fresh runner with the same stable registry cache, then the base tag is
moved (a changed image pushed under it), then release 2 runs on another fresh runner:

- plain `docker buildx bake` (the same bake file, without buildcache's pins): FROM resolves to
  the new digest and every step after it misses the cache;
- buildcache with `[base] refresh = "cache"`: the base the cache was built on is kept (a named
  context by digest), and the dependency steps come from the registry cache.

Runs are interleaved (buildcache, plain, buildcache, plain...), each on its own project and
moving base, so neither side warms the other.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

from bench.harness import (
    BASE,
    GHCR,
    MADE,
    OURS,
    PLAIN,
    Project,
    Run,
    Scenario,
    bake_cmd,
    fresh_runner,
    interleaved,
    measure,
)

_STEP = re.compile(r"^#(\d+) \[[^\]]*\d+/\d+\] (?!FROM )")
_CACHED = re.compile(r"^#(\d+) CACHED$")


def plain_steps(stderr: str) -> tuple[int, int]:
    """(cached, total) Dockerfile steps, FROM aside, from `--progress plain` output."""
    steps = {m.group(1) for line in stderr.splitlines() if (m := _STEP.match(line))}
    cached = {m.group(1) for line in stderr.splitlines() if (m := _CACHED.match(line))}
    return len(steps & cached), len(steps)


def buildcache_steps(stdout: str) -> tuple[int, int]:
    data = json.loads(stdout)
    cached = total = 0
    for variant in data["variants"]:
        ran = [s for s in variant["cache"]["executed_steps"] if " FROM " not in s["name"]]
        # the example has one FROM per platform
        runs = variant["cache"]["steps"]["total"] - len(variant["platforms"])
        total += runs
        cached += runs - len(ran)
    return cached, total


def move_base(moving: str, env: dict[str, str]) -> None:
    folder = Path(f"/tmp/buildcache-bench-base-{uuid.uuid4().hex[:8]}")
    folder.mkdir()
    (folder / "Dockerfile").write_text(f"FROM {BASE}\nRUN echo {uuid.uuid4().hex} > /release\n")
    subprocess.run(
        ["docker", "buildx", "build", "--platform", "linux/amd64,linux/arm64", "--tag", moving,
         "--push", "--progress", "quiet", str(folder)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    shutil.rmtree(folder, ignore_errors=True)


def _release_after_move(project: Project, side: str, moving: str) -> Run:
    with fresh_runner() as env:
        if side == OURS:
            command = ("buildcache", "build", "--push", "--version", "1", "--progress", "quiet")
            measure(command, project.dir, env)
        else:
            measure(bake_cmd(project.bake_file("1", pins=False)), project.dir, env)
        move_base(moving, env)
    with fresh_runner() as env:
        if side == OURS:
            command = ("buildcache", "build", "--push", "--version", "2", "--json", "--progress")
            run, out, _ = measure((*command, "plain"), project.dir, env)
            run.cached, run.total = buildcache_steps(out)
        else:
            run, _, err = measure(bake_cmd(project.bake_file("2", pins=False)), project.dir, env)
            run.cached, run.total = plain_steps(err)
    return run


def upstream_moved(runs: int, deps: int) -> Scenario:
    scenario = Scenario(
        "6. next release after the base tag moved, fresh runner",
        note='buildcache with [base] refresh = "cache"; steps cached counted FROM aside',
    )

    def side(name: str) -> Callable[[int], Run]:
        def run(_: int) -> Run:
            moving = f"{GHCR}/bench/upstream-{uuid.uuid4().hex[:8]}:3.12-slim"
            MADE.append(moving.rsplit(":", 1)[0])
            subprocess.run(
                ["docker", "buildx", "imagetools", "create", "--tag", moving, BASE],
                check=True,
                capture_output=True,
            )
            with Project(deps) as project:
                config = project.dir / "buildcache.toml"
                config.write_text(
                    config.read_text().replace(BASE, moving) + '[base]\nrefresh = "cache"\n'
                )
                return _release_after_move(project, name, moving)

        return run

    return interleaved(scenario, runs, {OURS: side(OURS), PLAIN: side(PLAIN)})
