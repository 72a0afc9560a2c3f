"""What every scenario measures with: a run's wall time and CPU, buildcache's own share of them,
the projects the scenarios build, fresh runners, and interleaving.

A buildcache run goes through bench/selfcost.py, which writes the Python process's own CPU time
and peak RSS (its children excluded) when it exits; `os.wait4` gives the CPU of the whole process
tree. So for buildcache a run splits into Python's share and the rest (docker buildx, imagetools,
credential helpers), and for plain `docker buildx` the whole tree is docker's.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.local_images import remove_local_images

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
GHCR, HUB = "127.0.0.1:5000", "127.0.0.1:5001"
BASE = f"{GHCR}/base/busybox:1"
SELFCOST = ROOT / "bench" / "selfcost.py"

# the two sides of a scenario, as its tables and results name them
OURS, PLAIN = "buildcache", "docker buildx bake"


@dataclass
class Run:
    seconds: float
    cpu_seconds: float  # the whole process tree
    python_cpu_seconds: float | None = None  # buildcache's own process, children excluded
    python_rss_mb: float | None = None
    cached: int | None = None
    total: int | None = None
    bytes: int | None = None  # over the network link (scenario 11), both ways
    rss_mb: float | None = None  # the measured process's peak RSS (scenarios 12, 13)


@dataclass
class Scenario:
    name: str
    runs: dict[str, list[Run]] = field(default_factory=dict)
    note: str = ""

    def add(self, side: str, run: Run) -> None:
        self.runs.setdefault(side, []).append(run)

    def median(self, side: str) -> float:
        return statistics.median(r.seconds for r in self.runs[side])

    def spread(self, side: str) -> str:
        """`median (min-max)` of the wall times, or the one figure."""
        seconds = [r.seconds for r in self.runs[side]]
        if len(seconds) == 1:
            return f"{seconds[0]:.2f}s"
        return f"{statistics.median(seconds):.2f}s ({min(seconds):.2f}-{max(seconds):.2f})"

    def python_cost(self, side: str = OURS) -> str:
        """buildcache's own median CPU and peak RSS, beside the wall time."""
        runs = [r for r in self.runs.get(side, []) if r.python_cpu_seconds is not None]
        if not runs:
            return ""
        cpu = statistics.median(r.python_cpu_seconds or 0.0 for r in runs)
        rss = max(r.python_rss_mb or 0.0 for r in runs)
        return f"Python CPU {cpu:.2f}s, peak RSS {rss:.0f} MB"

    def as_json(self) -> dict[str, object]:
        return {
            "note": self.note,
            "runs": {side: [r.__dict__ for r in runs] for side, runs in self.runs.items()},
        }


def measure(
    command: Sequence[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    *,
    terminal: bool = False,
) -> tuple[Run, str, str]:
    """Run a command to its end: its wall time and whole-tree CPU, with stdout and stderr kept in
    files (a pipe read by this process would slow the run it measures). A buildcache command
    (one starting with `buildcache`) runs through selfcost.py, for Python's own share. With
    `terminal`, it runs under `script`, on a pseudo-terminal as a developer's shell gives it."""
    env = dict(env or os.environ)
    costs = Path(tempfile.mkstemp(prefix="buildcache-bench-cost-")[1])
    argv = list(command)
    ours = argv[0] == "buildcache"
    if ours:
        argv = [sys.executable, str(SELFCOST), str(costs), *argv[1:]]
    if terminal:
        env.update(COLUMNS="120", LINES="40", TERM="xterm-256color")
        argv = [
            "script",
            "--quiet",
            "--flush",
            "--return",
            "--command",
            shlex.join(argv),
            "/dev/null",
        ]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    run = Run(seconds=seconds, cpu_seconds=usage.ru_utime + usage.ru_stime)
    if process.returncode != 0:
        raise SystemExit(
            f"failed ({process.returncode}): {' '.join(command)}\n{stderr[-3000:]}{stdout[-3000:]}"
        )
    if ours and costs.stat().st_size:
        own = json.loads(costs.read_text())
        run.python_cpu_seconds, run.python_rss_mb = own["cpu_seconds"], own["rss_mb"]
    costs.unlink(missing_ok=True)
    return run, stdout, stderr


def interleaved(
    scenario: Scenario, runs: int, sides: dict[str, Callable[[int], Run]], label: str = ""
) -> Scenario:
    """Each run measures every side, in turn (A, B, then B, A), so drift on the machine hits all
    sides alike."""
    order = list(sides)
    for n in range(runs):
        for side in order if n % 2 == 0 else reversed(order):
            run = sides[side](n)
            scenario.add(side, run)
            extra = f", steps cached {run.cached}/{run.total}" if run.total is not None else ""
            print(
                f"  {label or scenario.name}: {side} run {n + 1}: {run.seconds:.2f}s{extra}",
                file=sys.stderr,
            )
    return scenario


# the repositories this run made (registry/name), untagged from the engine's store at the end
MADE: list[str] = []


def untag_what_we_made() -> None:
    remove_local_images(MADE)


EXAMPLE_VARIANTS = {"slim": {"VARIANT": "slim"}, "full": {"VARIANT": "full"}}


class Project:
    """A project with its own repositories, so runs never share a registry cache by accident: by
    default a copy of the bundled example (two variants, two platforms); a scenario can give its
    own Dockerfile, variants, platforms and registries."""

    def __init__(
        self,
        deps_seconds: int = 2,
        *,
        dockerfile: str | None = None,
        variants: dict[str, dict[str, str]] | None = None,
        platforms: Sequence[str] = ("linux/amd64", "linux/arm64"),
        registries: Sequence[str] = (GHCR, HUB),
        build_args: dict[str, str] | None = None,
    ) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="buildcache-bench-"))
        shutil.copy(ROOT / "Dockerfile.example", self.dir / "Dockerfile.example")
        shutil.copytree(ROOT / "example", self.dir / "example")
        self.dockerfile = "Dockerfile.example"
        if dockerfile is not None:
            self.dockerfile = "Dockerfile"
            (self.dir / "Dockerfile").write_text(dockerfile)
        self.name = f"bench/widget-{uuid.uuid4().hex[:8]}"
        self.variants = variants or EXAMPLE_VARIANTS
        self.platforms = tuple(platforms)
        self.registries = tuple(registries)
        MADE.extend(f"{registry}/{self.name}" for registry in self.registries)
        # the example's slow steps take DEPS_SECONDS; a Dockerfile of a scenario's own does not
        # declare it (buildcache refuses a build argument no ARG declares)
        slow = {"DEPS_SECONDS": str(deps_seconds)} if dockerfile is None else {}
        self.build_args = {"BASE_IMAGE": BASE, **slow, **(build_args or {})}
        self.write_config()
        # a repository on a branch, as a project is: builds without --version are tagged `main`
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
        for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "start"]):
            subprocess.run([*git, *command], cwd=self.dir, check=True, capture_output=True)

    def write_config(self, cache_image: str | None = None, **build_args: str) -> None:
        self.build_args.update(build_args)
        cache = cache_image or f"{self.registries[0]}/{self.name}-cache"
        images = ", ".join(f'"{r}/{self.name}"' for r in self.registries)
        lines = [
            f"images = [{images}]",
            f"platforms = {json.dumps(list(self.platforms))}",
            f'dockerfile = "{self.dockerfile}"',
            f"build-args = {_inline(self.build_args)}",
            f'[cache]\nimage = "{cache}"',
        ]
        for n, (name, args) in enumerate(self.variants.items()):
            default = "default = true\n" if n == 0 else ""
            lines.append(f"[variants.{name}]\n{default}build-args = {_inline(args)}")
        (self.dir / "buildcache.toml").write_text("\n".join(lines) + "\n")

    def change_source(self) -> None:
        version = self.dir / "example" / "src" / "VERSION"
        version.write_text(version.read_text() + f"change {uuid.uuid4().hex[:6]}\n")

    def bake_file(self, version: str | None, *, push: bool = True, pins: bool = True) -> Path:
        """The plain `docker buildx bake` equivalent: buildcache's own bake file (its --dry-run),
        with every tag on every registry in the one push, as a hand-written bake file has it
        (buildcache pushes to the first registry and copies the rest by digest). Without
        `pins`, FROM resolves as a plain bake resolves it."""
        release = ["--version", version] if version else []
        pushing = ["--push"] if push else []
        plan = json.loads(_buildcache(self.dir, "plan", *pushing, *release, "--json"))
        printed = _buildcache(self.dir, "build", *pushing, *release, "--dry-run")
        bake = json.loads(printed.split("# the command\n")[0].split("\n", 1)[1])
        for variant in plan["variants"]:
            target = bake["target"][variant["name"]]
            target["tags"] = variant["tags"] if push else []
            if not pins:
                target.pop("contexts", None)
        path = self.dir / f"bake-{version or 'dev'}-{uuid.uuid4().hex[:6]}.json"
        path.write_text(json.dumps(bake, indent=2))
        return path

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *_: object) -> None:
        self.cleanup()


def _inline(table: dict[str, str]) -> str:
    return "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in table.items()) + " }"


def _buildcache(cwd: Path, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "buildcache", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def bake_cmd(bake: Path, *targets: str, progress: str = "plain") -> list[str]:
    return ["docker", "buildx", "bake", "--file", str(bake), "--progress", progress, *targets]


def steps(stdout: str) -> tuple[int, int]:
    """(cached, total) steps of every variant, from `buildcache build --json`."""
    data = json.loads(stdout)
    cached = sum(v["cache"]["steps"]["cached"] for v in data["variants"])
    total = sum(v["cache"]["steps"]["total"] for v in data["variants"])
    return cached, total


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
