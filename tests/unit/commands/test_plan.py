"""`buildcache plan` end to end on docker/metadata-action's own test table: each case as a
process (`python -m buildcache plan --offline --json`) in a git repository of its own, with the
case's GITHUB_* variables and event file and the clock pinned as metadata-action's tests pin it;
the tags of its JSON are the case's, in the same order. Where buildcache differs on purpose (the
table says why, and so does docs/tags.md), it must do as the table says: a case it refuses is
one sentence and the usage code, another gives buildcache's own tags."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from buildcache.core.reference import ImageRef
from buildcache.errors import ExitCode

TABLE: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "core/plan/data/metadata_action.json").read_text()
)
CASES: list[dict[str, Any]] = TABLE["cases"]
# metadata-action's tests fix the clock and the commit's date at this moment
PINNED = "2020-01-10T00:30:00Z"
PINNED_EPOCH = "1578616200"
# the repository metadata-action's tests ask GitHub about (fixtures/repo.json)
DEFAULT_BRANCH = "master"
PLACEHOLDER_IMAGE = "user/app"  # a case of no images: buildcache needs one, its tags are the same


def _clean_env() -> dict[str, str]:
    """This process's environment without anything a CI, buildcache or git would read."""
    dropped = ("GITHUB_", "GITLAB_", "CI_", "BUILDCACHE_", "DOCKER_METADATA_", "GIT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped) and k != "CI"}
    return env | {"NO_COLOR": "1", "SOURCE_DATE_EPOCH": PINNED_EPOCH}


def _images(case: dict[str, Any]) -> list[str]:
    """The case's images that are enabled, by name (`ghcr.io/x/y,enable=false` is off)."""
    names = [i.split(",")[0] for i in case["images"] if "enable=false" not in i]
    return names or [PLACEHOLDER_IMAGE]


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(item) for item in items) + "]"


def _git(repo: Path, *args: str) -> None:
    pinned = {"GIT_AUTHOR_DATE": PINNED, "GIT_COMMITTER_DATE": PINNED}
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        env=_clean_env() | pinned,
        check=True,
        capture_output=True,
    )


def _checkout(root: Path) -> Path:
    """A checkout as the runner has it: one commit, made at the pinned time, HEAD detached (a
    runner checks out the event's commit), origin's default branch the fixture repository's."""
    repo = root / "checkout"
    repo.mkdir()
    (repo / "Dockerfile").write_text("FROM scratch\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "checkout")
    _git(repo, "checkout", "-q", "--detach")
    _git(repo, "symbolic-ref", "refs/remotes/origin/HEAD", f"refs/remotes/origin/{DEFAULT_BRANCH}")
    return repo


def _repository(checkout: Path, case: dict[str, Any]) -> Path:
    """The checkout copied for the case, with the case's config beside the Dockerfile."""
    repo = shutil.copytree(checkout, checkout.parent / f"{case['section']}-{case['name']}")
    (repo / "buildcache.toml").write_text(
        f"images = {_toml_list(_images(case))}\n\n"
        f"[tags]\nrules = {_toml_list(case['tags'])}\nflavor = {_toml_list(case['flavor'])}\n"
    )
    return repo


def _case_env(repo: Path, case: dict[str, Any]) -> dict[str, str]:
    fixture = TABLE["fixtures"][case["fixture"]]
    env = _clean_env() | fixture["env"] | case["env"]
    if fixture["event_file"] is not None:
        event = repo.parent / f"{repo.name}.event.json"
        event.write_text(json.dumps(TABLE["events"][fixture["event_file"]]))
        env["GITHUB_EVENT_PATH"] = str(event)
    return env


def _plan(checkout: Path, case: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    repo = _repository(checkout, case)
    return subprocess.run(
        [sys.executable, "-m", "buildcache", "plan", "--offline", "--json"],
        cwd=repo,
        env=_case_env(repo, case),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@dataclass(frozen=True)
class Runs:
    processes: dict[str, subprocess.CompletedProcess[str]]  # "section/name" -> its plan
    head: str  # the checkout's commit


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """Every case's process, side by side."""
    checkout = _checkout(tmp_path_factory.mktemp("metadata-action"))
    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 2) * 2) as pool:
        done = pool.map(lambda case: _plan(checkout, case), CASES)
        processes = {f"{c['section']}/{c['name']}": p for c, p in zip(CASES, done, strict=True)}
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=checkout, capture_output=True, text=True, check=True
    )
    return Runs(processes, head.stdout.strip())


def _tags(output: str, image: str) -> list[str]:
    """The first variant's tags on the case's first image, without the image."""
    repository = ImageRef.parse(image.lower()).name
    plan = json.loads(output)
    prefix = f"{repository}:"
    return [t.removeprefix(prefix) for t in plan["variants"][0]["tags"] if t.startswith(prefix)]


@pytest.mark.parametrize("case", CASES, ids=[f"{c['section']}-{c['name']}" for c in CASES])
def test_metadata_action_s_cases_as_processes_give_its_tags(
    case: dict[str, Any], runs: Runs
) -> None:
    process = runs.processes[f"{case['section']}/{case['name']}"]
    if "refused" in case:
        assert process.returncode == ExitCode.USAGE, process.stdout
        # "no rule of tags.rules gives ... a tag", or with no rules "no version to tag ... with"
        errors = [line for line in process.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1, process.stderr
        assert errors[0].startswith("error: no "), process.stderr
        assert "Traceback" not in process.stderr
        return
    assert process.returncode == 0, process.stderr
    expected = case["expected"]
    if "differs" in case:
        expected = [t.format(checkout=runs.head[:7]) for t in case["buildcache_gives"]]
    assert _tags(process.stdout, _images(case)[0]) == expected


def test_the_docs_figure_is_the_cases_that_give_metadata_action_s_tags() -> None:
    """At least 125 of the table's cases give its tags as processes; the rest, by name, in
    docs/tags.md with the reason."""
    different = [c for c in CASES if "refused" in c or "differs" in c]
    tags_doc = (Path(__file__).parents[3] / "docs/tags.md").read_text()
    figure = re.search(r"(\d+) of its (\d+) cases give the same tags", tags_doc)
    assert figure is not None
    assert (int(figure[1]), int(figure[2])) == (len(CASES) - len(different), len(CASES))
    assert len(CASES) - len(different) >= 125
    for case in different:
        assert f"`{case['name']}`" in tags_doc, case["name"]
