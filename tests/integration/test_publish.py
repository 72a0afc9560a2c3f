"""Publishing that survives faults, builds spread over two engines, the doctor and the builder."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest
from python_on_whales import DockerClient

from tests.github_output import read_outputs
from tests.integration.conftest import (
    Project,
    free_port,
    fresh_runner,
    image_labels,
    image_platforms,
    manifest,
    own_registry,
    registry_get,
    second_daemon,
)
from tests.integration.faultproxy import fault_proxy

BOTH = {"linux/amd64", "linux/arm64"}


def _with_images(project: Project, images: list[str], extra: str = "") -> None:
    config = project.path / "buildcache.toml"
    text = config.read_text()
    first_line = text.splitlines()[0]
    config.write_text(text.replace(first_line, f"images = {json.dumps(images)}") + f"\n{extra}")


def test_a_registry_down_from_the_start_stops_the_push_before_the_bake_then_back_completes(
    project: Project,
) -> None:
    registries = project.registries
    ghcr, spare = f"{registries.ghcr}/{project.name}", f"{registries.spare}/{project.name}"
    _with_images(project, [ghcr, spare], "[publish]\nretries = 1\nbackoff = 0.2\n")
    registries.stop("spare")
    try:
        result = project.run("build", "--push", "--version", "1.0.0", "--progress", "plain")
    finally:
        registries.start("spare")
    assert result.returncode == 1
    # a registry that is down is not a missing password, nor a bad moment to bake again for
    assert f"error: {registries.spare} is unreachable (connection refused)" in result.stderr
    assert "nothing was built or pushed" in result.stderr
    assert "docker login" not in result.stderr
    assert "baking again" not in result.stderr
    assert "Traceback" not in result.stderr
    # nothing was baked: the reachable registry never heard of the image, nor of its cache
    for repository in (project.name, f"{project.name}-cache"):
        assert registry_get(registries.ghcr, f"{repository}/tags/list").status_code == 404

    # the registry is back: the same command builds and publishes everywhere
    result, data = project.run_json("build", "--push", "--version", "1.0.0")
    assert result.returncode == 0, result.stderr
    for variant in data["variants"]:
        assert {r["status"] for r in variant["publish"]} == {"done"}
        digests = {manifest(t)["_digest"] for t in variant["tags"]}
        assert digests == {variant["digest"]}  # byte-identical on every registry, every tag
    assert image_platforms(f"{spare}:latest") == BOTH
    assert image_platforms(f"{spare}:full") == BOTH


def test_a_push_to_a_registry_that_needs_a_login_and_has_none_stops_before_the_bake(
    project: Project, tmp_path: Path
) -> None:
    registries = project.registries
    private = registries.private
    _with_images(project, [f"{registries.ghcr}/{project.name}", f"{private}/{project.name}"])
    docker_config = tmp_path / "docker-config"  # no docker login of the machine's
    docker_config.mkdir()
    result = project.run(
        "build", "slim", "--push", "--version", "1.0.0", env={"DOCKER_CONFIG": str(docker_config)}
    )
    assert result.returncode == 1
    assert f"error: {private} needs a login to push and the docker config has none" in result.stderr
    assert f"docker login {private}" in result.stderr
    assert "unreachable" not in result.stderr
    assert "Traceback" not in result.stderr
    for repository in (project.name, f"{project.name}-cache"):
        assert registry_get(registries.ghcr, f"{repository}/tags/list").status_code == 404


def test_503_and_429_are_retried_until_the_publish_succeeds(project: Project) -> None:
    registries = project.registries
    # buildcache's tag writes meet the faults (the engine's push goes through untouched)
    with fault_proxy(registries.hub, [503, 429] * 2, agent="buildcache") as (address, proxy):
        flaky = f"{address}/{project.name}"
        _with_images(
            project,
            [f"{registries.ghcr}/{project.name}", flaky],
            "[publish]\nretries = 5\nbackoff = 0.2\n",
        )
        result, data = project.run_json(
            "build", "full", "--push", "--version", "2.0.0", "--platform", "linux/amd64"
        )
        faults = [a for a in proxy.answered if a[2] in (429, 503)]
    assert result.returncode == 0, result.stderr
    assert [f[2] for f in faults] == [503, 429] * 2  # every fault was met
    assert result.stderr.count("retry:") >= 1, "\n".join(
        f"{m} {p[-60:]} {c}" for m, p, c in proxy.answered if "manifests" in p
    )
    publish = data["variants"][0]["publish"]
    assert {r["status"] for r in publish} == {"done"}
    assert max(r["attempts"] for r in publish) >= 2
    digest = data["variants"][0]["digest"]
    assert manifest(f"{registries.hub}/{project.name}:2.0.0-full")["_digest"] == digest
    assert manifest(f"{registries.hub}/{project.name}:full")["_digest"] == digest


def test_a_429_s_retry_after_is_the_wait_before_the_next_try(project: Project) -> None:
    """A registry under load asks for 4 s (the policy's backoff would be 0.05 s): the next try
    waits that long, and the retry line says the registry asked for it."""
    registries = project.registries
    with fault_proxy(registries.hub, [429], agent="buildcache") as (address, proxy):
        proxy.retry_after = "4"
        _with_images(
            project,
            [f"{registries.ghcr}/{project.name}", f"{address}/{project.name}"],
            "[publish]\nretries = 3\nbackoff = 0.05\n",
        )
        result, data = project.run_json(
            "build", "full", "--push", "--version", "2.1.0", "--platform", "linux/amd64"
        )
        met = [(method, path) for method, path, fault in proxy.answered if fault == 429]
    assert result.returncode == 0, result.stderr
    assert len(met) == 1, proxy.answered
    said = " ".join(result.stderr.split())
    assert "trying again in 4.0s, as the registry asked (Retry-After: 4s)" in said, said
    assert {r["status"] for r in data["variants"][0]["publish"]} == {"done"}


def test_sigterm_while_publishing_finishes_the_writes_under_way_and_a_rerun_completes(
    project: Project,
) -> None:
    registries = project.registries
    ghcr = f"{registries.ghcr}/{project.name}"
    with fault_proxy(registries.hub, [], delay=4.0, agent="buildcache") as (address, proxy):
        slow = f"{address}/{project.name}"
        _with_images(project, [ghcr, slow])
        process = project.start("build", "--push", "--version", "3.0.0", "--json")
        # both version tags' writes under way on the second registry (each held there 4 s)
        assert proxy.wait_held(2, timeout=300), f"version tag writes held: {proxy.held}"
        process.send_signal(signal.SIGTERM)  # buildcache alone, as `timeout` or a CI runner
        out, err = process.communicate(timeout=120)
        assert process.returncode == 143, err
        assert "Traceback" not in err
        assert "interrupted while publishing" in err
        assert "published" in err  # the table
        data = json.loads(out)
        publish = {(r["image"], r["tag"]): r for v in data["variants"] for r in v["publish"]}
        # the writes under way when the signal came were finished; nothing else was started
        assert (ghcr, "3.0.0") in publish, sorted(publish)
        for tag in ("3.0.0", "3.0.0-full"):
            assert publish[(ghcr, tag)]["status"] == "done"
            assert publish[(slow, tag)]["status"] == "done"  # under way: finished
            assert manifest(f"{registries.hub}/{project.name}:{tag}") is not None
        for image in (ghcr, slow):
            for tag in ("latest", "full"):
                assert publish[(image, tag)]["status"] == "skipped"
                assert "interrupted" in publish[(image, tag)]["reason"]
        assert manifest(f"{ghcr}:latest") is None

        proxy.delay = 0
        result, again = project.run_json("build", "--push", "--version", "3.0.0")
    assert result.returncode == 0, result.stderr
    for variant in again["variants"]:
        assert variant["status"]["state"] == "published before"
        first = next(v for v in data["variants"] if v["name"] == variant["name"])
        assert variant["digest"] == first["digest"]
    for tag in ("3.0.0", "latest", "3.0.0-full", "full"):
        digests = {
            manifest(f"{registry}/{project.name}:{tag}")["_digest"]
            for registry in (registries.ghcr, registries.hub)
        }
        assert len(digests) == 1, (tag, digests)


def test_sigterm_while_moving_tags_are_written_reports_what_the_registries_hold(
    project: Project,
) -> None:
    """SIGTERM once `latest`'s write has reached the second registry (held there 4 s): exit
    143, and every tag the JSON says is written is on its registry at this run's image, every
    other one is not there; the same command run again writes the rest."""
    registries = project.registries
    ghcr = f"{registries.ghcr}/{project.name}"
    latest = "/manifests/latest"
    with fault_proxy(registries.hub, [], when=latest, delay=4.0, agent="buildcache") as (
        address,
        proxy,
    ):
        slow = f"{address}/{project.name}"
        _with_images(project, [ghcr, slow])
        args = ("build", "--push", "--platform", "linux/amd64", "--version", "3.1.0")
        process = project.start(*args, "--json")
        assert proxy.seen.wait(timeout=300), "latest's write never reached the second registry"
        process.send_signal(signal.SIGTERM)  # the write of latest is under way
        out, err = process.communicate(timeout=120)
        assert process.returncode == 143, err
        assert "Traceback" not in err
        data = json.loads(out)
        digests = {v["name"]: v["digest"] for v in data["variants"]}
        results = [(v["name"], r) for v in data["variants"] for r in v["publish"]]
        assert results
        for name, result in results:
            image = result["image"].replace(address, registries.hub)
            held = manifest(f"{image}:{result['tag']}")
            where = (image, result["tag"], result["status"])
            if result["status"] == "done":
                assert held is not None, where
                assert held["_digest"] == digests[name], where
            else:
                assert held is None, where
                assert result["reason"] == "interrupted before it was written", where
        said = {(r["image"], r["tag"]): r["status"] for _, r in results}
        assert said[(slow, "latest")] == "done"  # under way when the signal came: finished

        proxy.delay = 0
        result, again = project.run_json(*args)
    assert result.returncode == 0, result.stderr
    for variant in again["variants"]:
        assert variant["digest"] == digests[variant["name"]]
        for tag in variant["tags"]:
            found = manifest(tag.replace(address, registries.hub))
            assert found is not None, tag
            assert found["_digest"] == variant["digest"], tag


def test_a_503_burst_during_the_bake_s_own_push_is_baked_again_and_no_step_runs_twice(
    project: Project,
) -> None:
    registries = project.registries
    # a source change: the first bake runs a step, which the bake after the failed push must not
    (project.path / "example" / "src" / "VERSION").write_text(f"{uuid.uuid4().hex}\n")
    # BuildKit tries a manifest PUT four times before its push fails: six 503s fail the first
    # bake's push, and the bake after it meets the last two and gets through
    with fault_proxy(registries.ghcr, [503] * 6) as (address, proxy):
        first = f"{address}/{project.name}"
        _with_images(
            project,
            [first, f"{registries.hub}/{project.name}"],
            "[publish]\nretries = 3\nbackoff = 0.2\n",
        )
        result, data = project.run_json(
            "build",
            "full",
            "--push",
            "--version",
            "6.0.0",
            "--platform",
            "linux/amd64",
            "--progress",
            "plain",
        )
        faults = [a for a in proxy.answered if a[2] == 503]
    assert result.returncode == 0, result.stderr
    assert len(faults) == 6
    before, retried, after = result.stderr.partition("baking again from the cache")
    assert retried, result.stderr
    ran = re.compile(r" \d+\.\d+s$")
    steps_before = [line for line in before.splitlines() if line.startswith("full linux/amd64 ")]
    steps_after = [line for line in after.splitlines() if line.startswith("full linux/amd64 ")]
    assert any(ran.search(line) for line in steps_before), before
    assert steps_after, after
    assert all(line.endswith("CACHED") for line in steps_after), after  # no step ran twice
    digest = data["variants"][0]["digest"]
    for registry in (registries.ghcr, registries.hub):
        for tag in ("6.0.0-full", "full"):
            assert manifest(f"{registry}/{project.name}:{tag}")["_digest"] == digest


def test_two_releases_started_at_once_agree_everywhere_and_latest_is_the_higher(
    project: Project,
) -> None:
    """Same cache refs, two versions, one moment: every tag resolves to one digest on every
    registry, and latest and the alias end on the higher release."""
    registries = project.registries
    (project.path / "example" / "src" / "VERSION").write_text(f"{uuid.uuid4().hex}\n")
    args = ("build", "--push", "--platform", "linux/amd64", "--json", "--version")
    runs = {version: project.start(*args, version) for version in ("7.0.0", "7.1.0")}
    ended = {version: process.communicate(timeout=600) for version, process in runs.items()}
    data = {}
    for version, (out, err) in ended.items():
        assert runs[version].returncode == 0, err
        data[version] = {v["name"]: v for v in json.loads(out)["variants"]}
    for version, variants in data.items():
        for variant in variants.values():
            suffix = "" if variant["name"] == "slim" else "-full"
            for registry in (registries.ghcr, registries.hub):
                ref = f"{registry}/{project.name}:{version}{suffix}"
                assert manifest(ref)["_digest"] == variant["digest"], ref
    for name, alias in (("slim", "latest"), ("full", "full")):
        higher = data["7.1.0"][name]["digest"]
        for registry in (registries.ghcr, registries.hub):
            assert manifest(f"{registry}/{project.name}:{alias}")["_digest"] == higher
    # what both wrote to the cache is a cache a new runner builds from
    with fresh_runner() as host:
        result, third = project.run_json(*args, "7.1.1", env={"DOCKER_HOST": host})
    assert result.returncode == 0, result.stderr
    for variant in third["variants"]:
        cache = variant["cache"]
        assert cache["imported"][0]["status"] == "found", cache
        assert not [s for s in cache["executed_steps"] if " FROM " not in s["name"]], cache


# A second registry that stops taking writes: each fault, how it shows in the publish table, and
# how it is put right before the same command runs again.
REFUSALS = {
    "answers 401 midway (a token that expired)": "401",
    "is read-only (maintenance mode)": "405 method not allowed",
    # what the registry says (no space left on device) is not in what buildx prints
    "is full (no space left on its disk)": "500 internal server error",
}


@pytest.mark.parametrize("fault", list(REFUSALS))
def test_a_second_registry_that_refuses_writes_fails_its_tags_and_a_rerun_completes(
    project: Project, docker: DockerClient, fault: str
) -> None:
    registries = project.registries
    ghcr = f"{registries.ghcr}/{project.name}"
    port = free_port()
    args = ("build", "full", "--push", "--version", "5.0.0", "--platform", "linux/amd64")
    with ExitStack() as broken:
        if fault.startswith("answers 401"):
            address, proxy = broken.enter_context(fault_proxy(registries.hub, [401] * 50))
        elif fault.startswith("is read-only"):
            readonly = {"REGISTRY_STORAGE_MAINTENANCE_READONLY": '{"enabled": true}'}
            address = broken.enter_context(own_registry(docker, port, env=readonly))
        else:
            address = broken.enter_context(own_registry(docker, port, disk="256k"))
        second = f"{address}/{project.name}"
        _with_images(project, [ghcr, second], "[publish]\nretries = 1\nbackoff = 0.2\n")
        result, data = project.run_json(*args)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        # the bake's push to the second registry failed: no tag on any registry (whether the
        # engine reported every step done before the push failed is BuildKit's timing)
        said = " ".join(result.stderr.split())
        assert "failed to push" in said
        assert "no tag was written on any registry" in said
        assert REFUSALS[fault] in result.stderr.lower(), result.stderr
        assert data["variants"][0]["publish"] == []
        for tag in ("5.0.0-full", "full"):
            assert manifest(f"{ghcr}:{tag}") is None
        assert "run the same command again" in result.stderr
        if fault.startswith("answers 401"):
            proxy.faults.clear()  # logged in again
            result, again = project.run_json(*args)
    if not fault.startswith("answers 401"):  # the registry back in order, on the same address
        with own_registry(docker, port) as address:
            result, again = project.run_json(*args)
            digests = {
                manifest(f"{address}/{project.name}:{t}")["_digest"] for t in ("5.0.0-full", "full")
            }
    else:
        digests = {
            manifest(f"{registries.hub}/{project.name}:{t}")["_digest"]
            for t in ("5.0.0-full", "full")
        }
    assert result.returncode == 0, result.stderr
    variant = again["variants"][0]
    assert (
        variant["cache"]["steps"]["cached"] == variant["cache"]["steps"]["total"]
    )  # no step ran again
    assert digests == {variant["digest"]}
    assert manifest(f"{ghcr}:full")["_digest"] == variant["digest"]


def test_an_index_put_that_fails_on_latest_leaves_latest_on_its_old_digest(
    project: Project,
) -> None:
    """The reproduction of imagetools' half-written tag: every write passes but the PUT of
    `latest` on the second registry. `latest` there stays on the release before, never on a
    platform manifest or an attestation; the same command completes it."""
    registries = project.registries
    args = ("build", "--push", "--platform", "linux/amd64", "--version")
    with fault_proxy(registries.hub, [], when="/manifests/latest", agent="buildcache") as (
        address,
        proxy,
    ):
        images = [f"{registries.ghcr}/{project.name}", f"{address}/{project.name}"]
        _with_images(project, images, "[publish]\nretries = 2\nbackoff = 0.1\n")
        result, before = project.run_json(*args, "8.0.0")
        assert result.returncode == 0, result.stderr
        old = before["variants"][0]["digest"]
        proxy.faults = [503] * 3  # every try of latest's PUT
        result, data = project.run_json(*args, "8.1.0")
        assert result.returncode == 1, result.stderr
        latest = {(r["image"], r["tag"]): r["status"] for r in data["variants"][0]["publish"]}
        assert latest[(images[1], "latest")] == "failed"
        assert manifest(f"{registries.hub}/{project.name}:latest")["_digest"] == old
        assert "run the same command again" in result.stderr
        result, again = project.run_json(*args, "8.1.0")
    assert result.returncode == 0, result.stderr
    new = data["variants"][0]["digest"]
    assert again["variants"][0]["digest"] == new  # published before: the same image
    for registry in (registries.ghcr, registries.hub):
        assert manifest(f"{registry}/{project.name}:latest")["_digest"] == new


RULES = '"type=semver,pattern={{version}}", "type=semver,pattern={{major}}.{{minor}}"'
ONE_PLATFORM_RELEASE = ("build", "--push", "--platform", "linux/amd64", "--version")


def _releases_by_rules(
    project: Project, versions: list[str], flavor: str = ""
) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The project tagged by metadata-action's rules (and flavor), each version released in
    turn: its images, and each version's digest per variant."""
    registries = project.registries
    images = [f"{registries.ghcr}/{project.name}", f"{registries.hub}/{project.name}"]
    _with_images(project, images, f"[tags]\nrules = [{RULES}]\nflavor = [{flavor}]\n")
    digests = {}
    for version in versions:
        result, data = project.run_json(*ONE_PLATFORM_RELEASE, version)
        assert result.returncode == 0, result.stderr
        digests[version] = {v["name"]: v["digest"] for v in data["variants"]}
    return images, digests


def _assert_tags(images: list[str], on: dict[str, str]) -> None:
    for image in images:
        found = {tag: manifest(f"{image}:{tag}")["_digest"] for tag in on}
        assert found == on, image


def test_with_metadata_action_rules_an_older_release_run_again_replaces_nothing(
    project: Project,
) -> None:
    """A release with metadata-action's rules, run again after a newer one: it is published
    already, so its image is not built again; its own tags stay on it and its series' tags
    (1.2, 1.2-full) on the newer release, on every registry."""
    images, digests = _releases_by_rules(project, ["v1.2.0", "v1.2.1"])
    result, again = project.run_json(*ONE_PLATFORM_RELEASE, "v1.2.0")
    assert result.returncode == 0, result.stderr
    assert "is published already" in result.stderr
    # its last line says nothing was built, and its tags were written again over its image
    assert "built nothing, 2 published before, wrote " in result.stderr
    assert {v["name"]: v["status"]["state"] for v in again["variants"]} == {
        "slim": "published before",
        "full": "published before",
    }
    old, new = digests["v1.2.0"], digests["v1.2.1"]
    _assert_tags(
        images,
        {"1.2.0": old["slim"], "1.2.0-full": old["full"], "1.2": new["slim"]}
        | {"1.2-full": new["full"], "latest": new["slim"], "full": new["full"]},
    )


def test_an_older_release_with_a_flavor_suffix_moves_no_tag_of_a_higher_one(
    project: Project,
) -> None:
    """metadata-action's `flavor: suffix=-alpine`: every tag but latest ends in -alpine, so a
    release is 1.2.1-alpine. An older release published after it writes its own tags and
    leaves latest, the series' tag and the variants' moving tags on the higher one."""
    images, digests = _releases_by_rules(project, ["v1.2.1", "v1.2.0"], '"suffix=-alpine"')
    old, new = digests["v1.2.0"], digests["v1.2.1"]
    _assert_tags(
        images,
        {"1.2.0-alpine": old["slim"], "1.2.0-alpine-full": old["full"]}
        | {"1.2.1-alpine": new["slim"], "1.2-alpine": new["slim"], "1.2-alpine-full": new["full"]}
        | {"latest": new["slim"], "full": new["full"]},
    )


def test_force_republishes_a_release_cleanly_on_every_registry(project: Project) -> None:
    args = ("build", "--push", "--version", "9.0.0")
    result, first = project.run_json(*args)
    assert result.returncode == 0, result.stderr
    (project.path / "example" / "src" / "VERSION").write_text(f"{uuid.uuid4().hex}\n")
    result, again = project.run_json(*args, "--force")
    assert result.returncode == 0, result.stderr
    for variant in again["variants"]:
        old = next(v for v in first["variants"] if v["name"] == variant["name"])
        assert variant["digest"] != old["digest"]
        for tag in variant["tags"]:
            found = manifest(tag)
            assert found["_digest"] == variant["digest"], tag
            assert found["mediaType"].endswith("index.v1+json"), tag  # never a child manifest
        assert image_platforms(variant["tags"][-1]) == BOTH


def test_two_engines_build_a_platform_each_and_merge_one_index(
    project: Project, docker: DockerClient, tmp_path: Path
) -> None:
    registries = project.registries
    _with_images(project, [f"{registries.ghcr}/{project.name}", f"{registries.hub}/{project.name}"])
    with fresh_runner() as host:
        amd64 = project.run(
            "build",
            "--platform",
            "linux/amd64",
            "--push-by-digest",
            "--version",
            "3.0.0",
            "--json",
            env={"DOCKER_HOST": host},
        )
    assert amd64.returncode == 0, amd64.stderr
    with second_daemon("fan") as host:
        arm64 = project.run(
            "build",
            "--platform",
            "linux/arm64",
            "--push-by-digest",
            "--version",
            "3.0.0",
            "--json",
            env={"DOCKER_HOST": host},
        )
    assert arm64.returncode == 0, arm64.stderr
    (tmp_path / "amd64.json").write_text(amd64.stdout)
    (tmp_path / "arm64.json").write_text(arm64.stdout)
    # each runner wrote a cache ref of its own, and no tag
    cache = f"{registries.ghcr}/{project.name}-cache"
    for platform in ("linux-amd64", "linux-arm64"):
        assert manifest(f"{cache}:buildcache-slim-{platform}") is not None
    assert manifest(f"{registries.ghcr}/{project.name}:3.0.0") is None

    # results that are not what they say: refused before anything is written
    def tags_now() -> list[object]:
        return [
            registry_get(r, f"{project.name}/tags/list").json()
            for r in (registries.ghcr, registries.hub)
        ]

    before = tags_now()
    relabelled = json.loads(amd64.stdout)
    for variant in relabelled["variants"]:
        variant["platforms"] = ["linux/arm64"]
    (tmp_path / "relabelled.json").write_text(json.dumps(relabelled))
    foreign = amd64.stdout.replace(project.name, f"{project.name}-other")
    (tmp_path / "foreign.json").write_text(foreign)
    (tmp_path / "list.json").write_text(json.dumps([json.loads(amd64.stdout)]))
    # slim's and full's images swapped in one runner's result (its tags stay each variant's)
    swapped = json.loads(arm64.stdout)
    refs = [v["digest_ref"] for v in swapped["variants"]]
    for variant, ref in zip(swapped["variants"], reversed(refs), strict=True):
        variant["digest_ref"] = ref
    (tmp_path / "swapped.json").write_text(json.dumps(swapped))
    for bad, words in (
        ("swapped", "the result says slim, but the image for linux/arm64 was built as full"),
        ("relabelled", "the result names linux/arm64, but the image is linux/amd64"),
        ("foreign", "not an image of this project's config"),
        ("list", "is not the JSON of `buildcache build --json`"),
    ):
        refused = project.run("merge", str(tmp_path / "amd64.json"), str(tmp_path / f"{bad}.json"))
        assert refused.returncode == 2, (bad, refused.stderr)
        assert words in " ".join(refused.stderr.split()), (bad, refused.stderr)
        assert "Traceback" not in refused.stderr
    assert tags_now() == before

    outputs = tmp_path / "github-output"
    result, data = project.run_json(
        "merge",
        str(tmp_path / "amd64.json"),
        str(tmp_path / "arm64.json"),
        env={"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs)},
    )
    assert result.returncode == 0, result.stderr
    # the action's outputs after a merge: each variant's index, as after a build
    written = read_outputs(outputs.read_text())
    index = manifest(f"{registries.ghcr}/{project.name}:3.0.0")["_digest"]
    assert json.loads(written["digests"])["slim"] == written["digest"] == index
    assert (
        f"{registries.hub}/{project.name}:3.0.0-full" in json.loads(written["variant-tags"])["full"]
    )
    assert {v["name"]: sorted(v["platforms"]) for v in data["variants"]} == {
        "slim": sorted(BOTH),
        "full": sorted(BOTH),
    }
    for registry in (registries.ghcr, registries.hub):
        for tag in ("3.0.0", "latest", "3.0.0-full", "full"):
            assert image_platforms(f"{registry}/{project.name}:{tag}") == BOTH, (registry, tag)
    for tag in ("3.0.0", "3.0.0-full"):
        assert (
            manifest(f"{registries.ghcr}/{project.name}:{tag}")["_digest"]
            == manifest(f"{registries.hub}/{project.name}:{tag}")["_digest"]
        )

    mixed = project.run("merge", str(tmp_path / "amd64.json"), str(tmp_path / "amd64.json"))
    assert mixed.returncode == 2
    assert "is in two results" in mixed.stderr

    # the same release merged again (a re-run, or fresh runners' results): published before,
    # kept without --force on every registry, as build --push keeps it
    published = {
        (registry, tag): manifest(f"{registry}/{project.name}:{tag}")["_digest"]
        for registry in (registries.ghcr, registries.hub)
        for tag in ("3.0.0", "latest", "3.0.0-full", "full")
    }
    result, again = project.run_json(
        "merge", str(tmp_path / "amd64.json"), str(tmp_path / "arm64.json")
    )
    assert result.returncode == 0, result.stderr
    assert "is published already" in result.stderr
    assert {r["status"] for v in again["variants"] for r in v["publish"]} == {"kept"}
    assert published == {
        (registry, tag): manifest(f"{registry}/{project.name}:{tag}")["_digest"]
        for registry in (registries.ghcr, registries.hub)
        for tag in ("3.0.0", "latest", "3.0.0-full", "full")
    }


def test_doctor_on_the_test_engine_is_healthy(project: Project) -> None:
    result, data = project.run_json("doctor")
    assert result.returncode == 0, result.stderr
    checks = {c["name"]: c for c in data["checks"]}
    assert data["healthy"] is True
    assert checks["builder"]["status"] == "ok"
    assert checks["cache export"]["status"] == "ok"
    assert "can export a registry cache" in checks["cache export"]["detail"]
    assert checks["platform linux/arm64"]["status"] == "ok"
    assert checks["config"]["status"] == "ok"
    assert {c["status"] for c in data["checks"]} <= {"ok", "warn"}


def test_doctor_on_a_plain_engine_says_it_cannot_export_a_cache(project: Project) -> None:
    with second_daemon("plain", classic_store=True) as host:
        result, data = project.run_json("doctor", env={"DOCKER_HOST": host})
        build = project.run(
            "build", "slim", "--version", "1", "--cache", "rw", env={"DOCKER_HOST": host}
        )
    assert result.returncode == 1
    checks = {c["name"]: c for c in data["checks"]}
    assert checks["builder"]["status"] == "ok"
    assert checks["cache export"]["status"] == "fail"
    assert "cannot export a registry cache" in checks["cache export"]["detail"]
    assert "buildcache builder up" in checks["cache export"]["fix"]
    assert build.returncode == 3
    assert "cannot export a registry cache" in " ".join(build.stderr.split())
    assert "Traceback" not in build.stderr


def test_builder_up_offline_names_the_buildkit_image_it_cannot_get(
    project: Project, docker: DockerClient
) -> None:
    config = project.path / "buildcache.toml"
    config.write_text(
        config.read_text() + '\n[builder]\nname = "bc-offline"\ndriver = "docker-container"\n'
    )
    result = project.run("builder", "up")
    assert result.returncode == 3, result.stderr
    assert "moby/buildkit:buildx-stable-1" in result.stderr
    assert "docker load" in result.stderr
    assert "it was removed again" in result.stderr or "nothing was left behind" in result.stderr
    assert not any(b.name == "bc-offline" for b in docker.buildx.list())
    down = project.run("builder", "down")
    assert down.returncode == 0
    assert "nothing to remove" in down.stderr


def test_an_older_release_after_a_newer_one_leaves_latest_on_the_newer(project: Project) -> None:
    """What two releases published out of order (a hotfix, or a race) must not do: move latest
    back. Each tag is then read back on every registry."""
    config = project.path / "buildcache.toml"
    config.write_text(config.read_text().replace("[cache]", "[tags]\nsemver = true\n\n[cache]"))
    newer, newer_data = project.run_json("build", "--push", "--version", "1.3.0")
    assert newer.returncode == 0, newer.stderr
    older, older_data = project.run_json("build", "--push", "--version", "1.2.4")
    assert older.returncode == 0, older.stderr
    registries = project.registries
    for variant, alias in (("slim", "latest"), ("full", "full")):
        new = next(v for v in newer_data["variants"] if v["name"] == variant)["digest"]
        old = next(v for v in older_data["variants"] if v["name"] == variant)
        kept = [r for r in old["publish"] if r["tag"] == alias]
        assert {r["status"] for r in kept} == {"kept"}, kept
        for registry in (registries.ghcr, registries.hub):
            assert manifest(f"{registry}/{project.name}:{alias}")["_digest"] == new
            suffix = "" if variant == "slim" else "-full"
            assert manifest(f"{registry}/{project.name}:1.2.4{suffix}")["_digest"] == old["digest"]
    assert "kept" in older.stderr
    # the semver tags follow the same rule: 1 stays on 1.3.0, 1.2 moves to 1.2.4
    slim_new = newer_data["variants"][0]["digest"]
    slim_old = older_data["variants"][0]["digest"]
    for registry in (registries.ghcr, registries.hub):
        assert manifest(f"{registry}/{project.name}:1")["_digest"] == slim_new
        assert manifest(f"{registry}/{project.name}:1.2")["_digest"] == slim_old


def test_a_version_that_is_not_a_release_is_built_again_after_a_new_commit_and_moves(
    project: Project,
) -> None:
    """The README's test image (--version test --no-latest): after a new commit, the run builds
    it again and moves test and test-full to the new images on every registry; it is not
    'published already' (only a release is published once), and latest and full never move."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for command in (["init", "-q"], ["add", "."], ["commit", "-qm", "first"]):
        subprocess.run([*git, *command], cwd=project.path, check=True, capture_output=True)
    args = ("build", "--push", "--platform", "linux/amd64", "--version", "test", "--no-latest")
    result, first = project.run_json(*args)
    assert result.returncode == 0, result.stderr
    (project.path / "example" / "src" / "VERSION").write_text(f"{uuid.uuid4().hex}\n")
    subprocess.run([*git, "commit", "-qam", "second"], cwd=project.path, check=True)
    result, again = project.run_json(*args)
    assert result.returncode == 0, result.stderr
    assert "published already" not in result.stderr
    assert "built 2 variant(s), pushed 4 tag(s)" in result.stderr  # test, test-full on each
    registries = project.registries
    for variant, tag in (("slim", "test"), ("full", "test-full")):
        old = next(v for v in first["variants"] if v["name"] == variant)["digest"]
        new = next(v for v in again["variants"] if v["name"] == variant)
        assert new["status"]["state"] == "built"
        assert new["digest"] != old
        for registry in (registries.ghcr, registries.hub):
            assert manifest(f"{registry}/{project.name}:{tag}")["_digest"] == new["digest"]
    for registry in (registries.ghcr, registries.hub):
        assert manifest(f"{registry}/{project.name}:latest") is None
        assert manifest(f"{registry}/{project.name}:full") is None


# Pairs of runs started together on one engine, per kind: a few in CI, 20 for the long mode
# (`BUILDCACHE_PAIRS=20 make ...`, as the issue asks).
PAIRS = int(os.environ.get("BUILDCACHE_PAIRS", "2"))
VERSION_LABEL = "org.opencontainers.image.version"
# each kind: the two runs' --version (a release, or a branch's name: not a release, no moving tag)
CONCURRENT = {
    "two releases": ("{n}.{i}.0", "{n}.{i}.1"),
    "a release and a branch build": ("{n}.{i}.0", "feature-{i}"),
    "two branch builds": ("feature-{i}a", "feature-{i}b"),
}


def _own_tags(version: str) -> dict[str, str]:
    """A run's own version tags, per variant."""
    return {"slim": version, "full": f"{version}-full"}


def _versions_under(image: str, tag: str) -> set[str]:
    """The versions the image under `tag` says it was built from (each platform's config)."""
    return {labels.get(VERSION_LABEL, "") for labels in image_labels(f"{image}:{tag}").values()}


@pytest.mark.parametrize("kind", list(CONCURRENT))
def test_runs_started_together_on_one_engine_each_publish_their_own_image(
    project: Project, kind: str
) -> None:
    """Two runs of one project at one moment on one engine (a self-hosted runner, two
    terminals), PAIRS times: each of its tags holds the image that run built, read from the
    image's own version label on every registry, never from buildcache's JSON. A run that
    cannot be sure of its image exits 1 with none of its tags written."""
    registries = project.registries
    images = [f"{registries.ghcr}/{project.name}", f"{registries.hub}/{project.name}"]
    n = 1 + list(CONCURRENT).index(kind)
    refused = 0
    for i in range(1, PAIRS + 1):
        versions = [v.format(n=n, i=i) for v in CONCURRENT[kind]]
        runs = {}
        for version in versions:
            extra = () if version[0].isdigit() else ("--no-latest",)
            args = ("build", "--push", "--platform", "linux/amd64", "--version", version)
            runs[version] = project.start(*args, *extra)
        ended = {version: process.communicate(timeout=600) for version, process in runs.items()}
        for version, (_, err) in ended.items():
            code = runs[version].returncode
            assert code in (0, 1), (kind, i, version, err)
            for image in images:
                for tag in _own_tags(version).values():
                    if code == 0:
                        assert _versions_under(image, tag) == {version}, (kind, i, image, tag)
                    else:
                        assert manifest(f"{image}:{tag}") is None, (kind, i, image, tag, err)
            refused += code != 0
        releases = sorted(v for v in versions if v[0].isdigit() and runs[v].returncode == 0)
        if releases:  # the moving tags on the higher release that published
            for image in images:
                assert _versions_under(image, "latest") == {releases[-1]}, (kind, i, image)
                assert _versions_under(image, "full") == {releases[-1]}, (kind, i, image)
    print(f"{kind}: {PAIRS} pairs, {refused} run(s) refused with nothing tagged")
    # and each run took its own staging names off the engine's image store
    listed = subprocess.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not [n for n in listed if project.name in n and n.endswith("-image")], listed
    # each run's names are its own: none has a reason to give way (with one staging name per
    # variant, the read-back refused 3 of 6 and 4 of 6 runs here, and tagged none wrongly)
    assert refused == 0


def _action_step(step_id: str, given: dict[str, str]) -> tuple[str, dict[str, str]]:
    """One step of action.yml: its script, and its environment as the runner sets it from the
    action's inputs (each one's default where `given` leaves it out)."""
    import yaml

    from tests.conftest import ROOT

    action = yaml.safe_load((ROOT / "action.yml").read_text())
    step = next(s for s in action["runs"]["steps"] if s.get("id") == step_id)
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    inputs |= given
    env = {
        variable: inputs[value.removeprefix("${{ inputs.").removesuffix(" }}")]
        for variable, value in step["env"].items()
    }
    return step["run"], env


def _platforms_at(registry: str, repository: str, digest: str) -> set[str]:
    """The platforms of the image a digest names: an index's (its attestations aside), or a
    single manifest's, read from its config."""
    found = registry_get(registry, f"{repository}/manifests/{digest}")
    assert found.status_code == 200, (digest, found.status_code)
    data = found.json()
    if "manifests" in data:
        return {
            f"{m['platform']['os']}/{m['platform']['architecture']}"
            for m in data["manifests"]
            if m.get("platform", {}).get("os") not in (None, "unknown")
        }
    config = registry_get(registry, f"{repository}/blobs/{data['config']['digest']}").json()
    return {f"{config['os']}/{config['architecture']}"}


def test_two_runners_push_by_digest_through_the_action_and_merge_one_index(
    project: Project, tmp_path: Path
) -> None:
    """docker's per-platform runner recipe through the action's own Build step (its inputs as
    the runner sets them, its outputs to GITHUB_OUTPUT), one engine per platform, then the
    action's Merge step: one index of both platforms, each runner's `digest` its own image.
    (The action read push-by-digest as a tagged push: amd64 plus unknown/unknown, both exit 0,
    and the second runner's digest the first's.)"""
    import sys

    registries = project.registries
    _with_images(project, [f"{registries.ghcr}/{project.name}", f"{registries.hub}/{project.name}"])
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    (bin_folder / "buildcache").write_text(f'#!/bin/sh\nexec {sys.executable} -m buildcache "$@"\n')
    (bin_folder / "buildcache").chmod(0o755)
    github = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REF": "refs/tags/v3.1.0",
        "GITHUB_REF_TYPE": "tag",
        "GITHUB_REF_NAME": "v3.1.0",
        "GITHUB_REPOSITORY": "acme/widget",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "42",
    }

    def run_step(step: str, given: dict[str, str], host: str | None, output: Path) -> str:
        script, env = _action_step(step, given)
        output.write_text("")
        env |= github | {"GITHUB_OUTPUT": str(output), **({"DOCKER_HOST": host} if host else {})}
        env = project.environment(env)
        env["PATH"] = f"{bin_folder}:{env['PATH']}"
        done = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", script],
            cwd=project.path,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return output.read_text()

    legs: dict[str, dict[str, str]] = {}
    recipe = "type=image,push-by-digest=true,name-canonical=true,push=true"
    for platform, runner in (("linux/amd64", fresh_runner), ("linux/arm64", None)):
        slug = platform.replace("/", "-")
        given = {"variants": "slim", "platforms": platform, "outputs": recipe}
        context = runner() if runner else second_daemon("act")
        with context as host:
            legs[platform] = read_outputs(run_step("build", given, host, tmp_path / slug))
        (tmp_path / f"{slug}.json").write_text(legs[platform]["result"])

    # no tag anywhere yet; each runner's cache ref its own
    listed = registry_get(registries.ghcr, f"{project.name}/tags/list").json().get("tags")
    assert all(t.startswith("buildcache-") for t in listed or []), listed  # staging tags alone
    for slug in ("linux-amd64", "linux-arm64"):
        assert manifest(f"{registries.ghcr}/{project.name}-cache:buildcache-slim-{slug}")
    # each runner's digest output is its own image, of its own platform
    digests = {platform: outputs["digest"] for platform, outputs in legs.items()}
    assert len(set(digests.values())) == 2, digests
    for platform, digest in digests.items():
        result = json.loads(legs[platform]["result"])
        assert result["variants"][0]["digest"] == digest
        assert _platforms_at(registries.ghcr, project.name, digest) == {platform}

    args = f"{tmp_path / 'linux-amd64.json'} {tmp_path / 'linux-arm64.json'}"
    merged = read_outputs(
        run_step("merge", {"command": "merge", "args": args}, None, tmp_path / "m")
    )
    tags = merged["tags"].splitlines()
    assert {t.rsplit(":", 1)[1] for t in tags} == {"v3.1.0", "latest"}, tags
    assert {t.split("/", 1)[0] for t in tags} == {registries.ghcr, registries.hub}
    for tag in tags:
        assert image_platforms(tag) == BOTH, tag
    index = manifest(tags[0])
    assert index is not None
    assert merged["digest"] == index["_digest"]


def test_rules_in_the_issue_s_order_publish_the_whole_release_and_label_its_version(
    project: Project,
) -> None:
    """`{{major}}`, `{{major}}.{{minor}}`, `{{major}}.{{minor}}.{{patch}}` in that order (#36):
    a real build --push of v1.2.3 publishes 1, 1.2, 1.2.3 and latest on every registry (it
    published 1 and 1.2.3, keeping 1.2 and latest "on 1.2.3, a higher release than 1"), and
    its version is 1.2.3, never 1."""
    registries = project.registries
    images = [f"{registries.ghcr}/{project.name}", f"{registries.hub}/{project.name}"]
    rules = (
        '"type=semver,pattern={{major}}", "type=semver,pattern={{major}}.{{minor}}", '
        '"type=semver,pattern={{major}}.{{minor}}.{{patch}}"'
    )
    _with_images(project, images, f"[tags]\nrules = [{rules}]\n")
    result, data = project.run_json(*ONE_PLATFORM_RELEASE, "v1.2.3")
    assert result.returncode == 0, result.stderr
    assert "kept" not in result.stderr
    slim = next(v for v in data["variants"] if v["name"] == "slim")
    _assert_tags(images, dict.fromkeys(("1", "1.2", "1.2.3", "latest"), slim["digest"]))
    assert data["version"] == "1.2.3"
