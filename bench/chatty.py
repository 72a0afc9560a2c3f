"""Builds that print: what following BuildKit's progress costs when the steps are talkative.

  9. chatty build, plain progress: 8 steps in parallel, each printing past BuildKit's log limit
     (2 MiB a step; the rest is clipped) in bursts over 4 s, as a compiler or a test suite does;
 10. live view on a terminal: 4 such steps, under `script` (a pseudo-terminal), buildcache's
     live view against buildx's own tty view.

Every run passes a new NONCE build argument, so the printing steps run each time on both sides.
"""

from __future__ import annotations

import uuid

from bench.harness import OURS, PLAIN, Project, Run, Scenario, bake_cmd, interleaved, measure

LINE = "chatty step {n}: compiling module {n} of the project, a line a compiler would print"
# past BuildKit's 2 MiB step log limit (the most a step can show), in bursts over a few seconds
# as a compiler or a test suite prints, not in one instant
BURSTS, BURST = 8, 384 * 1024
PRINTED = BURSTS * BURST


def chatty_dockerfile(steps: int) -> str:
    lines = ["ARG BASE_IMAGE", "FROM ${BASE_IMAGE} AS base"]
    for n in range(1, steps + 1):
        lines += [
            f"FROM base AS step{n}",
            "ARG NONCE",
            f'RUN echo "$NONCE" > /done && for burst in $(seq {BURSTS}); do '
            f'yes "{LINE.format(n=n)}" | head -c {BURST}; sleep 0.5; done',
        ]
    lines.append("FROM base")
    lines += [f"COPY --from=step{n} /done /done{n}" for n in range(1, steps + 1)]
    return "\n".join(lines) + "\n"


def _scenario(name: str, steps: int, runs: int, *, terminal: bool) -> Scenario:
    progress = "tty" if terminal else "plain"
    scenario = Scenario(
        name,
        note=f"{steps} steps x {PRINTED // 2**20} MiB printed, new NONCE each run, "
        f"--progress {progress} on both sides",
    )
    with Project(
        dockerfile=chatty_dockerfile(steps),
        variants={"chatty": {}},
        platforms=("linux/amd64",),
        build_args={"NONCE": "warm"},
    ) as project:
        measure(("buildcache", "build", "--progress", "quiet"), project.dir)  # base pulled

        def ours(_: int) -> Run:
            project.write_config(NONCE=uuid.uuid4().hex)
            command = ("buildcache", "build", "--progress", progress)
            return measure(command, project.dir, terminal=terminal)[0]

        def plain(_: int) -> Run:
            project.write_config(NONCE=uuid.uuid4().hex)
            bake = project.bake_file(None, push=False)
            return measure(bake_cmd(bake, progress=progress), project.dir, terminal=terminal)[0]

        return interleaved(scenario, runs, {OURS: ours, PLAIN: plain})


def chatty(runs: int, _deps: int) -> Scenario:
    return _scenario("9. chatty build, plain progress", 8, runs, terminal=False)


def live(runs: int, _deps: int) -> Scenario:
    return _scenario("10. live view on a terminal", 4, runs, terminal=True)
