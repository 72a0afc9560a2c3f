"""The files buildcache hashes for a step are the files docker sends: for each .dockerignore of
tests/integration/data/dockerignore_contexts.json (one context tree, each feature of the
pattern language in turn), a real build copies the whole context out (`FROM scratch`,
`COPY . /`, `--output type=local`: no base, no registry) and its file list is compared with the
one buildcache's matcher keeps (registry/bases.hash_sources, as a plan hashes `COPY .`)."""

from __future__ import annotations

import json
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from python_on_whales import DockerClient

from buildcache.core.bases import GIT_NOTE
from buildcache.registry.bases import dockerignore, hash_sources
from tests.integration.conftest import Project

DATA: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "dockerignore_contexts.json").read_text()
)


def _context(folder: Path, ignore_text: str) -> Path:
    for relative in DATA["tree"]:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{relative}\n")
    (folder / "Dockerfile").write_text("FROM scratch\nCOPY . /\n")
    (folder / ".dockerignore").write_bytes(ignore_text.encode())
    return folder


def _sent_by_docker(context: Path, out: Path) -> set[str]:
    """The files a real build took from the context (the default builder, the local engine)."""
    subprocess.run(
        ["docker", "buildx", "build", "--builder", "default", "--progress", "quiet",
         "--output", f"type=local,dest={out}", str(context)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}


def _kept_by_buildcache(context: Path) -> set[str]:
    ignore = dockerignore(context, context / "Dockerfile")
    return set(hash_sources(context, ["."], ignore)["."].each_file)


def test_every_dockerignore_sends_what_buildcache_hashes(
    docker: DockerClient, tmp_path: Path
) -> None:
    cases = DATA["cases"]
    contexts = [_context(tmp_path / f"c{n}", c["dockerignore"]) for n, c in enumerate(cases)]
    # a few builds at once: the engine is shared, and each build is mostly its round trips
    with ThreadPoolExecutor(max_workers=3) as pool:
        sent = list(pool.map(lambda c: _sent_by_docker(c, c.with_name(c.name + "-out")), contexts))
    differ = {}
    for case, context, by_docker in zip(cases, contexts, sent, strict=True):
        by_buildcache = _kept_by_buildcache(context)
        if by_docker != by_buildcache:
            differ[case["name"]] = {
                "sent, not hashed": sorted(by_docker - by_buildcache),
                "hashed, not sent": sorted(by_buildcache - by_docker),
            }
    print(f"{len(cases) - len(differ)} of {len(cases)} .dockerignore files agree with docker")
    assert not differ, json.dumps(differ, indent=1)


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: c["name"])
def test_each_case_excludes_something_or_says_why_not(case: dict[str, Any], tmp_path: Path) -> None:
    """No case is vacuous by accident: each one keeps some of the tree out, but the two whose
    point is that nothing is (no patterns; comments and blanks only)."""
    kept = _kept_by_buildcache(_context(tmp_path, case["dockerignore"]))
    everything = {*DATA["tree"], ".dockerignore"}
    vacuous = case["name"].startswith(("no patterns", "comments"))
    assert (kept == everything) is vacuous


def _git(project: Project, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=project.path, check=True, capture_output=True,
    )  # fmt: skip


def test_a_commit_that_changed_one_source_file_names_it_first_and_blames_git(
    project: Project,
) -> None:
    """The issue's miss: `COPY . /src` with the context's .git in it; one commit changes cli.py.
    The explanation names cli.py first, .git's files after it, and says to ignore .git; once
    .git is ignored (and the cache rebuilt), a commit alone misses nothing."""
    (project.path / "src").mkdir()
    (project.path / "src" / "cli.py").write_text(f"print('{uuid.uuid4().hex}')\n")
    (project.path / "Dockerfile").write_text(
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG DEPS_SECONDS\nARG VARIANT\n"
        "COPY . /src\nRUN ls /src > /listed\n"
    )
    config = (project.path / "buildcache.toml").read_text()
    project.write_config(
        config.replace('"Dockerfile.example"', '"Dockerfile"').replace(
            'platforms = ["linux/amd64", "linux/arm64"]', 'platforms = ["linux/amd64"]'
        )
    )
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "first")
    build = ("build", "slim", "--cache-write", "--version", "t", "--no-latest")
    result = project.run(*build)
    assert result.returncode == 0, result.stderr
    assert GIT_NOTE in result.stderr  # said before the build, once

    (project.path / "src" / "cli.py").write_text(f"print('{uuid.uuid4().hex}')\n")
    _git(project, "commit", "-q", "-am", "second")
    result, data = project.run_json(*build)
    assert result.returncode == 0, result.stderr
    cause = next(v for v in data["variants"] if v["name"] == "slim")["cache"]["miss_cause"]
    assert cause["kind"] == "files"
    assert cause["detail"].startswith("the files it reads changed: src/cli.py, .git/")
    assert cause["detail"].endswith(f"({GIT_NOTE})")
    assert data["notes"].count(GIT_NOTE) == 1

    (project.path / ".dockerignore").write_text(".git\n")
    result = project.run(*build)
    assert result.returncode == 0, result.stderr
    assert GIT_NOTE not in result.stderr
    _git(project, "commit", "-q", "--allow-empty", "-m", "third")
    result, data = project.run_json(*build)
    assert result.returncode == 0, result.stderr
    slim = next(v for v in data["variants"] if v["name"] == "slim")["cache"]
    assert slim["miss_cause"] is None
    assert [s for s in slim["executed_steps"] if " FROM " not in s["name"]] == []


def test_the_dockerfiles_own_ignore_file_is_the_one_applied(
    docker: DockerClient, tmp_path: Path
) -> None:
    """`<Dockerfile>.dockerignore` beside the Dockerfile replaces the context's .dockerignore."""
    context = _context(tmp_path / "context", "*.md\n")
    dockerfile = tmp_path / "build" / "app.Dockerfile"
    dockerfile.parent.mkdir()
    dockerfile.write_text("FROM scratch\nCOPY . /\n")
    (tmp_path / "build" / "app.Dockerfile.dockerignore").write_text("**/*.py\n")
    out = tmp_path / "out"
    subprocess.run(
        ["docker", "buildx", "build", "--builder", "default", "--progress", "quiet",
         "--file", str(dockerfile), "--output", f"type=local,dest={out}", str(context)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    sent = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    kept = set(hash_sources(context, ["."], dockerignore(context, dockerfile))["."].each_file)
    assert "README.md" in sent
    assert "app.py" not in sent
    assert kept == sent
