"""What buildcache itself costs when the build costs nothing: every step comes from the cache.

  4. a quiet cached build (no push): buildcache against plain bake of the same bake file;
  7. a cached release with push, two variants: a new version on both registries;
  8. the same with 20 variants (40 images, every tag on two registries);
  and the start-up of `buildcache plan --json`, beside the floors under it (`docker buildx
  version`, and `import typer` that any typer command line pays).

Each side has its own project (its own repositories), built once before the timed runs so the
engine and the registries hold every layer; both sides share the engine's build cache.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench.harness import OURS, PLAIN, Project, Run, Scenario, bake_cmd, interleaved, measure

TWENTY = {f"edition{n:02d}": {"VARIANT": f"edition{n:02d}"} for n in range(1, 21)}
# every variant a step of its own on top of a shared base: 40 images, all cached after warm-up
SMALL_DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG VARIANT
RUN echo "$VARIANT" > /variant
"""


def _warm(*projects: Project) -> None:
    for project in projects:
        command = ("buildcache", "build", "--push", "--version", "1.0", "--progress", "quiet")
        measure(command, project.dir)


def quiet_cached(runs: int, deps: int) -> Scenario:
    scenario = Scenario(
        "4. quiet cached build, no push",
        note="the wrapper's own cost: plan, base pins, bake, report, all steps cached",
    )
    with Project(deps) as ours, Project(deps) as plain:
        _warm(ours, plain)
        bake = plain.bake_file(None, push=False)
        return interleaved(
            scenario,
            runs,
            {
                OURS: lambda _: measure(("buildcache", "build", "--progress", "quiet"), ours.dir)[
                    0
                ],
                PLAIN: lambda _: measure(bake_cmd(bake, progress="quiet"), plain.dir)[0],
            },
        )


def cached_release(name: str, runs: int, make: Callable[[], Project]) -> Scenario:
    """A new version of every variant pushed to both registries, every step cached: buildcache's
    publish (one push, copies by digest, moving tags last) against one bake pushing every tag."""
    scenario = Scenario(name, note="a new version each run; every step cached")
    with make() as ours, make() as plain:
        _warm(ours, plain)

        def run_ours(n: int) -> Run:
            command = ("buildcache", "build", "--push", "--version", f"1.{n + 1}", "--progress")
            return measure((*command, "plain"), ours.dir)[0]

        def run_plain(n: int) -> Run:
            return measure(bake_cmd(plain.bake_file(f"1.{n + 1}")), plain.dir)[0]

        return interleaved(scenario, runs, {OURS: run_ours, PLAIN: run_plain})


def release_two(runs: int, deps: int) -> Scenario:
    return cached_release("7. cached release, push, 2 variants", runs, lambda: Project(deps))


def release_twenty(runs: int, _deps: int) -> Scenario:
    return cached_release(
        "8. cached release, push, 20 variants",
        runs,
        lambda: Project(dockerfile=SMALL_DOCKERFILE, variants=TWENTY),
    )


def startup(runs: int, _deps: int) -> Scenario:
    """`plan --json` against the floors: docker's own start-up and a bare `import typer`."""
    scenario = Scenario(
        "start-up: buildcache plan --json",
        note="floors: `docker buildx version`, and `python -c 'import typer'`",
    )
    with Project() as project:
        plan = ("buildcache", "plan", "--version", "1", "--json")
        sides: dict[str, Callable[[int], Run]] = {
            "plan --json": lambda _: measure(plan, project.dir)[0],
            "plan --json --offline": lambda _: measure((*plan, "--offline"), project.dir)[0],
            "docker buildx version": lambda _: measure(
                ("docker", "buildx", "version"), project.dir
            )[0],
            "import typer": lambda _: measure((sys.executable, "-c", "import typer"), project.dir)[
                0
            ],
        }
        return interleaved(scenario, max(runs, 11), sides, label="start-up")
