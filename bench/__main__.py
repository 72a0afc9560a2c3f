"""The benchmark: does the registry cache pay, and what does buildcache itself cost?

Runs on the real engine and the local registries (`make bench` starts them). Every scenario is
measured side by side with its plain `docker buildx bake` equivalent in the same run, the sides
interleaved (A, B, then B, A), and reported as medians with min-max and the ratio
buildcache / plain. buildcache's own CPU and peak RSS (its Python process, children excluded) are
measured apart from docker's (bench/selfcost.py).

  releases.py   1-3, 5: cold builds and next releases on fresh runners (throwaway daemons)
  upstream.py   6: the next release after the base tag moved upstream
  wrapper.py    4, 7, 8, start-up: fully cached builds, where only buildcache's own cost is left
  chatty.py     9, 10: builds that print, with plain progress and with the live view on a tty
  network.py    11: both registries behind a proxy with latency and a bandwidth cap
  memory.py     12, 13: a 2 GB layer copied between registries, a 1 GB blob where a record
                should be: the peak RSS of buildcache's process

A fresh runner is a throwaway Docker daemon (scripts/second-daemon.sh, removed after each use):
the machine's own engine and its build cache are never pruned, and what the bench pushed is
untagged from the engine's store at the end.

Prints a table and writes bench/results/latest.json (or --only's scenarios to their own file).
Usage: python -m bench [--runs 3] [--deps-seconds 15] [--only chatty,live]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import chatty, memory, network, releases, upstream, wrapper
from bench.harness import OURS, PLAIN, RESULTS, Scenario, untag_what_we_made

Measure = Callable[[int, int], list[Scenario]]


def _one(measure: Callable[[int, int], Scenario]) -> Measure:
    return lambda runs, deps: [measure(runs, deps)]


# by name, for --only; each takes (runs, deps_seconds)
SCENARIOS: dict[str, Measure] = {
    "releases": lambda runs, deps: list(releases.cold_and_release(runs, deps)),  # 1 and 2
    "per-release": _one(releases.per_release_cache),
    "quiet": _one(wrapper.quiet_cached),
    "one-bake": _one(releases.one_bake),
    "upstream": _one(upstream.upstream_moved),
    "release": _one(wrapper.release_two),
    "twenty": _one(wrapper.release_twenty),
    "chatty": _one(chatty.chatty),
    "live": _one(chatty.live),
    "network": _one(network.across_a_network),
    "startup": _one(wrapper.startup),
    "memory": lambda runs, deps: [memory.layer_copy(runs, deps), memory.record_read(runs, deps)],
}
# the issues' targets (#13, #22): the ratio buildcache / plain bake at most
GOALS = {
    "4. quiet cached build, no push": 1.25,
    "7. cached release, push, 2 variants": 1.15,
    "8. cached release, push, 20 variants": 1.05,
    "9. chatty build, plain progress": 1.10,
    "10. live view on a terminal": 1.15,
    "11. release across a network": 1.03,
}
CHATTY_RSS_MB = 80
BYTES_GOAL = 1.01  # the bytes over the link, buildcache / plain bake (scenario 11)
# start-up, as a ratio to the floor measured in the same run (`import typer`): absolute figures
# move 2x from one machine to the next, the ratio does not
PLAN_GOAL, OFFLINE_GOAL = 3.0, 2.0


def row(scenario: Scenario) -> tuple[str, ...]:
    ours = scenario.runs.get(OURS, [])
    if scenario.name.startswith("start-up"):
        medians = {side: scenario.median(side) for side in scenario.runs}
        floor = medians["import typer"]
        plan, offline = medians["plan --json"] / floor, medians["plan --json --offline"] / floor
        return (
            scenario.name,
            scenario.spread("plan --json"),
            f"{floor:.2f}s (import typer)",
            f"{plan:.2f}",
            _verdict(plan <= PLAN_GOAL, f"<= {PLAN_GOAL:g}x")
            + f"; --offline {offline:.2f}x: "
            + _verdict(offline <= OFFLINE_GOAL, f"<= {OFFLINE_GOAL:g}x"),
            scenario.python_cost("plan --json"),
            f"--offline {medians['plan --json --offline']:.2f}s; "
            f"docker buildx version {medians['docker buildx version']:.2f}s",
        )
    plain = scenario.runs.get(PLAIN)
    ratio = scenario.median(OURS) / scenario.median(PLAIN) if ours and plain else None
    goal = GOALS.get(scenario.name)
    verdict = "" if goal is None or ratio is None else _verdict(ratio <= goal, f"<= {goal:.2f}")
    if scenario.name.startswith("9.") and ours:
        rss = max(r.python_rss_mb or 0.0 for r in ours)
        verdict += "; " + _verdict(rss < CHATTY_RSS_MB, f"RSS < {CHATTY_RSS_MB} MB")
    notes = [scenario.note] if scenario.note else []
    moved = _bytes_ratio(scenario)
    if moved is not None:
        verdict += f"; bytes {moved:.3f}x: " + _verdict(moved <= BYTES_GOAL, f"<= {BYTES_GOAL}")
    if ours and ours[0].total is not None:
        notes.append(f"steps cached {ours[0].cached}/{ours[0].total}")
    if plain and plain[0].total is not None:
        notes.append(f"plain {plain[0].cached}/{plain[0].total}")
    for side in scenario.runs:
        if side not in (OURS, PLAIN):
            notes.append(f"{side}: {scenario.spread(side)}")
    return (
        scenario.name,
        scenario.spread(OURS) if ours else "",
        scenario.spread(PLAIN) if plain else "",
        f"{ratio:.2f}" if ratio is not None else "",
        verdict,
        scenario.python_cost(),
        "; ".join(notes),
    )


def _bytes_ratio(scenario: Scenario) -> float | None:
    """The median bytes over the link, buildcache / plain bake, where they were counted."""
    counted = {
        side: [r.bytes for r in runs if r.bytes]
        for side, runs in scenario.runs.items()
        if side in (OURS, PLAIN)
    }
    if not counted.get(OURS) or not counted.get(PLAIN):
        return None
    return statistics.median(counted[OURS]) / statistics.median(counted[PLAIN])


def _verdict(met: bool, goal: str) -> str:
    return f"{'met' if met else 'NOT met'} ({goal})"


def table(scenarios: list[Scenario]) -> str:
    header = ("scenario", OURS, PLAIN, "ratio", "goal", "buildcache's Python", "notes")
    rows = [header, *(row(s) for s in scenarios)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    def output(*command: str) -> str:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "docker": output("docker", "version", "--format", "{{.Server.Version}}"),
        "buildx": output("docker", "buildx", "version"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="runs per side and scenario (medians are reported)"
    )
    parser.add_argument(
        "--deps-seconds",
        type=int,
        default=15,
        help="seconds each of the example's two dependency steps takes",
    )
    parser.add_argument(
        "--only",
        help=f"comma-separated scenarios to run, of: {', '.join(SCENARIOS)}",
    )
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else list(SCENARIOS)
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    _compile_as_installed()
    try:
        run(chosen, args.runs, args.deps_seconds)
    finally:
        untag_what_we_made()


def _compile_as_installed() -> None:
    """buildcache's bytecode written, as `pip install` of the wheel does: an editable install
    under PYTHONDONTWRITEBYTECODE (set on some machines) would compile every module from source
    at every start, which no user's install does (typer, the floor, is compiled)."""
    import compileall

    import buildcache

    compileall.compile_dir(Path(buildcache.__file__).parent, quiet=1)


def run(chosen: list[str], runs: int, deps: int) -> None:
    print(
        f"benchmark: {runs} runs per side, dependency steps of {deps}s: {', '.join(chosen)}",
        file=sys.stderr,
    )
    scenarios: list[Scenario] = []
    for name in chosen:
        scenarios += SCENARIOS[name](runs, deps)
    scenarios.sort(key=lambda s: _order(s.name))
    printed = table(scenarios)
    print(printed)
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / ("latest.json" if chosen == list(SCENARIOS) else f"{'+'.join(chosen)}.json")
    result = {
        "machine": machine(),
        "runs": runs,
        "deps_seconds": deps,
        "table": printed,
        "scenarios": {s.name: s.as_json() for s in scenarios},
        "medians": {s.name: {side: s.median(side) for side in s.runs} for s in scenarios},
    }
    target.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten: {target}", file=sys.stderr)


def _order(name: str) -> float:
    number = name.split(".", 1)[0]
    return float(number) if number.isdigit() else 99.0


if __name__ == "__main__":
    main()
