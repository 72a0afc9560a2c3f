"""`buildcache build` on the real engine and the compose registries: the main job end to end."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from python_on_whales import DockerClient

from tests.integration.conftest import (
    Project,
    fresh_runner,
    image_platforms,
    manifest,
    registry_get,
)

BOTH = {"linux/amd64", "linux/arm64"}
OCI = "org.opencontainers.image."


def _steps_by_kind(data: dict, variant: str) -> dict:
    return next(v for v in data["variants"] if v["name"] == variant)["cache"]


def test_two_variants_two_platforms_pushed_to_two_registries_then_reused_on_a_fresh_runner(
    project: Project, docker: DockerClient
) -> None:
    ghcr, hub = project.registries.ghcr, project.registries.hub
    result, data = project.run_json("build", "--push", "--version", "1.0.0")
    assert result.returncode == 0, result.stderr

    # every tag of both variants on both registries, each with both platforms
    expected = {"1.0.0", "latest", "1.0.0-full", "full"}
    for registry in (ghcr, hub):
        for tag in expected:
            assert image_platforms(f"{registry}/{project.name}:{tag}") == BOTH, tag
    pushed = {t for v in data["variants"] for t in v["pushed"]}
    assert pushed == {f"{r}/{project.name}:{t}" for r in (ghcr, hub) for t in expected}
    # the same digest on both registries, and the one buildx reported
    for variant in data["variants"]:
        digests = {manifest(t)["_digest"] for t in variant["tags"]}
        assert digests == {variant["digest"]}
    # OCI labels in every platform's config and annotations on every index and manifest, with
    # one created time for the whole run (every variant, every platform)
    created = set()
    for tag in ("1.0.0", "1.0.0-full"):
        index = manifest(f"{ghcr}/{project.name}:{tag}")
        assert index is not None
        assert index["annotations"][OCI + "version"] == "1.0.0"
        created.add(index["annotations"][OCI + "created"])
        for entry in index["manifests"]:
            if entry["platform"]["os"] == "unknown":
                continue  # the attestation
            own = registry_get(ghcr, f"{project.name}/manifests/{entry['digest']}").json()
            created.add(own["annotations"][OCI + "created"])
            config = registry_get(ghcr, f"{project.name}/blobs/{own['config']['digest']}").json()
            labels = config["config"]["Labels"]
            assert labels[OCI + "version"] == "1.0.0"
            created.add(labels[OCI + "created"])
    assert len(created) == 1, created
    # one cache tag per variant, in the cache image, reported as written
    for name in ("slim", "full"):
        assert manifest(f"{ghcr}/{project.name}-cache:buildcache-{name}") is not None
        cache = _steps_by_kind(data, name)
        assert cache["exported"] == {
            "ref": f"{ghcr}/{project.name}-cache:buildcache-{name}",
            "status": "written",
            "reason": None,
        }
        assert cache["imported"][0]["status"] == "missing"  # the first build: normal
    assert "warning" not in result.stderr

    # a new release on a fresh runner after a source-only change
    version_file = project.path / "example" / "src" / "VERSION"
    version_file.write_text(version_file.read_text() + "and a change\n")
    with fresh_runner() as host:
        result, data = project.run_json(
            "build", "--push", "--version", "1.0.1", env={"DOCKER_HOST": host}
        )
    assert result.returncode == 0, result.stderr
    for name in ("slim", "full"):
        cache = _steps_by_kind(data, name)
        assert cache["imported"][0]["status"] == "found"
        # only the source install ran, on each platform; every dependency step came from the cache
        # (the base is pinned by digest, a named context: no FROM step; a FROM step, where
        # there is one, fetches the base again on a fresh runner, which is not a cache miss)
        executed = [s for s in cache["executed_steps"] if " FROM " not in s["name"]]
        assert sorted(s["platform"] for s in executed) == sorted(BOTH), (name, cache, result.stderr)
        assert all("install.sh /opt/app" in s["name"] for s in executed), executed
        assert cache["steps"]["total"] == 8  # four steps on two platforms
        assert cache["first_executed_step"].endswith(
            "RUN --mount=type=bind,source=example/src,target=/src sh /src/install.sh /opt/app"
        )
        assert cache["steps"]["cached"] + cache["steps"]["executed"] == 8
    for registry in (ghcr, hub):
        assert image_platforms(f"{registry}/{project.name}:1.0.1-full") == BOTH


def test_an_unreachable_cache_registry_does_not_fail_the_build(project: Project) -> None:
    # Port 9 (discard) on loopback: nothing listens, every cache write is refused.
    project.write_config(
        (project.path / "buildcache.toml")
        .read_text()
        .replace(
            f'image = "{project.registries.ghcr}/{project.name}-cache"',
            f'image = "127.0.0.1:9/{project.name}-cache"',
        )
    )
    result, data = project.run_json("build", "full", "--push", "--version", "2.0.0", "--no-latest")
    assert result.returncode == 0, result.stderr
    assert image_platforms(f"{project.registries.hub}/{project.name}:2.0.0-full") == BOTH
    cache = data["variants"][0]["cache"]
    assert cache["exported"]["status"] == "failed"
    assert cache["exported"]["reason"]
    assert cache["imported"][0]["status"] == "failed"
    assert "the cache was not saved" in result.stderr
    # --no-latest kept the moving tag out
    assert manifest(f"{project.registries.ghcr}/{project.name}:full") is None


def test_a_failing_step_exits_1_and_names_the_step(project: Project) -> None:
    dockerfile = project.path / "Dockerfile.example"
    dockerfile.write_text(
        dockerfile.read_text().replace(
            'sh /opt/deps/install.sh "$VARIANT"', "sh -c 'echo broken >&2; exit 3'"
        )
    )
    result = project.run(
        "build", "slim", "--platform", "linux/amd64", "--version", "3.0.0", "--progress", "plain"
    )
    assert result.returncode == 1
    assert "the build failed at slim linux/amd64" in result.stderr
    assert "broken" in result.stderr  # the failing step's log tail
    assert "Traceback" not in result.stderr


def test_load_puts_a_single_platform_image_in_the_local_store(
    project: Project, docker: DockerClient
) -> None:
    result = project.run(
        "build", "slim", "--load", "--platform", "linux/arm64", "--version", "4.0.0", "--no-latest"
    )
    assert result.returncode == 0, result.stderr
    image = docker.image.inspect(f"{project.registries.ghcr}/{project.name}:4.0.0")
    assert image.architecture == "arm64"


def test_output_writes_the_image_as_files_where_dest_says_as_buildx_does(
    project: Project,
) -> None:
    """build-push-action's outputs type=local|tar|oci: the image's files in a folder, the same
    in a tar, an OCI layout archive; nothing pushed, no tag written."""
    import json
    import tarfile

    common = ("build", "slim", "--platform", "linux/amd64", "--version", "4.1.0", "--no-latest")
    for output in ("type=local,dest=out", "type=tar,dest=fs.tar", "type=oci,dest=oci.tar"):
        result = project.run(*common, "--output", output)
        assert result.returncode == 0, (output, result.stderr)
    assert (project.path / "out" / "opt" / "app" / "run.sh").is_file()
    with tarfile.open(project.path / "fs.tar") as archive:
        assert "opt/app/run.sh" in archive.getnames()
    with tarfile.open(project.path / "oci.tar") as archive:
        assert "oci-layout" in archive.getnames()
        index = archive.extractfile("index.json")
        assert index is not None
        assert json.load(index)["manifests"]
    assert manifest(f"{project.registries.ghcr}/{project.name}:4.1.0") is None


def _own_tmp(project: Project) -> Path:
    folder = project.path / "tmp"
    folder.mkdir(exist_ok=True)
    return folder


def _slow_build(project: Project, variant: str) -> subprocess.Popen[str]:
    """`buildcache build` of one variant, in its own session, once it is in a slow step."""
    # a length of its own: a step this engine never finished, whatever ran on it before
    seconds = str(600 + secrets.randbelow(100_000))
    config = project.path / "buildcache.toml"
    config.write_text(
        config.read_text().replace('DEPS_SECONDS = "1"', f'DEPS_SECONDS = "{seconds}"')
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUILDCACHE_", "GITHUB_"))}
    command = ["build", variant, "--platform", "linux/amd64", "--version", "1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "buildcache", *command, "--progress", "plain"],
        cwd=project.path,
        # a temporary folder of its own: what it leaves there is its own, whatever else runs
        env={**env, "NO_COLOR": "1", "TMPDIR": str(_own_tmp(project))},
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # in the slow dependency step now: its process runs (the engine's containers are processes
    # of this machine); waiting on that, not on a guess of how long the steps before it take
    step = ["sh", "/opt/deps/install.sh", "common", seconds]
    _wait_for_process(process, "\0".join(step).encode(), within=300)
    return process


def _wait_for_process(build: subprocess.Popen[str], command_line: bytes, *, within: float) -> None:
    """Until a process of this machine runs `command_line` (buildcache's build still running)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if build.poll() is not None:
            _, err = build.communicate()
            raise AssertionError(f"the build ended ({build.returncode}) first: {err}")
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if cmdline.read_bytes().startswith(command_line):
                    return
            except OSError:
                continue  # the process ended while it was read
        time.sleep(0.05)  # a poll of /proc, not a wait for the step to be reached
    raise AssertionError(f"no process {command_line!r} within {within:.0f} s")


def test_ctrl_c_stops_the_build_and_exits_130(project: Project, docker: DockerClient) -> None:
    process = _slow_build(project, "slim")
    # a terminal's Ctrl-C reaches the whole process group: buildcache and the docker it runs
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err
    assert manifest(f"{project.registries.ghcr}/{project.name}:1") is None


def test_sigterm_to_buildcache_alone_stops_bake_too_and_exits_143(project: Project) -> None:
    """What `timeout` and a cancelled CI job do: signal buildcache, not the process group."""
    process = _slow_build(project, "full")
    bakes = _bakes_of(process.pid)
    assert bakes, "no docker buildx bake under buildcache"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert "interrupted (SIGTERM)" in err
    assert "Traceback" not in err
    for pid in bakes:
        assert not Path(f"/proc/{pid}").exists(), f"bake {pid} is still running"
    assert not list(_own_tmp(project).glob("buildcache-*"))  # its bake file gone


def _bakes_of(parent: int) -> list[int]:
    """The processes whose parent is `parent` and whose command line runs buildx bake."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and "bake" in command:
            found.append(int(entry.name))
    return found


def test_a_reproducible_release_built_again_has_the_same_digest(project: Project) -> None:
    """build.reproducible: SOURCE_DATE_EPOCH from the commit, so a rebuild from the cache (here
    --force, which replaces a published version) makes byte-identical images; without it, the
    image's own times differ and so does the digest."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for command in (["init", "-q"], ["add", "."], ["commit", "-qm", "release"]):
        subprocess.run([*git, *command], cwd=project.path, check=True, capture_output=True)
    config = project.path / "buildcache.toml"
    plain = config.read_text()
    args = ("build", "full", "--push", "--platform", "linux/amd64", "--provenance", "off")
    digests: dict[bool, list[str]] = {}
    for reproducible in (True, False):
        extra = "\n[build]\nreproducible = true\n" if reproducible else ""
        config.write_text(plain + extra)
        version = "8.0.0" if reproducible else "8.1.0"
        for _ in range(2):
            result, data = project.run_json(*args, "--version", version, "--force")
            assert result.returncode == 0, result.stderr
            digests.setdefault(reproducible, []).append(data["variants"][0]["digest"])
            time.sleep(1.1)  # the image's times have a resolution of a second
    assert digests[True][0] == digests[True][1]
    assert digests[False][0] != digests[False][1]
    commit_time = subprocess.run(
        ["git", "log", "-1", "--format=%ct"], cwd=project.path, capture_output=True, text=True
    ).stdout.strip()
    index = manifest(f"{project.registries.ghcr}/{project.name}:8.0.0-full")
    assert index is not None
    created = index.get("annotations", {}).get(OCI + "created")
    assert created == datetime.fromtimestamp(int(commit_time), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
