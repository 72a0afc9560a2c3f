from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path

import pytest

from buildcache.buildkit.metadata import parse_metadata
from buildcache.buildkit.rawjson import RawJsonDecoder
from buildcache.buildkit.report import cache_report
from buildcache.buildkit.tracker import (
    BuildTracker,
    LogLine,
    StepFinished,
    StepStarted,
    parse_vertex_name,
)

DATA = Path(__file__).parent.parent / "data"
PLATFORMS = {"slim": ["linux/amd64", "linux/arm64"], "full": ["linux/amd64", "linux/arm64"]}


def _recorded() -> BuildTracker:
    """A real `docker buildx bake --progress rawjson` run of Dockerfile.example: `full` had a
    warm cache and a cache registry that refused the write; `slim` had no cache yet."""
    tracker = BuildTracker(["slim", "full"], PLATFORMS)
    with (DATA / "bake-two-variants.rawjson").open() as stream:
        for line in stream:
            tracker.feed_line(line)
    return tracker


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


def test_the_decoder_reads_pretty_printed_objects_and_skips_what_it_cannot_read() -> None:
    decoder = RawJsonDecoder()
    text = (
        "WARNING: something buildx said\n"
        '{"vertexes": [{"digest": "a", "name": "x"}]}\n'  # one line
        "{\n"
        '  "vertexes": [\n'
        '    {"digest": "b", "name": "cut short"\n'  # truncated: a new object starts
        "{\n"
        '  "logs": []\n'
        "}\n"
        "{\n"
        "  not json at all\n"
        "}\n"
        "{\n"
        '  "statuses": []\n'
        "}\n"
    )
    objects = [obj for line in text.splitlines(keepends=True) for obj in decoder.feed(line)]
    assert objects == [{"vertexes": [{"digest": "a", "name": "x"}]}, {"logs": []}, {"statuses": []}]
    assert decoder.dropped == 2
    assert list(decoder.other_lines) == ["WARNING: something buildx said"]


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


def test_report_of_a_recorded_bake_run_matches_what_buildkit_reported() -> None:
    tracker = _recorded()
    metadata = parse_metadata(json.loads((DATA / "bake-two-variants.metadata.json").read_text()))
    full = cache_report(
        tracker,
        variant="full",
        cache_from=["127.0.0.1:32769/acme/widget:buildcache-full"],
        cache_to="127.0.0.1:9/acme/widget:buildcache-full",
        cache_to_mode="max",
        export_skipped_reason="",
        metadata=metadata["full"],
        build_failed=False,
    )
    assert [(i.status, i.reason) for i in full.imported] == [("found", None)]
    assert full.exported.status == "failed"
    assert "127.0.0.1:9" in (full.exported.reason or "")
    # steps 2..5 came from the cache on both platforms; the two FROM steps fetched the base
    assert (full.total, full.cached) == (10, 8)
    assert {s.name.split(" FROM ")[0] for s in full.executed_steps} == {"runtime 1/5"}
    assert full.first_executed is None
    assert not full.reuse_broken

    slim = cache_report(
        tracker,
        variant="slim",
        cache_from=["127.0.0.1:32769/acme/widget:buildcache-slim"],
        cache_to="127.0.0.1:32769/acme/widget:buildcache-slim",
        cache_to_mode="max",
        export_skipped_reason="",
        metadata=metadata["slim"],
        build_failed=False,
    )
    assert [(i.status, i.reason) for i in slim.imported] == [("missing", None)]
    assert slim.exported.status == "written"
    # steps 1 and 2 are the same vertexes as full's (BuildKit ran them once for both)
    assert slim.total == 10
    assert slim.per_platform["linux/amd64"].total == 5
    executed_runs = sorted(
        (s.platform, s.name.split(" RUN")[0]) for s in slim.executed_steps if " RUN " in s.name
    )
    assert executed_runs == [
        (p, f"runtime {n}/5") for p in ("linux/amd64", "linux/arm64") for n in (3, 4, 5)
    ]
    assert slim.first_executed is not None
    assert slim.first_executed.startswith("[linux/amd64] runtime 3/5 RUN")
    assert not slim.reuse_broken  # no cache was found: a first build, not a broken chain


def test_found_cache_with_most_steps_executed_is_a_broken_chain() -> None:
    tracker = BuildTracker(["app"], {"app": ["linux/amd64"]})
    t0, t1 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:09Z"
    tracker.update(
        {
            "vertexes": [
                {
                    "digest": "i",
                    "name": "[app] importing cache manifest from r:c",
                    "started": t0,
                    "completed": t0,
                },
                {
                    "digest": "1",
                    "name": "[app 1/4] FROM base",
                    "started": t0,
                    "completed": t0,
                    "cached": True,
                },
                {
                    "digest": "2",
                    "name": "[app 2/4] ARG STAMP",
                    "started": t0,
                    "completed": t0,
                    "cached": True,
                },
                {
                    "digest": "3",
                    "name": "[app 3/4] RUN apt-get install",
                    "started": t0,
                    "completed": t1,
                },
                {
                    "digest": "4",
                    "name": "[app 4/4] RUN pip install",
                    "started": t0,
                    "completed": t1,
                },
                {"digest": "5", "name": "[app 5/5] COPY . /", "started": t0, "completed": t1},
            ]
        }
    )
    report = cache_report(
        tracker,
        variant="app",
        cache_from=["r:c"],
        cache_to=None,
        cache_to_mode=None,
        export_skipped_reason="not pushing",
        metadata=None,
        build_failed=False,
    )
    assert report.cache_found
    assert report.reuse_broken
    # with --no-cache the steps ran because they were asked to: no broken chain to warn of
    assert not dataclasses.replace(report, no_cache=True).reuse_broken
    assert report.first_executed == "[linux/amd64] 3/4 RUN apt-get install"
    assert report.exported.status == "skipped"
    assert report.to_json()["steps"] == {"total": 5, "cached": 2, "executed": 3, "not_run": 0}


def test_a_step_the_failed_build_never_reached_is_not_listed_as_ran() -> None:
    """Not "ran 0.0s": a failed build's later steps never started."""
    tracker = BuildTracker(["app"], {"app": ["linux/amd64"]})
    t0, t1 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:02Z"
    tracker.update(
        {
            "vertexes": [
                {"digest": "1", "name": "[app 1/3] FROM base", "started": t0, "completed": t0,
                 "cached": True},
                {"digest": "2", "name": "[app 2/3] RUN make", "started": t0, "completed": t1,
                 "error": "exit code: 1"},
                {"digest": "3", "name": "[app 3/3] RUN make install"},
            ]
        }
    )  # fmt: skip
    report = cache_report(
        tracker,
        variant="app",
        cache_from=[],
        cache_to=None,
        cache_to_mode=None,
        export_skipped_reason="not pushing",
        metadata=None,
        build_failed=True,
    )
    assert [s.name for s in report.executed_steps] == ["2/3 RUN make"]
    assert report.to_json()["steps"] == {"total": 3, "cached": 1, "executed": 1, "not_run": 1}


def test_an_import_that_fails_for_another_reason_keeps_the_registrys_words() -> None:
    tracker = BuildTracker(["app"], {"app": ["linux/amd64"]})
    tracker.update(
        {
            "vertexes": [
                {
                    "digest": "i",
                    "name": "[app] importing cache manifest from r:c",
                    "error": "failed to configure registry cache importer: r:c: unexpected status: 401 Unauthorized",
                }
            ]
        }
    )
    report = cache_report(
        tracker,
        variant="app",
        cache_from=["r:c"],
        cache_to=None,
        cache_to_mode=None,
        export_skipped_reason="",
        metadata=None,
        build_failed=False,
    )
    assert report.imported[0].status == "failed"
    assert report.imported[0].reason == "unexpected status: 401 Unauthorized"


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
