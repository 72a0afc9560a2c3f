"""The benchmark: does the registry cache pay, and what does buildcache itself cost?

Runs on the real engine and the local registries (`make bench` starts them), on a copy of the
bundled example whose two dependency steps each take --deps-seconds. Every figure is the median of
--runs runs, and each scenario is measured side by side with its plain `docker buildx`
equivalent in the same run:

  1. cold build: two variants x two platforms, no cache anywhere;
  2. the next release on a fresh runner (a throwaway daemon) after a source-only change, from the
     stable per-variant registry cache;
  3. the same with the cache scoped per release (a new cache ref per version, what a per-ref CI
     cache does): every release starts cold;
  4. the wrapper's own cost: `buildcache build` against `docker buildx bake` on the same bake
     file, fully cached; and the start-up time of `buildcache plan`;
  5. all variants in one bake against one build per variant in sequence (cold);
  6. the next release after the base tag moved upstream: a plain bake against buildcache with
     `[base] refresh = "cache"` (bench/upstream.py).

A fresh runner is a throwaway Docker daemon (scripts/second-daemon.sh, removed after each use):
the machine's own engine and its build cache are never pruned.

Prints a table and writes bench/results/latest.json. Usage: python -m bench [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.local_images import remove_local_images

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
GHCR, HUB = "127.0.0.1:5000", "127.0.0.1:5001"
BASE = f"{GHCR}/base/busybox:1"


@dataclass
class Run:
    seconds: float
    max_rss_mb: float
    cached: int | None = None
    total: int | None = None


@dataclass
class Scenario:
    name: str
    runs: dict[str, list[Run]] = field(
        default_factory=dict
    )  # "buildcache" / "docker buildx" -> runs

    def median(self, tool: str) -> float:
        return statistics.median(r.seconds for r in self.runs[tool])

    def median_rss(self, tool: str) -> float:
        return statistics.median(r.max_rss_mb for r in self.runs[tool])


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[Run, str, str]:
    """Wall time of one command; memory is measured apart (rss_of), so it does not slow this."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"failed ({process.returncode}): {' '.join(command)}\n{stderr[-3000:]}")
    return Run(seconds=seconds, max_rss_mb=float("nan")), stdout, stderr


def rss_of(command: list[str], cwd: Path) -> float:
    """Peak RSS in MB of the command's own process tree, measured by GNU time in isolation."""
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return int(result.stderr.strip().splitlines()[-1]) / 1024
    except (ValueError, IndexError):
        return float("nan")


# the repositories this run made, untagged from the engine's store at the end
MADE: list[str] = []


def untag_what_we_made() -> None:
    remove_local_images(f"{registry}/{name}" for name in MADE for registry in (GHCR, HUB))


class Project:
    """A copy of the example with its own repositories, so runs never share a cache by accident."""

    def __init__(self, deps_seconds: int) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="buildcache-bench-"))
        shutil.copy(ROOT / "Dockerfile.example", self.dir / "Dockerfile.example")
        shutil.copytree(ROOT / "example", self.dir / "example")
        self.name = f"bench/widget-{uuid.uuid4().hex[:8]}"
        MADE.append(self.name)
        self.deps_seconds = deps_seconds
        self.write_config()

    def write_config(self, cache_image: str | None = None) -> None:
        cache = cache_image or f"{GHCR}/{self.name}-cache"
        (self.dir / "buildcache.toml").write_text(
            f'images = ["{GHCR}/{self.name}", "{HUB}/{self.name}"]\n'
            'platforms = ["linux/amd64", "linux/arm64"]\n'
            'dockerfile = "Dockerfile.example"\n'
            f'build-args = {{ BASE_IMAGE = "{BASE}", DEPS_SECONDS = "{self.deps_seconds}" }}\n'
            f'[cache]\nimage = "{cache}"\n'
            '[variants.slim]\ndefault = true\nbuild-args = { VARIANT = "slim" }\n'
            '[variants.full]\nbuild-args = { VARIANT = "full" }\n'
        )

    def change_source(self) -> None:
        version = self.dir / "example" / "src" / "VERSION"
        version.write_text(version.read_text() + f"change {uuid.uuid4().hex[:6]}\n")

    def buildcache(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "buildcache", *args]

    def bake_file(self, version: str) -> Path:
        """The plain `docker buildx bake` equivalent: buildcache's own bake file (its --dry-run),
        with every tag on every registry in the one push, as a hand-written bake file has it
        (buildcache pushes the first registry and copies the rest by digest)."""
        plan = json.loads(
            subprocess.run(
                self.buildcache("plan", "--push", "--version", version, "--json"),
                cwd=self.dir,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        result = subprocess.run(
            self.buildcache("build", "--push", "--version", version, "--dry-run"),
            cwd=self.dir,
            capture_output=True,
            text=True,
            check=True,
        )
        bake = json.loads(result.stdout.split("# the command\n")[0].split("\n", 1)[1])
        for variant in plan["variants"]:
            bake["target"][variant["name"]]["tags"] = variant["tags"]
        path = self.dir / f"bake-{version}.json"
        path.write_text(json.dumps(bake, indent=2))
        return path

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def fresh_runner() -> Iterator[dict[str, str]]:
    """A new CI runner: a throwaway daemon with no build cache and no images, removed after.
    Yields the environment that points docker (and buildcache) at it."""
    script = str(ROOT / "scripts" / "second-daemon.sh")
    name = f"b{uuid.uuid4().hex[:7]}"
    started = subprocess.run([script, "start", name], capture_output=True, text=True, check=False)
    if started.returncode != 0:
        raise SystemExit(f"a fresh runner did not start: {started.stderr}")
    try:
        yield {**os.environ, "DOCKER_HOST": started.stdout.strip()}
    finally:
        subprocess.run([script, "stop", name, "--purge"], capture_output=True, check=False)


def steps(stdout: str) -> tuple[int, int]:
    data = json.loads(stdout)
    cached = sum(v["cache"]["steps"]["cached"] for v in data["variants"])
    total = sum(v["cache"]["steps"]["total"] for v in data["variants"])
    return cached, total


def bake_cmd(bake: Path, *targets: str) -> list[str]:
    return ["docker", "buildx", "bake", "--file", str(bake), "--progress", "plain", *targets]


def scenario_cold_and_release(runs: int, deps: int) -> tuple[Scenario, Scenario]:
    cold, release = (
        Scenario("1. cold build"),
        Scenario("2. next release, fresh runner, stable cache"),
    )
    for tool in ("buildcache", "docker buildx"):
        cold.runs[tool], release.runs[tool] = [], []
        for n in range(runs):
            project = Project(deps)
            try:
                with fresh_runner() as env:
                    if tool == "buildcache":
                        run, out, _ = timed(
                            project.buildcache(
                                "build", "--push", "--version", "1", "--json", "--progress", "plain"
                            ),
                            project.dir,
                            env,
                        )
                        run.cached, run.total = steps(out)
                    else:
                        run, _, _ = timed(bake_cmd(project.bake_file("1")), project.dir, env)
                cold.runs[tool].append(run)
                project.change_source()
                with fresh_runner() as env:
                    if tool == "buildcache":
                        run, out, _ = timed(
                            project.buildcache(
                                "build", "--push", "--version", "2", "--json", "--progress", "plain"
                            ),
                            project.dir,
                            env,
                        )
                        run.cached, run.total = steps(out)
                    else:
                        run, _, _ = timed(bake_cmd(project.bake_file("2")), project.dir, env)
                release.runs[tool].append(run)
                print(
                    f"  {tool} run {n + 1}: cold {cold.runs[tool][-1].seconds:.1f}s, release {run.seconds:.1f}s",
                    file=sys.stderr,
                )
            finally:
                project.cleanup()
    return cold, release


def scenario_per_release_cache(runs: int, deps: int) -> Scenario:
    """The cache ref changes with every release, as a CI cache keyed on the git ref does."""
    scenario = Scenario("3. next release, fresh runner, cache per release")
    scenario.runs["buildcache"] = []
    for n in range(runs):
        project = Project(deps)
        try:
            project.write_config(cache_image=f"{GHCR}/{project.name}-cache-v1")
            with fresh_runner() as env:
                subprocess.run(
                    project.buildcache("build", "--push", "--version", "1", "--progress", "quiet"),
                    cwd=project.dir,
                    env=env,
                    check=True,
                    capture_output=True,
                )
            project.change_source()
            project.write_config(cache_image=f"{GHCR}/{project.name}-cache-v2")
            with fresh_runner() as env:
                run, out, _ = timed(
                    project.buildcache(
                        "build", "--push", "--version", "2", "--json", "--progress", "plain"
                    ),
                    project.dir,
                    env,
                )
            run.cached, run.total = steps(out)
            scenario.runs["buildcache"].append(run)
            print(f"  per-release cache run {n + 1}: {run.seconds:.1f}s", file=sys.stderr)
        finally:
            project.cleanup()
    return scenario


def scenario_wrapper_cost(runs: int, deps: int) -> tuple[Scenario, list[float]]:
    scenario = Scenario("4. fully cached: the wrapper's own cost")
    project = Project(deps)
    try:
        subprocess.run(
            project.buildcache("build", "--push", "--version", "1", "--progress", "quiet"),
            cwd=project.dir,
            check=True,
            capture_output=True,
        )
        bake = project.bake_file("1")
        scenario.runs = {"buildcache": [], "docker buildx": []}
        for _ in range(runs):
            # interleaved, so drift on the machine hits both alike
            run, _, _ = timed(
                project.buildcache("build", "--push", "--version", "1", "--progress", "plain"),
                project.dir,
            )
            run.max_rss_mb = rss_of(
                project.buildcache("build", "--push", "--version", "1", "--progress", "quiet"),
                project.dir,
            )
            scenario.runs["buildcache"].append(run)
            run, _, _ = timed(bake_cmd(bake), project.dir)
            run.max_rss_mb = rss_of(bake_cmd(bake), project.dir)
            scenario.runs["docker buildx"].append(run)
        startup = []
        for _ in range(max(runs, 10)):
            start = time.perf_counter()
            subprocess.run(
                project.buildcache("plan", "--version", "1", "--json"),
                cwd=project.dir,
                check=True,
                capture_output=True,
            )
            startup.append(time.perf_counter() - start)
        return scenario, startup
    finally:
        project.cleanup()


def scenario_one_bake(runs: int, deps: int) -> Scenario:
    scenario = Scenario("5. cold: all variants in one bake vs one build per variant")
    scenario.runs = {"buildcache (one bake)": [], "docker buildx (per variant, in sequence)": []}
    for _ in range(runs):
        project = Project(deps)
        try:
            with fresh_runner() as env:
                run, _, _ = timed(
                    project.buildcache("build", "--push", "--version", "1", "--progress", "plain"),
                    project.dir,
                    env,
                )
            scenario.runs["buildcache (one bake)"].append(run)
        finally:
            project.cleanup()
        # its own repositories and cache refs, so it starts as cold as the one-bake run did
        project = Project(deps)
        try:
            bake = project.bake_file("1")
            with fresh_runner() as env:
                start = time.perf_counter()
                for variant in ("slim", "full"):
                    timed(bake_cmd(bake, variant), project.dir, env)
                scenario.runs["docker buildx (per variant, in sequence)"].append(
                    Run(time.perf_counter() - start, float("nan"))
                )
        finally:
            project.cleanup()
    return scenario


def machine() -> dict[str, Any]:
    docker = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    buildx = subprocess.run(
        ["docker", "buildx", "version"], capture_output=True, text=True, check=False
    )
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
        "docker": docker.stdout.strip(),
        "buildx": buildx.stdout.strip(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="runs per figure (the median is reported)"
    )
    parser.add_argument(
        "--deps-seconds",
        type=int,
        default=15,
        help="seconds each of the two dependency steps takes",
    )
    parser.add_argument(
        "--only",
        choices=("upstream",),
        help="run one scenario: upstream (6, the base tag moved)",
    )
    args = parser.parse_args()
    try:
        run(args)
    finally:
        untag_what_we_made()


def run(args: argparse.Namespace) -> None:
    from bench.upstream import row, scenario_upstream_moved

    if args.only == "upstream":
        upstream = scenario_upstream_moved(args.runs, args.deps_seconds)
        print(" | ".join(row(upstream)))
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "upstream.json").write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "runs": args.runs,
                    "deps_seconds": args.deps_seconds,
                    "row": row(upstream),
                    "scenario": {t: [r.__dict__ for r in rs] for t, rs in upstream.runs.items()},
                },
                indent=2,
            )
            + "\n"
        )
        return

    print(
        f"benchmark: {args.runs} runs per figure, dependency steps of {args.deps_seconds}s",
        file=sys.stderr,
    )
    cold, release = scenario_cold_and_release(args.runs, args.deps_seconds)
    per_release = scenario_per_release_cache(args.runs, args.deps_seconds)
    wrapper, startup = scenario_wrapper_cost(max(args.runs, 5), args.deps_seconds)
    one_bake = scenario_one_bake(args.runs, args.deps_seconds)
    upstream = scenario_upstream_moved(args.runs, args.deps_seconds)

    cold_bc = cold.median("buildcache")
    release_bc = release.median("buildcache")
    rows = [
        (
            "1. cold build (2 variants x 2 platforms)",
            f"{cold_bc:.1f}s",
            f"{cold.median('docker buildx'):.1f}s",
            f"{cold_bc / cold.median('docker buildx'):.2f}",
            "",
        ),
        (
            "2. next release, fresh runner, stable cache",
            f"{release_bc:.1f}s",
            f"{release.median('docker buildx'):.1f}s",
            f"{release_bc / release.median('docker buildx'):.2f}",
            f"{release_bc / cold_bc:.2f} of cold; steps cached {release.runs['buildcache'][0].cached}/{release.runs['buildcache'][0].total}",
        ),
        (
            "3. next release, cache scoped per release",
            f"{per_release.median('buildcache'):.1f}s",
            "",
            "",
            f"{per_release.median('buildcache') / cold_bc:.2f} of cold; steps cached {per_release.runs['buildcache'][0].cached}/{per_release.runs['buildcache'][0].total}",
        ),
        (
            "4. fully cached, every tag pushed again",
            f"{wrapper.median('buildcache'):.2f}s",
            f"{wrapper.median('docker buildx'):.2f}s",
            f"{wrapper.median('buildcache') / wrapper.median('docker buildx'):.2f}",
            f"peak RSS {wrapper.median_rss('buildcache'):.0f} MB vs {wrapper.median_rss('docker buildx'):.0f} MB",
        ),
        (
            "   buildcache plan start-up",
            f"{statistics.median(startup):.3f}s",
            "",
            "",
            "goal < 0.3s",
        ),
        (
            "5. cold: one bake vs per variant in sequence",
            f"{one_bake.median('buildcache (one bake)'):.1f}s",
            f"{one_bake.median('docker buildx (per variant, in sequence)'):.1f}s",
            f"{one_bake.median('buildcache (one bake)') / one_bake.median('docker buildx (per variant, in sequence)'):.2f}",
            "",
        ),
        row(upstream),
    ]
    header = ("scenario", "buildcache", "docker buildx", "ratio", "notes")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    table = "\n".join(lines)
    print(table)

    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {
        "machine": machine(),
        "runs": args.runs,
        "deps_seconds": args.deps_seconds,
        "table": table,
        "scenarios": {
            s.name: {tool: [r.__dict__ for r in runs] for tool, runs in s.runs.items()}
            for s in (cold, release, per_release, wrapper, one_bake, upstream)
        },
        "plan_startup_seconds": startup,
    }
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten: {RESULTS / 'latest.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()
