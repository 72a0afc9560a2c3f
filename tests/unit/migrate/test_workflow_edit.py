"""migrate/workflow_edit.py: the workflow edited in place, every byte outside the migrated job's
build steps and matrix as it was; the result passes actionlint against action.yml."""

from __future__ import annotations

import difflib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from buildcache.errors import UsageError
from buildcache.migrate.from_workflow import migrate
from buildcache.migrate.workflow_edit import JobEdit, buildcache_step, edit_workflow

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = Path(__file__).parent / "data" / "workflows"
FIVE_JOBS = (WORKFLOWS / "release-five-jobs.yml").read_text()


def _edited(text: str) -> str:
    migration = migrate(yaml.safe_load(text), repository="Acme/CCC")
    step = buildcache_step(
        action="acme/buildcache",
        push=migration.push,
        manual=migration.manual,
        keep_going=migration.keep_going and migration.matrix_only_for_build,
        variants=migration.variant_of_matrix_job,
    )
    return edit_workflow(
        text, JobEdit(migration.job, migration.replaced, step, migration.matrix_only_for_build)
    )


def _changed_lines(before: str, after: str) -> set[int]:
    """The lines of `before` (0-based) the edit removed or replaced."""
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    return {
        n
        for tag, start, end, _, _ in matcher.get_opcodes()
        if tag != "equal"
        for n in range(start, end)
    }


def _span(text: str, *path: str) -> range:
    """The lines of the node at `path` (keys from the root), its key's line first."""
    node = yaml.compose(text)
    key = None
    for name in path:
        key, node = next((k, v) for k, v in node.value if k.value == name)
    assert key is not None
    return range(key.start_mark.line, node.end_mark.line)


def test_only_the_docker_job_s_build_steps_and_matrix_change() -> None:
    after = _edited(FIVE_JOBS)
    changed = _changed_lines(FIVE_JOBS, after)
    steps = _span(FIVE_JOBS, "jobs", "docker", "steps")
    strategy = _span(FIVE_JOBS, "jobs", "docker", "strategy")
    assert changed, "nothing was edited"
    assert changed <= set(steps) | set(strategy), sorted(changed - set(steps) - set(strategy))
    # the gate, its comment, the environment and the other jobs, byte for byte
    for line in (
        "    # a manual run pushes images only when asked to\n"
        "    if: github.event_name == 'release' || inputs.test_docker\n",
        "    environment: docker-hub  # where the Docker Hub secrets live\n",
        "    timeout-minutes: 60\n",
        "concurrency:\n  group: release-${{ github.ref }}\n",
    ):
        assert line in after
    for job in ("build", "test-pypi", "pypi", "github-release"):
        span = _span(FIVE_JOBS, "jobs", job)
        assert (
            FIVE_JOBS.splitlines()[span.start : span.stop]
            == after.splitlines()[span.start : span.stop]
        )


def test_a_matrix_that_served_only_the_build_becomes_one_step_that_keeps_going() -> None:
    job = yaml.safe_load(_edited(FIVE_JOBS))["jobs"]["docker"]
    assert "strategy" not in job
    (step,) = [s for s in job["steps"] if s.get("uses") == "acme/buildcache@v1"]
    assert step["with"]["args"].startswith("--keep-going ")
    assert "variants" not in step["with"]
    # every build, tag and cache step is gone; the logins stay (secrets where they were)
    uses = [s.get("uses", "") for s in job["steps"]]
    assert not [u for u in uses if u.startswith(("docker/build-push", "docker/metadata"))]
    assert uses.count("docker/login-action@v3") == 2
    assert not [s for s in job["steps"] if s.get("id") == "meta"]


def test_a_matrix_another_step_reads_stays_and_each_job_builds_its_variant() -> None:
    text = FIVE_JOBS + '      - run: echo "pushed ${{ matrix.variant }}"\n'
    job = yaml.safe_load(_edited(text))["jobs"]["docker"]
    assert job["strategy"]["fail-fast"] is False
    (step,) = [s for s in job["steps"] if s.get("uses") == "acme/buildcache@v1"]
    assert step["with"]["variants"] == "${{ matrix.variant }}"
    assert "--keep-going" not in step["with"].get("args", "")


def test_the_rewritten_workflow_passes_actionlint_against_the_action(tmp_path: Path) -> None:
    actionlint = Path(sys.executable).parent / "actionlint"
    if not actionlint.exists():
        actionlint = Path(shutil.which("actionlint") or "actionlint")
    written = _edited(FIVE_JOBS).replace("acme/buildcache@v1", "./")  # action.yml, checked
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "release.yml").write_text(written)
    (tmp_path / "action.yml").write_text((ROOT / "action.yml").read_text())
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    linted = subprocess.run(
        [str(actionlint), "-no-color", "-oneline"], cwd=tmp_path, capture_output=True, text=True
    )
    # the team's own steps on node20 actions are theirs, kept as they were; nothing else
    problems = [line for line in linted.stdout.splitlines() if 'runtime "node20"' not in line]
    assert not problems, linted.stdout + linted.stderr
    assert linted.returncode in (0, 1), linted.stderr


def test_a_job_that_is_not_there_is_said() -> None:
    with pytest.raises(UsageError, match="no job nope"):
        edit_workflow(FIVE_JOBS, JobEdit("nope", (0,), "- run: x\n"))


def test_a_build_step_without_push_stays_without_it() -> None:
    """build-push-action's push defaults to false, as the action's does: nothing is added."""
    assert "push:" not in buildcache_step(action="acme/buildcache", push=None)
    assert "push: 'true'" in buildcache_step(action="acme/buildcache", push="true")
