"""buildkit/tracker.py: vertex names split into variant, platform and step; rawjson updates merged
into one vertex per digest, with the events the progress views show; what failed and where."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from buildcache.buildkit.tracker import (
    BuildTracker,
    LogLine,
    StepFinished,
    StepStarted,
    parse_vertex_name,
)

DATA = Path(__file__).parent.parent / "data"
PLATFORMS = {"slim": ["linux/amd64", "linux/arm64"], "full": ["linux/amd64", "linux/arm64"]}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "[slim linux/arm64 runtime 3/5] RUN sh /opt/deps/install.sh common",
            {
                "variant": "slim",
                "platform": "linux/arm64",
                "stage": "runtime",
                "index": 3,
                "count": 5,
            },
        ),
        (
            "[full linux/amd64 internal] load metadata for base",
            {"variant": "full", "platform": "linux/amd64", "stage": None, "index": None},
        ),
        (
            "[slim] importing cache manifest from r:buildcache-slim",
            {"variant": "slim", "index": None},
        ),
        # a single-platform build leaves the platform out; it is the variant's only one
        (
            "[slim 2/4] COPY . /src",
            {"variant": "slim", "platform": "linux/amd64", "stage": None, "index": 2},
        ),
        # a plain build (no bake prefix) with one variant belongs to it
        (
            "[linux/arm64 builder 1/3] FROM base",
            {"variant": "only", "platform": "linux/arm64", "stage": "builder", "index": 1},
        ),
        ("exporting to image", {"variant": "only", "index": None}),
    ],
)
def test_vertex_names_are_split_into_variant_platform_and_step(name: str, expected: dict) -> None:
    variants = ["only"] if "only" in expected.values() else ["slim", "full"]
    parts = parse_vertex_name(
        name, variants, {"slim": ["linux/amd64"], "only": ["linux/amd64", "linux/arm64"]}
    )
    for key, value in expected.items():
        assert getattr(parts, key) == value, key


def test_updates_merge_into_one_vertex_with_started_finished_and_log_events() -> None:
    tracker = BuildTracker(["app"], {"app": ["linux/amd64"]})
    name = "[app 2/3] RUN make"
    events = tracker.update({"vertexes": [{"digest": "d", "name": name}]})
    assert events == []
    events = tracker.update(
        {"vertexes": [{"digest": "d", "name": name, "started": "2026-01-01T00:00:00.5Z"}]}
    )
    assert [type(e) for e in events] == [StepStarted]
    log = base64.b64encode(b"compiling\nlinking\n").decode()
    events = tracker.update({"logs": [{"vertex": "d", "data": log}]})
    assert [e.line for e in events if isinstance(e, LogLine)] == ["compiling", "linking"]
    events = tracker.update(
        {
            "vertexes": [
                {
                    "digest": "d",
                    "name": name,
                    "started": "2026-01-01T00:00:00.5Z",
                    "completed": "2026-01-01T00:00:02.000000001Z",
                }
            ]
        }
    )
    assert [type(e) for e in events] == [StepFinished]
    vertex = tracker.vertexes["d"]
    assert vertex.seconds == pytest.approx(1.5)
    assert not vertex.cached
    assert list(vertex.logs) == ["compiling", "linking"]


def test_a_canceled_duplicate_is_shared_not_failed() -> None:
    tracker = BuildTracker(["a", "b"], {"a": ["linux/amd64"], "b": ["linux/amd64"]})
    tracker.update(
        {
            "vertexes": [
                {
                    "digest": "x",
                    "name": "[b 2/2] COPY . /",
                    "error": "context canceled: context canceled",
                }
            ]
        }
    )
    vertex = tracker.vertexes["x"]
    assert vertex.canceled
    assert vertex.error is None
    assert tracker.failed_steps() == []


def _pushed(error: str | None, step_error: str | None = None) -> BuildTracker:
    tracker = BuildTracker(["slim"], {"slim": ["linux/amd64"]})
    t0, t1 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"
    step = {"digest": "s", "name": "[slim 1/1] RUN make", "started": t0, "completed": t1}
    if step_error:
        step["error"] = step_error
    push = {"digest": "p", "name": "exporting to image", "started": t0}
    if error:
        push["error"] = error
    tracker.update({"vertexes": [step, push]})
    return tracker


def test_a_failure_after_every_step_is_an_export_failure_and_says_why() -> None:
    reason = "failed to push ghcr.io/a/b:1: 503 Service Unavailable"
    assert _pushed(reason).export_failure() == reason
    assert _pushed(None).export_failure() is None  # nothing failed
    # a step that failed is the build's failure, never one to bake again for
    assert _pushed(reason, step_error="exit code: 1").export_failure() is None


def test_a_recorded_bake_run_is_read_whole_into_its_steps() -> None:
    """A real `docker buildx bake --progress rawjson` run of two variants on two platforms."""
    tracker = BuildTracker(
        ["slim", "full"], {v: ["linux/amd64", "linux/arm64"] for v in ("slim", "full")}
    )
    data = Path(__file__).parent.parent / "data" / "bake-two-variants.rawjson"
    with data.open() as stream:
        for line in stream:
            tracker.feed_line(line)
    tracker.close()
    assert (tracker.dropped, list(tracker.other_lines)) == (0, [])
    steps = tracker.steps()
    assert {(s.variant, s.platform) for s in steps} == {
        (v, p) for v in ("slim", "full") for p in ("linux/amd64", "linux/arm64")
    }
    assert all(s.done for s in steps)
    assert tracker.failed_steps() == []


def test_a_cache_import_s_miss_is_no_export_failure() -> None:
    tracker = BuildTracker(["slim"], {"slim": ["linux/amd64"]})
    t0 = "2026-01-01T00:00:00Z"
    tracker.update(
        {
            "vertexes": [
                {"digest": "i", "name": "[slim] importing cache manifest from r:c",
                 "started": t0, "completed": t0,
                 "error": "failed to configure registry cache importer: r:c: not found"},
                {"digest": "s", "name": "[slim 1/1] RUN make", "started": t0, "completed": t0},
            ]
        }
    )  # fmt: skip
    assert tracker.export_failure("slim") is None
    assert tracker.export_failed_of() == []


def test_a_continued_step_is_named_by_its_first_line() -> None:
    from buildcache.buildkit.tracker import first_line

    # BuildKit joins `RUN a \` and `    && b` into `RUN a     && b`: the indent stays
    assert first_line("RUN apt-get update     && apt-get install -y curl") == "RUN apt-get update …"
    assert first_line("RUN make") == "RUN make"
    assert first_line("RUN " + "x" * 120) == "RUN " + "x" * 96 + " …"
    tracker = BuildTracker(["slim"], {"slim": ["linux/amd64"]})
    tracker.update({"vertexes": [{"digest": "a", "name": "[slim app 2/3] RUN a  && b"}]})
    [step] = tracker.steps()
    assert step.short_name == "app 2/3 RUN a …"
    assert step.step_name == "app 2/3 RUN a && b"
