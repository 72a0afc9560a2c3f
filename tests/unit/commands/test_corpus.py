"""The corpus of real release workflows (tests/data/workflows/): each project migrated as a new
user would, `buildcache init --from <its workflow>` as a process in a git checkout of its files,
then `buildcache plan --offline --json` for each event of the workflow with the variables and
event file a runner gives; the tags, platforms and build args of the plan compared with what the
workflow publishes today (expected.json, by scripts/corpus-expected.py: the real metadata-action,
the shell steps in bash, never buildcache).

An event is equal when the plan names the same tags (full references) and each tag has the
workflow's platforms and the build args the workflow passes (those it could know: a secret's
value is a placeholder). What fails today is in known_failures.json (scripts/corpus-results.py
writes it and RESULTS.md): those cases are xfail(strict=True), so a fix that makes one equal
fails here until its entry goes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CORPUS = Path(__file__).parents[2] / "data/workflows"
KNOWN_FAILURES: dict[str, str] = json.loads((CORPUS / "known_failures.json").read_text())
PLACEHOLDER = re.compile(r"(secrets|vars)-[a-z0-9-]+|-unknown\b")


def projects() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir() if (p / "expected.json").is_file())


def expected_of(project: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CORPUS / project / "expected.json").read_text())
    return data


def _clean_env() -> dict[str, str]:
    """This process's environment without anything a CI, buildcache or git would read."""
    dropped = ("GITHUB_", "GITLAB_", "CI_", "BUILDCACHE_", "DOCKER_METADATA_", "GIT_", "RUNNER_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped) and k != "CI"}
    return env | {"NO_COLOR": "1", "COLUMNS": "200"}


def _git(repo: Path, pinned: str, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        env=_clean_env() | {"GIT_AUTHOR_DATE": pinned, "GIT_COMMITTER_DATE": pinned},
        check=True,
        capture_output=True,
    )


def checkout(project: str, into: Path) -> Path:
    """The project's files as a runner's checkout: one commit on its default branch."""
    expected = expected_of(project)
    repo = into / project
    shutil.copytree(
        CORPUS / project, repo, ignore=shutil.ignore_patterns("expected.json", "SOURCE")
    )
    _git(repo, expected["pinned_time"], "init", "-q", "-b", expected["default_branch"])
    # actions/checkout leaves the repository's URL as origin: where init reads github.repository
    url = f"https://github.com/{expected['repository']}"
    _git(repo, expected["pinned_time"], "remote", "add", "origin", url)
    _git(repo, expected["pinned_time"], "add", "-A")
    _git(repo, expected["pinned_time"], "commit", "-q", "-m", "checkout")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True)
    # the commit the expected tags were computed at (sha-... tags, steps that ask git)
    assert head.stdout.strip() == expected["sha"], f"{project}: run scripts/corpus-expected.py"
    return repo


def given_images(expected: dict[str, Any]) -> list[str]:
    """Where a secret or a variable names an image, `init` cannot know it: it is given every
    image of the workflow with --image, as a user would (one per registry). Else none."""
    images: set[str] = set()
    for event in expected["events"].values():
        for image in event["published"]:
            images |= {tag.rsplit(":", 1)[0] for tag in image["tags"]}
    return sorted(images) if any(PLACEHOLDER.match(i) for i in images) else []


# ---- comparing ---------------------------------------------------------------------------------


def normal_ref(ref: str) -> str:
    """A tag as the registry names it: docker.io/library/ spelled out, the repository lowercase."""
    name, _, tag = ref.rpartition(":") if ":" in ref.split("/")[-1] else (ref, "", "latest")
    parts = name.lower().split("/")
    if len(parts) == 1:
        parts = ["docker.io", "library", *parts]
    elif "." not in parts[0] and ":" not in parts[0] and parts[0] != "localhost":
        parts = ["docker.io", *parts]
    return "/".join(parts) + ":" + tag


def normal_platform(platform: str) -> str:
    platform = platform.strip().lower()
    return {"linux/arm64/v8": "linux/arm64", "linux/arm/7": "linux/arm/v7"}.get(platform, platform)


@dataclass(frozen=True)
class Image:
    platforms: tuple[str, ...]
    build_args: dict[str, str] = field(hash=False)


def expected_images(event: dict[str, Any]) -> dict[str, Image]:
    """Each tag the workflow names in the event: its platforms and the build args it passes."""
    found: dict[str, Image] = {}
    for image in event["published"]:
        platforms = tuple(sorted({normal_platform(p) for p in image["platforms"]}))
        for tag in image["tags"]:
            found[normal_ref(tag)] = Image(platforms, image["build_args"])
    return found


def planned_images(plan: dict[str, Any]) -> dict[str, list[Image]]:
    found: dict[str, list[Image]] = {}
    for variant in plan["variants"]:
        platforms = tuple(sorted({normal_platform(p) for p in variant["platforms"]}))
        for tag in variant["tags"]:
            found.setdefault(normal_ref(tag), []).append(Image(platforms, variant["build_args"]))
    return found


def differences(expected: dict[str, Image], planned: dict[str, list[Image]]) -> list[str]:
    """What the plan does otherwise than the workflow, in short sentences."""
    found = []
    missing = sorted(set(expected) - set(planned))
    extra = sorted(set(planned) - set(expected))
    if missing:
        found.append(f"tags missing: {', '.join(missing)}")
    if extra:
        found.append(f"tags not in the workflow: {', '.join(extra)}")
    for tag in sorted(set(expected) & set(planned)):
        images = planned[tag]
        if len(images) > 1:
            found.append(f"{tag} planned by {len(images)} variants")
        want, got = expected[tag], images[0]
        if want.platforms != got.platforms:
            found.append(
                f"{tag} platforms {','.join(got.platforms)}, not {','.join(want.platforms)}"
            )
        for name, value in want.build_args.items():
            if PLACEHOLDER.search(value):
                continue
            if got.build_args.get(name) != value:
                found.append(f"{tag} build arg {name}={got.build_args.get(name)!r}, not {value!r}")
    return found


# ---- running -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    kind: str  # "equal", "different", "plan failed", "init failed"
    detail: str = ""
    exit_code: int = 0

    @property
    def silent(self) -> bool:
        """Exit 0 with tags other than the workflow's: the failure nobody sees."""
        return self.kind == "different" and self.exit_code == 0


@dataclass
class ProjectRun:
    init_code: int
    init_error: str
    outcomes: dict[str, Outcome]


def _last_error(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    if errors:
        return errors[-1].removeprefix("error: ")
    lines = [line for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _buildcache(
    repo: Path, args: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "buildcache", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def plan_event(repo: Path, name: str, event: dict[str, Any], pinned: str) -> Outcome:
    """`plan --offline --json` for the event, in a copy of the checkout (a tag event's copy
    carries the tag, as a runner's checkout does)."""
    copy = shutil.copytree(repo, repo.parent / f"{repo.name}@{name}")
    if event["env"]["GITHUB_REF"].startswith("refs/tags/"):
        _git(copy, pinned, "tag", "-a", "-m", "release", event["env"]["GITHUB_REF_NAME"])
    event_file = copy.parent / f"{copy.name}.event.json"
    event_file.write_text(json.dumps(event["payload"]))
    env = _clean_env() | event["env"] | {"GITHUB_EVENT_PATH": str(event_file)}
    done = _buildcache(copy, ["plan", "--offline", "--json"], env)
    if done.returncode != 0:
        error = _last_error(done.stderr).replace(str(copy), "<checkout>")
        return Outcome("plan failed", f"exit {done.returncode}: {error}", done.returncode)
    found = differences(expected_images(event), planned_images(json.loads(done.stdout)))
    return Outcome("different", "; ".join(found)) if found else Outcome("equal")


def run_project(project: str, into: Path) -> ProjectRun:
    expected = expected_of(project)
    repo = checkout(project, into)
    images = [arg for image in given_images(expected) for arg in ("--image", image)]
    init = _buildcache(repo, ["init", "--from", expected["workflow"], *images], _clean_env())
    if init.returncode != 0:
        failed = Outcome("init failed", _last_error(init.stderr), init.returncode)
        return ProjectRun(init.returncode, failed.detail, dict.fromkeys(expected["events"], failed))
    outcomes = {
        name: plan_event(repo, name, event, expected["pinned_time"])
        for name, event in expected["events"].items()
    }
    return ProjectRun(0, "", outcomes)


def run_corpus(into: Path, names: list[str] | None = None) -> dict[str, ProjectRun]:
    """The projects (all by default) side by side, each its own processes."""
    chosen = projects() if names is None else names
    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 2) * 2) as pool:
        runs = pool.map(lambda p: run_project(p, into), chosen)
        return dict(zip(chosen, runs, strict=True))


# ---- the tests ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, ProjectRun]:
    """The projects of the tests selected (`-k` runs only theirs)."""
    keys = [
        item.callspec.params["key"]
        for item in request.session.items
        if item.module is sys.modules[__name__] and hasattr(item, "callspec")
    ]
    names = sorted({key.split("/")[0] for key in keys})
    return run_corpus(tmp_path_factory.mktemp("corpus"), names)


def _marked(key: str) -> Any:
    reason = KNOWN_FAILURES.get(key)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(key, marks=marks, id=key)


INIT_CASES = [_marked(f"{p}/init") for p in projects()]
EVENT_CASES = [_marked(f"{p}/{e}") for p in projects() for e in expected_of(p)["events"]]


def test_the_corpus_holds_at_least_twenty_real_workflows_with_their_sources() -> None:
    assert len(projects()) >= 20
    for project in projects():
        source = (CORPUS / project / "SOURCE").read_text()
        assert re.search(r"^commit: [0-9a-f]{40}$", source, re.MULTILINE), project
        assert (CORPUS / project / expected_of(project)["workflow"]).is_file()


@pytest.mark.parametrize("key", INIT_CASES)
def test_init_from_the_workflow_exits_0(key: str, corpus: dict[str, ProjectRun]) -> None:
    run = corpus[key.split("/")[0]]
    assert run.init_code == 0, run.init_error


@pytest.mark.parametrize("key", EVENT_CASES)
def test_the_plan_of_each_event_is_what_the_workflow_publishes(
    key: str, corpus: dict[str, ProjectRun]
) -> None:
    project, event = key.split("/")
    outcome = corpus[project].outcomes[event]
    assert outcome.kind == "equal", f"{outcome.kind}: {outcome.detail}"


def test_the_comparison_sees_a_missing_tag_a_platform_and_a_build_arg() -> None:
    """The measuring stick itself: each kind of difference is found, placeholders are not."""
    event = {
        "published": [
            {
                "tags": ["acme/app:1.2.3", "ghcr.io/acme/app:1.2"],
                "platforms": ["linux/amd64", "linux/arm64/v8"],
                "build_args": {"VERSION": "1.2.3", "TOKEN": "secrets-token"},
            }
        ]
    }
    variant = {
        "tags": ["docker.io/acme/app:1.2.3"],
        "platforms": ["linux/amd64"],
        "build_args": {"VERSION": "dev"},
    }
    found = differences(expected_images(event), planned_images({"variants": [variant]}))
    assert found == [
        "tags missing: ghcr.io/acme/app:1.2",
        "docker.io/acme/app:1.2.3 platforms linux/amd64, not linux/amd64,linux/arm64",
        "docker.io/acme/app:1.2.3 build arg VERSION='dev', not '1.2.3'",
    ]
    variant |= {"platforms": ["linux/arm64", "linux/amd64"], "build_args": {"VERSION": "1.2.3"}}
    variant["tags"] = ["acme/app:1.2.3", "ghcr.io/acme/app:1.2"]
    assert differences(expected_images(event), planned_images({"variants": [variant]})) == []
