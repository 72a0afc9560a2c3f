"""Bounded memory at any size (#37): what buildcache's process holds while bytes pass through it.

  12. a 2 GB layer copied between two registries (registry/copy.py, the path of a release resumed
      on a registry that lacks it and of merge): buildcache's process, beside
      `docker buildx imagetools create` copying the same image;
  13. a 1 GB blob where a cache's record should be, read by `buildcache plan` (nothing plain
      docker does reads a record).

Each runs on two registries of its own (`registry:2` on loopback ports, removed after), whose
blobs are pushed here with a streamed upload (random bytes: no registry or proxy can shrink
them). The figure is the peak RSS of the measured process (`wait4`: the process and the children
it waited for, the largest of them), with its wall time; the goal is under 100 MB.

Usage: python -m bench --only memory   (or python -m bench.memory copy SOURCE TARGET, the
buildcache side of 12 alone)
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from bench.harness import OURS, PLAIN, Project, Run, Scenario, measure

LAYER_BYTES = 2 << 30
RECORD_BYTES = 1 << 30
PIECE = 4 << 20
RSS_GOAL_MB = 100
RECORD_TYPE = "application/vnd.buildcache.record.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@contextmanager
def _registry() -> Iterator[str]:
    """A registry:2 of this run's own on a free loopback port; removed after."""
    name = f"buildcache-bench-memory-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["docker", "run", "-d", "--rm", "--name", name, "-p", "127.0.0.1::5000", "registry:2"],
        check=True,
        capture_output=True,
    )
    try:
        port = subprocess.run(
            ["docker", "port", name, "5000/tcp"], check=True, capture_output=True, text=True
        ).stdout.split()[0]
        host = "127.0.0.1:" + port.rsplit(":", 1)[1]
        for _ in range(50):
            try:
                if httpx.get(f"http://{host}/v2/").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield host
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def _push_blob(host: str, repo: str, size: int) -> str:
    """`size` random bytes as a blob of `repo`, streamed (POST, one PATCH, PUT ?digest=)."""
    digest = hashlib.sha256()

    def pieces() -> Iterator[bytes]:
        left = size
        while left:
            piece = os.urandom(min(PIECE, left))
            digest.update(piece)
            left -= len(piece)
            yield piece

    with httpx.Client(base_url=f"http://{host}", timeout=600) as client:
        location = client.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]
        location = client.patch(location, content=pieces()).headers["Location"]
        done = client.put(_with_digest(location, "sha256:" + digest.hexdigest()))
        done.raise_for_status()
    return "sha256:" + digest.hexdigest()


def _with_digest(location: str, digest: str) -> httpx.URL:
    """The upload's location (its own query kept: the registry's state) with `?digest=`."""
    return httpx.URL(location).copy_merge_params({"digest": digest})


def _put(host: str, repo: str, tag: str, body: dict[str, object]) -> None:
    response = httpx.put(
        f"http://{host}/v2/{repo}/manifests/{tag}",
        content=json.dumps(body).encode(),
        headers={"Content-Type": MANIFEST},
    )
    response.raise_for_status()


def _image(host: str, repo: str, tag: str, layer_bytes: int) -> None:
    """An image of one `layer_bytes` layer under `repo:tag`."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {}}).encode()
    with httpx.Client(base_url=f"http://{host}") as client:
        location = client.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]
        config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
        client.put(_with_digest(location, config_digest), content=config).raise_for_status()
    layer = _push_blob(host, repo, layer_bytes)
    _put(
        host,
        repo,
        tag,
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer,
                    "size": layer_bytes,
                }
            ],
        },
    )


def _peak(command: list[str], cwd: Path) -> Run:
    """Wall time and the peak RSS of the process (the largest of it and its children)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
        raise SystemExit(f"failed: {' '.join(command)}\n{stderr[-3000:]}")
    return Run(
        seconds=seconds, cpu_seconds=usage.ru_utime + usage.ru_stime, rss_mb=usage.ru_maxrss / 1024
    )


def layer_copy(runs: int, _deps: int) -> Scenario:
    scenario = Scenario(
        "12. a 2 GB layer copied between registries",
        note=f"peak RSS of the copying process; goal < {RSS_GOAL_MB} MB",
    )
    with ExitStack() as stack:
        source, target = stack.enter_context(_registry()), stack.enter_context(_registry())
        _image(source, "bench/big", "1", LAYER_BYTES)
        for n in range(runs):
            ours = _peak(
                [
                    sys.executable,
                    "-m",
                    "bench.memory",
                    "copy",
                    f"{source}/bench/big:1",
                    f"{target}/bench/ours-{n}",
                ],
                Path.cwd(),
            )
            scenario.add(OURS, ours)
            plain = _peak(
                [
                    "docker",
                    "buildx",
                    "imagetools",
                    "create",
                    "--tag",
                    f"{target}/bench/plain-{n}:1",
                    f"{source}/bench/big:1",
                ],
                Path.cwd(),
            )
            scenario.add(PLAIN, plain)
            print(
                f"  {scenario.name}: run {n + 1}: buildcache {ours.rss_mb:.0f} MB "
                f"{ours.seconds:.1f}s, imagetools {plain.rss_mb:.0f} MB "
                f"{plain.seconds:.1f}s",
                file=sys.stderr,
            )
    plain_peak = max(r.rss_mb or 0.0 for r in scenario.runs[PLAIN])
    scenario.note += f"; {_verdict(scenario)}; imagetools create peak {plain_peak:.0f} MB"
    return scenario


def record_read(runs: int, deps: int) -> Scenario:
    scenario = Scenario(
        "13. a 1 GB blob where a record should be (plan)",
        note=f"peak RSS of buildcache plan; goal < {RSS_GOAL_MB} MB",
    )
    with ExitStack() as stack:
        first, second = stack.enter_context(_registry()), stack.enter_context(_registry())
        project = stack.enter_context(Project(deps, registries=(first, second)))
        cache = f"{project.name}-cache"
        empty = _push_blob(first, cache, 0)
        blob = _push_blob(first, cache, RECORD_BYTES)
        for variant in project.variants:
            _put(
                first,
                cache,
                f"buildcache-{variant}.record",
                {
                    "schemaVersion": 2,
                    "mediaType": MANIFEST,
                    "artifactType": RECORD_TYPE,
                    "config": {
                        "mediaType": "application/vnd.oci.empty.v1+json",
                        "size": 0,
                        "digest": empty,
                    },
                    "layers": [{"mediaType": RECORD_TYPE, "digest": blob, "size": RECORD_BYTES}],
                },
            )
        for n in range(runs):
            run, stdout, stderr = measure(("buildcache", "plan"), project.dir)
            if "could not be read" not in stderr + stdout:
                scenario.note += "; the record was not refused?"
            run.rss_mb = run.python_rss_mb
            scenario.add(OURS, run)
            print(
                f"  {scenario.name}: run {n + 1}: {run.rss_mb:.0f} MB {run.seconds:.1f}s",
                file=sys.stderr,
            )
    scenario.note += "; " + _verdict(scenario)
    return scenario


def _verdict(scenario: Scenario) -> str:
    peak = max(r.rss_mb or 0.0 for r in scenario.runs[OURS])
    met = "met" if peak < RSS_GOAL_MB else "NOT met"
    return f"buildcache peak {peak:.0f} MB: {met} (< {RSS_GOAL_MB} MB)"


def _copy(source: str, target: str) -> None:
    """The buildcache side of 12: registry/copy.copy_image of SOURCE's image into TARGET."""
    from buildcache.core.reference import ImageRef
    from buildcache.registry.client import RegistryClient
    from buildcache.registry.copy import copy_image

    origin, into = ImageRef.parse(source), ImageRef.parse(target)
    with RegistryClient(origin.registry) as src, RegistryClient(into.registry) as dst:
        digest = src.digest(origin.repository, origin.tag or "latest")
        assert digest is not None, f"{source} is not there"
        copy_image(src, origin.repository, digest, dst, into.repository)
        assert dst.digest(into.repository, digest) == digest


if __name__ == "__main__" and sys.argv[1:2] == ["copy"]:
    _copy(sys.argv[2], sys.argv[3])
