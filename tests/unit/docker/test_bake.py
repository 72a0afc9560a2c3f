"""`docker buildx bake` as a process: every line handed on in order (none kept), the host and
builder given, a failure named, and no python-on-whales on the way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from buildcache.buildkit.metadata import TargetMetadata
from buildcache.docker.bake import read_metadata, run_bake
from buildcache.docker.engine import Docker
from buildcache.errors import BuildFailed
from tests.unit.conftest import DockerCalls

LINES = 20_000


def _rawjson(n: int) -> str:
    return json.dumps({"logs": [{"vertex": "sha256:a", "data": f"bGluZSB7{n}"}]})


def test_every_line_reaches_on_line_in_order(docker_calls: DockerCalls, tmp_path: Path) -> None:
    docker_calls.answer("buildx bake", stderr="".join(_rawjson(n) + "\n" for n in range(LINES)))
    seen: list[str] = []
    run_bake(
        Docker(),
        bake_file=tmp_path / "docker-bake.json",
        metadata_file=tmp_path / "metadata.json",
        on_line=seen.append,
    )
    assert len(seen) == LINES
    assert seen[0] == _rawjson(0) + "\n"
    assert seen[-1] == _rawjson(LINES - 1) + "\n"
    args = docker_calls.calls[0]["args"]
    assert args[:2] == ["buildx", "bake"]
    assert "rawjson" in " ".join(args)


def test_the_host_and_the_builder_go_on_the_command(
    docker_calls: DockerCalls, tmp_path: Path
) -> None:
    run_bake(
        Docker("tcp://127.0.0.1:2376"),
        bake_file=tmp_path / "docker-bake.json",
        metadata_file=tmp_path / "metadata.json",
        on_line=lambda _: None,
        builder="bc-widget",
    )
    args = docker_calls.calls[0]["args"]
    assert args[:2] == ["--host", "tcp://127.0.0.1:2376"]
    assert args[args.index("bake") + 1 : args.index("bake") + 3] == ["--builder", "bc-widget"]


def test_a_failed_bake_raises_with_its_code(docker_calls: DockerCalls, tmp_path: Path) -> None:
    docker_calls.answer("buildx bake", stderr="ERROR: failed to solve\n", code=17)
    with pytest.raises(BuildFailed, match="exited with code 17"):
        run_bake(
            Docker(),
            bake_file=tmp_path / "docker-bake.json",
            metadata_file=tmp_path / "metadata.json",
            on_line=lambda _: None,
        )


def test_metadata_that_is_missing_or_broken_reads_as_empty(tmp_path: Path) -> None:
    assert read_metadata(tmp_path / "none.json") == {}
    (tmp_path / "broken.json").write_text("{")
    assert read_metadata(tmp_path / "broken.json") == {}
    (tmp_path / "good.json").write_text(
        '{"slim": {"containerimage.digest": "sha256:1"}, "buildx.build.ref": "b/b/x"}'
    )
    assert read_metadata(tmp_path / "good.json") == {
        "slim": TargetMetadata(digest="sha256:1", entry={"containerimage.digest": "sha256:1"})
    }


def test_baking_never_imports_python_on_whales(docker_calls: DockerCalls, tmp_path: Path) -> None:
    """python-on-whales costs 0.3-0.4 s to import: a bake must not pay it."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from buildcache.docker.bake import run_bake\n"
        "from buildcache.docker.engine import Docker\n"
        f"run_bake(Docker(), bake_file=Path({str(tmp_path / 'b.json')!r}),"
        f" metadata_file=Path({str(tmp_path / 'm.json')!r}), on_line=lambda _: None)\n"
        "print('python_on_whales' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"
    assert docker_calls.calls[0]["args"][:2] == ["buildx", "bake"]
