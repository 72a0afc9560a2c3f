"""Does the registry cache pay? Releases on fresh runners (throwaway daemons), cold and warm.

1. cold build: two variants x two platforms, no cache anywhere;
2. the next release on a fresh runner after a source-only change, from the stable per-variant
   registry cache;
3. the same with the cache scoped per release (a new cache ref per version, what a CI cache
   keyed on the git ref does): every release starts cold;
5. cold, all variants: buildcache's one bake, the same bake file run by plain bake, and one
   plain build per variant in sequence (what a CI matrix without bake does, on one runner).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench.harness import (
    GHCR,
    OURS,
    PLAIN,
    Project,
    Run,
    Scenario,
    bake_cmd,
    fresh_runner,
    interleaved,
    measure,
    steps,
)

RELEASE = ("buildcache", "build", "--push", "--json", "--progress", "plain")
SEQUENCE = "docker buildx bake, one variant at a time"


def _release(project: Project, side: str, version: str) -> Run:
    """One release of the project on a fresh runner, by buildcache or by a plain bake."""
    with fresh_runner() as env:
        if side == OURS:
            run, out, _ = measure([*RELEASE, "--version", version], project.dir, env)
            run.cached, run.total = steps(out)
            return run
        bake = project.bake_file(version)
        return measure(bake_cmd(bake), project.dir, env)[0]


def cold_and_release(runs: int, deps: int) -> tuple[Scenario, Scenario]:
    """Scenarios 1 and 2 on the same projects: each side's release 1 is its cold build."""
    cold = Scenario("1. cold build (2 variants x 2 platforms)")
    release = Scenario("2. next release, fresh runner, stable cache")
    for n in range(runs):
        for side in (OURS, PLAIN) if n % 2 == 0 else (PLAIN, OURS):
            with Project(deps) as project:
                cold.add(side, _release(project, side, "1"))
                project.change_source()
                release.add(side, _release(project, side, "2"))
            print(
                f"  releases: {side} run {n + 1}: cold {cold.runs[side][-1].seconds:.1f}s, "
                f"next release {release.runs[side][-1].seconds:.1f}s",
                file=sys.stderr,
            )
    return cold, release


def per_release_cache(runs: int, deps: int) -> Scenario:
    """The cache ref changes with every release, as a CI cache keyed on the git ref does."""
    scenario = Scenario(
        "3. next release, fresh runner, cache per release",
        note="buildcache alone: the cost of a cache scoped per release, against scenario 2",
    )
    for n in range(runs):
        with Project(deps) as project:
            project.write_config(cache_image=f"{GHCR}/{project.name}-cache-v1")
            _release(project, OURS, "1")
            project.change_source()
            project.write_config(cache_image=f"{GHCR}/{project.name}-cache-v2")
            run = _release(project, OURS, "2")
        scenario.add(OURS, run)
        print(f"  per-release cache run {n + 1}: {run.seconds:.1f}s", file=sys.stderr)
    return scenario


def one_bake(runs: int, deps: int) -> Scenario:
    """Cold, on fresh runners: the gain of one bake is bake's, so a plain bake of the same file
    is the comparison; a sequence of per-variant builds is shown beside it."""
    scenario = Scenario(
        "5. cold: all variants in one bake",
        note=f"ratio against a plain bake of the same file; '{SEQUENCE}' shown beside",
    )

    def cold(side: str) -> Callable[[int], Run]:
        def run(_: int) -> Run:
            with Project(deps) as project:
                return _release(project, side, "1")

        return run

    def sequence(_: int) -> Run:
        with Project(deps) as project, fresh_runner() as env:
            bake = project.bake_file("1")
            parts = [measure(bake_cmd(bake, v), project.dir, env)[0] for v in project.variants]
        return Run(
            seconds=sum(p.seconds for p in parts), cpu_seconds=sum(p.cpu_seconds for p in parts)
        )

    return interleaved(scenario, runs, {OURS: cold(OURS), PLAIN: cold(PLAIN), SEQUENCE: sequence})
