from __future__ import annotations

import json
from pathlib import Path

import pytest

from buildcache.core.merge import index_steps, read_results
from buildcache.errors import UsageError

A, B, C = "sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "c" * 64


def _result(path: Path, platform: str, digest: str, version: str = "1.0") -> Path:
    path.write_text(
        json.dumps(
            {
                "version": version,
                "push_by_digest": True,
                "ok": True,
                "variants": [
                    {
                        "name": "slim",
                        "default": True,
                        "tags": ["r1/a:1.0", "r2/a:1.0", "r1/a:latest", "r2/a:latest"],
                        "platforms": [platform],
                        "digest_ref": f"r1/a@{digest}",
                    }
                ],
            }
        )
    )
    return path


def test_merge_reads_each_runner_once(tmp_path: Path) -> None:
    merged = read_results(
        [
            _result(tmp_path / "a.json", "linux/amd64", A),
            _result(tmp_path / "b.json", "linux/arm64", B),
        ]
    )
    assert {k: [str(r) for r in v] for k, v in merged.sources.items()} == {
        "slim": [f"docker.io/r1/a@{A}", f"docker.io/r1/a@{B}"]
    }
    assert merged.platforms == {"slim": ["linux/amd64", "linux/arm64"]}
    [step] = index_steps(merged)
    assert (str(step.image), step.tags, tuple(map(str, step.sources))) == (
        "docker.io/r1/a",
        ("1.0",),
        (f"docker.io/r1/a@{A}", f"docker.io/r1/a@{B}"),
    )


def test_merge_refuses_mixed_results(tmp_path: Path) -> None:
    a = _result(tmp_path / "a.json", "linux/amd64", A)
    with pytest.raises(UsageError, match=r"built version 2\.0, the others 1\.0"):
        read_results([a, _result(tmp_path / "b.json", "linux/arm64", B, version="2.0")])
    with pytest.raises(UsageError, match="is in two results"):
        read_results([a, _result(tmp_path / "c.json", "linux/amd64", C)])
    (tmp_path / "d.json").write_text("not json")
    with pytest.raises(UsageError, match="is not the JSON"):
        read_results([a, tmp_path / "d.json"])
