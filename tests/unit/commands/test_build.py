from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from buildcache.commands import build
from buildcache.commands.bake import bake_all
from buildcache.errors import BuildFailed
from tests.unit.commands.conftest import CONFIG, Run
from tests.unit.commands.test_bake import (
    NO_WAIT,
    Outcome,
    StandInBake,
    _console,
    _ran,
    _step,
    _two_variants,
)
from tests.unit.conftest import DockerCalls


def test_build_hands_one_bake_file_with_every_variant_to_buildx_bake(
    repo: Path, cli: Run, docker_calls: DockerCalls
) -> None:
    code, out, err = cli("build", "--version", "1.0", "--progress", "plain", "--json")
    assert code == 0, err
    [bake] = [c for c in docker_calls.calls if c["args"][:2] == ["buildx", "bake"]]
    assert "--progress" in bake["args"]
    assert "rawjson" in bake["args"]
    [text] = bake["files"].values()
    definition = json.loads(text)
    assert definition["group"]["default"]["targets"] == ["slim", "full"]
    # without --push nothing is exported and the cache is read, not written
    assert definition["target"]["full"]["output"] == ["type=cacheonly"]
    assert definition["target"]["full"]["cache-from"] == [
        "type=registry,ref=ghcr.io/acme/widget:buildcache-full"
    ]
    assert definition["target"]["full"]["cache-to"] == []
    data = json.loads(out)
    assert data["ok"] is True
    assert "built 2 variant(s)" in err


def test_load_without_a_platform_builds_the_hosts_and_names_the_image(
    repo: Path, cli: Run, docker_calls: DockerCalls
) -> None:
    from buildcache.cli.build import host_platform

    code, _, err = cli("build", "--version", "1.0", "--load", "--progress", "plain")
    assert code == 0, err
    [bake] = [c for c in docker_calls.calls if c["args"][:2] == ["buildx", "bake"]]
    [text] = bake["files"].values()
    assert json.loads(text)["target"]["slim"]["platforms"] == [host_platform()]
    assert f"loaded ghcr.io/acme/widget:1.0 ({host_platform()}) into the local image store" in err


@pytest.mark.parametrize(("progress", "grouped"), [("plain", True), ("quiet", False)])
def test_quiet_progress_prints_no_step_groups_in_ci(
    repo: Path,
    cli: Run,
    docker_calls: DockerCalls,
    monkeypatch: pytest.MonkeyPatch,
    progress: str,
    grouped: bool,
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, _, err = cli("build", "--version", "1.0", "--progress", progress)
    assert code == 0, err
    assert ("slim: no step of it ran or came from the cache" in err) is grouped
    assert "built 2 variant(s)" in err  # the summary either way


def test_a_bake_that_fails_before_any_step_asks_the_engine_why(
    repo: Path, cli: Run, docker_calls: DockerCalls
) -> None:
    docker_calls.answer("buildx bake", stderr="ERROR: something broke\n", code=1)
    docker_calls.answer("system info", stderr="Cannot connect to the Docker daemon\n", code=1)
    code, _, err = cli("build", "--version", "1.0", "--progress", "plain")
    assert code == 3, err
    assert "daemon: cannot reach it" in err
    assert "Cannot connect to the Docker daemon" in err
    assert "hint: start it" in err


def test_a_raw_log_in_a_missing_folder_is_a_usage_error(repo: Path, cli: Run) -> None:
    code, _, err = cli("build", "--version", "1", "--raw-log", "nowhere/raw.json")
    assert code == 2
    assert "the folder nowhere does not exist" in err
    assert "Traceback" not in err


def test_an_export_of_several_variants_to_one_dest_is_refused(repo: Path, cli: Run) -> None:
    """Two variants' files in one folder would overwrite each other: name the variant."""
    code, out, err = cli("build", "-V", "1", "--dry-run", "--output", "type=local,dest=out")
    assert code == 2
    assert "--output type=local writes one variant's files to" in err
    assert "buildcache build slim --output" in err
    code, out, err = cli("build", "slim", "-V", "1", "--dry-run", "-o", "type=local,dest=out")
    assert code == 0, err
    assert f'"type=local,dest={repo / "out"}"' in out


def test_dry_run_lists_the_tag_writes_and_runs_nothing(repo: Path, cli: Run) -> None:
    code, out, _ = cli("build", "--push", "--version", "1", "--dry-run")
    assert code == 0
    puts = [line for line in out.splitlines() if line.startswith("PUT ")]
    # every registry gets the version tags first, then every registry its moving tag
    assert puts[:2] == [
        "PUT ghcr.io/acme/widget:1 <- <digest of slim>",
        "PUT docker.io/acme/widget:1 <- <digest of slim>",
    ]
    assert puts.index("PUT ghcr.io/acme/widget:latest <- <digest of slim>") > puts.index(
        "PUT docker.io/acme/widget:1-full <- <digest of full>"
    )
    assert "imagetools" not in out


def test_a_pull_request_that_pushes_says_why_its_cache_is_not_written(
    repo: Path, cli: Run, docker_calls: DockerCalls, monkeypatch
) -> None:
    """Not "not pushing" while it pushes: the cache policy's own reason."""
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_HEAD_REF": "x"}
    env |= {"GITHUB_REF": "refs/pull/7/merge", "GITHUB_BASE_REF": "main", "GITHUB_SHA": "a" * 40}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, err = cli("build", "--progress", "plain", "--json")
    assert code == 0, err
    exported = json.loads(out)["variants"][0]["cache"]["exported"]
    assert exported["status"] == "skipped"
    assert exported["reason"].startswith("a pull request reads the cache and does not write it")
    assert "not pushing" not in err


def test_a_registry_that_refused_the_credentials_is_named_in_the_hint_with_the_login() -> None:
    from buildcache.commands.build import _publish_hint
    from buildcache.core.publish.writes import TagResult
    from buildcache.core.reference import ImageRef

    ghcr, hub = ImageRef.parse("ghcr.io/a/w"), ImageRef.parse("docker.io/a/w")
    refused = [
        TagResult("slim", ghcr, "1.0", "done", None, 1),
        TagResult("slim", hub, "1.0", "failed", "docker.io refused: 401 unauthorized", 1),
    ]
    hint = _publish_hint(refused)
    assert hint.startswith("docker.io refused the credentials: log in")
    assert "docker login docker.io" in hint
    flaky = [TagResult("slim", hub, "1.0", "failed", "503 Service Unavailable", 4)]
    assert _publish_hint(flaky).startswith("run the same command again")


def test_a_run_below_min_cache_hit_fails_naming_each_variant() -> None:
    bake = StandInBake(
        [Outcome([_step("slim", 1), _step("slim", 2), _step("full", 1, error=None)])]
    )
    plan = _two_variants()
    baked = bake_all(bake, plan, NO_WAIT, _console()[0])  # type: ignore[arg-type]
    result = baked.result(plan, baked.reports(plan), [], None, {})
    build._raise_failure(result, 0.5)  # every step came from the cache
    # full's step 1 is slim's (same number, same count): BuildKit ran it once, for both
    uncached = StandInBake([Outcome([_step("slim", 1, error=None), *_ran("slim"), *_ran("full")])])
    baked = bake_all(uncached, plan, NO_WAIT, _console()[0])  # type: ignore[arg-type]
    result = baked.result(plan, baked.reports(plan), [], None, {})
    with pytest.raises(
        BuildFailed,
        match=r"too few steps came from the cache: slim 1/2 \(50%\); full 1/2 \(50%\), below --min-cache-hit 0.75",
    ):
        build._raise_failure(result, 0.75)


PULL_REQUEST = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request"}
PULL_REQUEST |= {"GITHUB_REF": "refs/pull/7/merge", "GITHUB_HEAD_REF": "x"}
PULL_REQUEST |= {"GITHUB_BASE_REF": "main", "GITHUB_SHA": "a" * 40}


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("build", "--push", "--progress", "plain"), "building without pushing"),
        (("build", "--progress", "plain", "--json"), "nothing would be pushed"),
        (("plan",), "nothing would be pushed"),
        (("plan", "--json"), "nothing would be pushed"),
    ],
)
def test_a_pull_request_no_rule_tags_builds_pushes_nothing_and_exits_0(
    repo: Path, docker_calls: DockerCalls, args: tuple[str, ...], said: str
) -> None:
    """As metadata-action (no tag) and build-push-action (push: false on a pull request) do;
    run as a process, as CI runs it."""
    (repo / "buildcache.toml").write_text(
        CONFIG.replace("[variants.slim]", '[tags]\nrules = ["type=semver,pattern={{version}}"]\n\n'
                       "[variants.slim]")
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "buildcache", *args],
        cwd=repo,
        env={**os.environ, **PULL_REQUEST},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    line = f"no rule of tags.rules gives the pull request a tag: {said}"
    if args == ("plan", "--json"):  # plan's JSON carries its notes
        assert line in json.loads(done.stdout)["notes"]
    else:
        said_lines = [n for n in done.stderr.splitlines() if "no rule of tags.rules" in n]
        assert said_lines == [f"note: {line}"]
    bakes = [c for c in docker_calls.calls if c["args"][:2] == ["buildx", "bake"]]
    for bake in bakes:  # built (a check of the Dockerfile), exported nowhere
        [text] = bake["files"].values()
        assert {str(t["output"]) for t in json.loads(text)["target"].values()} == {
            "['type=cacheonly']"
        }
    assert len(bakes) == (args[0] == "build")
    if "--json" in args:  # the JSON on stdout, whole
        assert json.loads(done.stdout)["variants"][0]["tags"] == []
