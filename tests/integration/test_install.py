"""buildcache installs from wheels (or pure Python) on every machine its users build on: macOS
on Intel and Apple silicon, Linux x86_64 and aarch64 with glibc and with musl (GitLab jobs on
Alpine-based docker images), Python 3.11 to 3.13. Asked of the package index the way a user's
pip asks it, by package name: no compiler, no Go toolchain, no sdist may be needed.

Both sets are checked: the versions the action pins (action-constraints.txt), and the
package's own dependency ranges as pip resolves them today (what `pip install buildcache-cli`
gets)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHONS = ("3.11", "3.12", "3.13")


def _linux(libc: str, arch: str) -> tuple[str, ...]:
    """The platform tags pip accepts on such a machine; given by hand, pip expands none of
    them (a musllinux_1_1 wheel does not count for musllinux_1_2 unless named)."""
    if libc == "musl":
        return (f"musllinux_1_2_{arch}", f"musllinux_1_1_{arch}")
    glibc = [f"manylinux_2_{minor}_{arch}" for minor in range(28, 4, -1)]
    return (*glibc, f"manylinux2014_{arch}", f"manylinux2010_{arch}", f"manylinux1_{arch}")


# pip expands a macOS tag to the older macOS versions (and universal2) by itself
PLATFORMS = {
    "macOS x86_64": ("macosx_14_0_x86_64",),
    "macOS arm64": ("macosx_14_0_arm64",),
    "Linux x86_64 glibc": _linux("glibc", "x86_64"),
    "Linux aarch64 glibc": _linux("glibc", "aarch64"),
    "Linux x86_64 musl": _linux("musl", "x86_64"),
    "Linux aarch64 musl": _linux("musl", "aarch64"),
}


def _requirements(pinned: bool, tmp_path: Path) -> Path:
    if pinned:
        return ROOT / "action-constraints.txt"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    path = tmp_path / "requirements.txt"
    path.write_text("\n".join(project["dependencies"]) + "\n")
    return path


def _download(requirements: Path, platforms: tuple[str, ...], python: str, into: Path) -> str:
    """pip's complaint where the set cannot be had as wheels; "" where it can."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    command += ["--only-binary=:all:", "--implementation", "cp", "--python-version", python]
    command += [flag for tag in platforms for flag in ("--platform", tag)]
    command += ["--dest", str(into), "-r", str(requirements)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    return "" if done.returncode == 0 else "; ".join(errors) or done.stderr.strip()[-300:]


@pytest.mark.parametrize("pinned", [True, False], ids=["action's pins", "package's ranges"])
def test_every_dependency_installs_from_wheels_on_every_users_machine(
    pinned: bool, tmp_path: Path
) -> None:
    requirements = _requirements(pinned, tmp_path)
    cases = [(name, python) for name in PLATFORMS for python in PYTHONS]
    with ThreadPoolExecutor(max_workers=6) as pool:
        found = pool.map(
            lambda case: _download(
                requirements, PLATFORMS[case[0]], case[1], tmp_path / f"{case[0]}-{case[1]}"
            ),
            cases,
        )
        failed = {
            f"{name}, Python {python}": why
            for (name, python), why in zip(cases, found, strict=True)
            if why
        }
    assert not failed, failed
