from __future__ import annotations

import json
from pathlib import Path

from buildcache.buildkit.tracker import Vertex
from buildcache.ui import ci_sink as github

RESULT = {
    "version": "1.2.3",
    "ok": True,
    "error": None,
    "variants": [
        {
            "name": "slim",
            "default": True,
            "tags": [
                "ghcr.io/a/w:1.2.3",
                "docker.io/a/w:1.2.3",
                "ghcr.io/a/w:latest",
                "docker.io/a/w:latest",
            ],
            "pushed": [
                "ghcr.io/a/w:1.2.3",
                "docker.io/a/w:1.2.3",
                "ghcr.io/a/w:latest",
                "docker.io/a/w:latest",
            ],
            "platforms": ["linux/amd64", "linux/arm64"],
            "digest": "sha256:abc",
            "cache": {
                "imported": [
                    {"ref": "ghcr.io/a/w:buildcache-slim", "status": "found", "reason": None}
                ],
                "steps": {"total": 10, "cached": 8, "executed": 2},
                "executed_steps": [
                    {"name": "5/5 RUN make", "platform": "linux/arm64", "seconds": 3.25}
                ],
                "exported": {
                    "ref": "ghcr.io/a/w:buildcache-slim",
                    "status": "written",
                    "reason": None,
                },
            },
        }
    ],
}


def test_outputs_per_variant_and_metadata_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "output"
    path.write_text("earlier=1\n")
    github.write_outputs(path, RESULT)
    lines = path.read_text().splitlines()
    assert lines[0] == "earlier=1"  # appended, never overwritten
    values = dict(line.split("=", 1) for line in lines[1:])
    assert values["slim-digest"] == "sha256:abc"
    assert (
        values["slim-tags"]
        == "ghcr.io/a/w:1.2.3,docker.io/a/w:1.2.3,ghcr.io/a/w:latest,docker.io/a/w:latest"
    )
    assert values["slim-cache-hit"] == "0.80"
    assert json.loads(values["metadata"]) == RESULT


def test_summary_has_tags_per_registry_digest_platforms_and_the_cache() -> None:
    text = github.summary(RESULT)
    assert "## buildcache: 1.2.3 built" in text
    assert "### slim (default)" in text
    assert "| `ghcr.io/a/w` | `1.2.3` `latest` |" in text
    assert "| `docker.io/a/w` | `1.2.3` `latest` |" in text
    assert "digest: `sha256:abc`" in text
    assert "platforms: linux/amd64, linux/arm64" in text
    assert "8/10 steps from the cache" in text
    assert "| read | `ghcr.io/a/w:buildcache-slim` | found |" in text
    assert "| write | `ghcr.io/a/w:buildcache-slim` | written |" in text
    assert "3.2s `linux/arm64` 5/5 RUN make" in text


def test_workflow_commands_escape_their_message() -> None:
    assert (
        github.error_command("50% done\nthen failed")
        == "::error title=buildcache::50%25 done%0Athen failed"
    )
    assert github.group("a", ["x"]) == ["::group::a", "x", "::endgroup::"]


def test_variant_groups_list_steps_and_the_output_of_those_that_ran() -> None:
    ran = Vertex(
        digest="1",
        name="",
        variant="slim",
        platform="linux/amd64",
        index=2,
        count=2,
        text="RUN make",
    )
    ran.logs.append("compiling")
    cached = Vertex(
        digest="2",
        name="",
        variant="slim",
        platform="linux/amd64",
        index=1,
        count=2,
        text="FROM b",
        cached=True,
    )
    lines = github.variant_groups([ran, cached], ["slim"])
    assert lines == [
        "::group::slim: 1/2 steps from the cache",
        "linux/amd64 1/2 FROM b CACHED",
        "linux/amd64 2/2 RUN make 0.0s",
        "  | compiling",
        "::endgroup::",
    ]


def test_summary_lists_what_was_not_published() -> None:
    failed = json.loads(json.dumps(RESULT))
    failed["ok"] = False
    failed["error"] = "not every tag was published"
    failed["variants"][0]["publish"] = [
        {"image": "ghcr.io/a/w", "tag": "1.2.3", "status": "done", "reason": None, "attempts": 1},
        {
            "image": "docker.io/a/w",
            "tag": "1.2.3",
            "status": "failed",
            "reason": "429 Too Many Requests",
            "attempts": 4,
        },
        {
            "image": "ghcr.io/a/w",
            "tag": "latest",
            "status": "skipped",
            "reason": "a version tag is missing",
            "attempts": 0,
        },
    ]
    text = github.summary(failed)
    assert "## buildcache: 1.2.3 FAILED" in text
    assert "| `docker.io/a/w` | `1.2.3` | failed | 429 Too Many Requests |" in text
    assert "| `ghcr.io/a/w` | `latest` | skipped | a version tag is missing |" in text
    assert "| `ghcr.io/a/w` | `1.2.3` | done" not in text


def test_summary_says_which_base_was_pinned_and_why_steps_ran() -> None:
    result = json.loads(json.dumps(RESULT))
    slim = result["variants"][0]
    slim["bases"] = [
        {"name": "python:3.12-slim", "digest": "sha256:new", "used": "sha256:old", "pinned": True,
         "since": "2026-11-01T00:00:00+00:00", "refresh_on": "2026-12-01T00:00:00+00:00",
         "moved": True, "recorded": "sha256:old", "error": None},
        {"name": "ghcr.io/a/tools:1", "error": "cannot reach ghcr.io"},
    ]  # fmt: skip
    slim["cache"]["miss_cause"] = {
        "kind": "argument", "step": "RUN make", "detail": "a build argument changed: X 'a' -> 'b'",
        "changes": [],
    }  # fmt: skip
    text = github.summary(result)
    assert (
        "- base: `python:3.12-slim` **pinned** to the cache's `sha256:old` since 2026-11-01 "
        "(the tag is now `sha256:new`; refreshes on 2026-12-01)"
    ) in text
    assert "- base: `ghcr.io/a/tools:1` unresolved (cannot reach ghcr.io)" in text
    assert "**why steps ran:** `RUN make`: a build argument changed: X 'a' -> 'b'" in text
