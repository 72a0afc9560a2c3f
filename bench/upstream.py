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
import subprocess
import sys
import uuid
from pathlib import Path

from bench.__main__ import BASE, GHCR, Project, Scenario, bake_cmd, fresh_runner, timed

BUILDCACHE = 'buildcache, [base] refresh = "cache"'
PLAIN = "docker buildx bake"
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


def plain_bake_file(project: Project, version: str) -> Path:
    """buildcache's bake file with every tag, and without the pins: what a plain bake runs."""
    path = project.bake_file(version)
    bake = json.loads(path.read_text())
    for target in bake["target"].values():
        target.pop("contexts", None)
    path.write_text(json.dumps(bake, indent=2))
    return path


def scenario_upstream_moved(runs: int, deps: int) -> Scenario:
    scenario = Scenario("6. next release after the base tag moved, fresh runner")
    scenario.runs = {BUILDCACHE: [], PLAIN: []}
    for n in range(runs):
        for tool in (BUILDCACHE, PLAIN):
            project = Project(deps)
            moving = f"{GHCR}/bench/upstream-{uuid.uuid4().hex[:8]}:3.12-slim"
            subprocess.run(
                ["docker", "buildx", "imagetools", "create", "--tag", moving, BASE],
                check=True,
                capture_output=True,
            )
            config = project.dir / "buildcache.toml"
            config.write_text(
                config.read_text().replace(BASE, moving) + '[base]\nrefresh = "cache"\n'
            )
            try:
                with fresh_runner() as env:
                    if tool == BUILDCACHE:
                        command = project.buildcache("build", "--push", "--version", "1")
                        subprocess.run(command, cwd=project.dir, env=env, check=True, capture_output=True)  # fmt: skip
                    else:
                        timed(bake_cmd(plain_bake_file(project, "1")), project.dir, env)
                    move_base(moving, env)
                with fresh_runner() as env:
                    if tool == BUILDCACHE:
                        run, out, _ = timed(
                            project.buildcache(
                                "build", "--push", "--version", "2", "--json", "--progress", "plain"
                            ),
                            project.dir,
                            env,
                        )
                        run.cached, run.total = buildcache_steps(out)
                    else:
                        run, _, err = timed(
                            bake_cmd(plain_bake_file(project, "2")), project.dir, env
                        )
                        run.cached, run.total = plain_steps(err)
                scenario.runs[tool].append(run)
                print(
                    f"  upstream moved, {tool} run {n + 1}: {run.seconds:.1f}s, "
                    f"steps cached {run.cached}/{run.total}",
                    file=sys.stderr,
                )
            finally:
                project.cleanup()
    return scenario


def row(scenario: Scenario) -> tuple[str, str, str, str, str]:
    ours, plain = scenario.runs[BUILDCACHE], scenario.runs[PLAIN]
    return (
        "6. next release after the base tag moved",
        f"{scenario.median(BUILDCACHE):.1f}s",
        f"{scenario.median(PLAIN):.1f}s",
        f"{scenario.median(BUILDCACHE) / scenario.median(PLAIN):.2f}",
        f"steps cached (FROM aside): {ours[0].cached}/{ours[0].total} pinned vs "
        f"{plain[0].cached}/{plain[0].total} plain",
    )
