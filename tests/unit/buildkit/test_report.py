"""buildkit/report.py: the cache report of each variant (imports, export, steps cached and
executed, a broken chain) from what the tracker saw, and how a variant of a failed bake ended."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from buildcache.buildkit.metadata import TargetMetadata, parse_metadata
from buildcache.buildkit.report import VariantStatus, cache_report, variant_status, with_origins
from buildcache.buildkit.tracker import BuildTracker

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
    assert report.to_json()["steps"] == {
        "total": 5,
        "cached": 2,
        "executed": 3,
        "not_run": 0,
        "from_registry": None,
        "from_local": None,
    }


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
    assert report.to_json()["steps"] == {
        "total": 3,
        "cached": 1,
        "executed": 1,
        "not_run": 1,
        "from_registry": None,
        "from_local": None,
    }


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


def _failed_bake(*vertexes: dict[str, object]) -> BuildTracker:
    tracker = BuildTracker(["slim", "full"], {"slim": ["linux/amd64"], "full": ["linux/amd64"]})
    tracker.update({"vertexes": list(vertexes)})
    return tracker


T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"


def test_a_variant_of_a_failed_bake_failed_at_its_step_or_was_cancelled_or_built() -> None:
    tracker = _failed_bake(
        {"digest": "s", "name": "[slim 2/2] RUN make", "started": T0, "completed": T1,
         "error": "process \"/bin/sh -c make\" did not complete successfully: exit code: 2"},
        {"digest": "f", "name": "[full 2/2] RUN make", "started": T0},
    )  # fmt: skip
    tracker.update({"logs": [{"vertex": "s", "data": "bWFrZTogKioqIEVycm9yIDIK"}]})
    slim = variant_status("slim", tracker, {}, "exit 1")
    assert slim == VariantStatus(
        "failed",
        step="linux/amd64 2/2 RUN make",
        error='process "/bin/sh -c make" did not complete successfully: exit code: 2',
        log=("make: *** Error 2",),
    )
    full = variant_status("full", tracker, {}, "exit 1")
    assert full.state == "cancelled"
    assert full.error == "another variant failed, and BuildKit stopped this one"
    # where buildx reported its image, it was done before the failure stopped the bake
    exported = {"full": TargetMetadata(digest="sha256:full")}
    assert variant_status("full", tracker, exported, "exit 1") == VariantStatus("built")
    assert slim.to_json() == {
        "state": "failed",
        "step": "linux/amd64 2/2 RUN make",
        "error": 'process "/bin/sh -c make" did not complete successfully: exit code: 2',
        "log": ["make: *** Error 2"],
    }


def test_with_no_step_failed_a_variant_fails_with_its_own_push_or_the_bake() -> None:
    steps = [
        {"digest": v, "name": f"[{v} 1/1] RUN make", "started": T0, "completed": T1}
        for v in ("slim", "full")
    ]
    refused = "failed to push ghcr.io/acme/widget: 401 Unauthorized"
    tracker = _failed_bake(
        *steps,
        {"digest": "e1", "name": "[slim] exporting to image", "started": T0, "error": refused},
        {"digest": "e2", "name": "[full] exporting to image", "started": T0, "completed": T1},
    )
    assert variant_status("slim", tracker, {}, "exit 1") == VariantStatus("failed", error=refused)
    full = variant_status("full", tracker, {}, "exit 1")
    assert full.state == "cancelled"
    assert full.error == (
        "the bake stopped when the push of slim failed; this one's image was not reported"
    )
    exported = {"full": TargetMetadata(digest="sha256:full")}
    assert variant_status("full", tracker, exported, "exit 1").state == "built"
    # nothing of its own failed: the bake's error is the variant's
    whole = _failed_bake(*steps)
    assert variant_status("full", whole, {}, "ERROR: no builder") == VariantStatus(
        "failed", error="ERROR: no builder"
    )


def test_a_variant_published_before_says_which_image() -> None:
    status = VariantStatus("published before", image="sha256:abc")
    assert status.to_json()["image"] == "sha256:abc"
    assert "image" not in VariantStatus("built").to_json()


def _warm_engine_tracker(import_error: str | None) -> BuildTracker:
    """Two steps from the cache, one that ran; the cache import found or not."""
    tracker = BuildTracker(["slim"], {"slim": ["linux/amd64"]})
    cache_import: dict[str, object] = {
        "digest": "i",
        "name": "[slim] importing cache manifest from r/c:buildcache-slim",
        "started": "2026-01-01T00:00:00Z",
        "completed": "2026-01-01T00:00:00Z",
    }
    if import_error:
        cache_import["error"] = import_error
    steps = [
        {"digest": "a", "name": "[slim app 1/3] WORKDIR /app", "cached": True},
        {"digest": "b", "name": "[slim app 2/3] COPY deps /d", "cached": True},
        {
            "digest": "c",
            "name": "[slim app 3/3] RUN make",
            "started": "2026-01-01T00:00:00Z",
            "completed": "2026-01-01T00:00:02Z",
        },
    ]
    tracker.update({"vertexes": [cache_import, *steps]})
    return tracker


def _origins(tracker: BuildTracker, held: set[tuple[str, str]] | None):  # type: ignore[no-untyped-def]
    report = cache_report(
        tracker,
        variant="slim",
        cache_from=["r/c:buildcache-slim"],
        cache_to=None,
        cache_to_mode=None,
        export_skipped_reason="not pushing",
        metadata=None,
        build_failed=False,
    )
    return with_origins(report, tracker, held)


def test_cached_steps_are_counted_by_where_they_came_from() -> None:
    missing = _origins(_warm_engine_tracker("r/c:buildcache-slim: not found"), {("app", "x")})
    # the registry cache was not there: every hit was the engine's own, and that is a warning
    assert (missing.from_registry, missing.from_local) == (0, 2)
    assert missing.registry_hidden
    assert missing.origin_words == "0 from the registry cache, 2 from the engine's local cache"
    assert missing.hidden_registry_words.startswith(
        "the registry cache gave no step (r/c:buildcache-slim missing): the 2 cached steps"
    )
    assert missing.to_json()["steps"]["from_local"] == 2
    # found, and its record holds one of the two
    found = _origins(_warm_engine_tracker(None), {("app", "WORKDIR /app")})
    assert (found.from_registry, found.from_local) == (1, 1)
    assert found.to_json()["cached_steps"] == [
        {"name": "app 1/3 WORKDIR /app", "platform": "linux/amd64", "origin": "registry"},
        {"name": "app 2/3 COPY deps /d", "platform": "linux/amd64", "origin": "local"},
    ]
    assert not found.registry_hidden
    # found, no record: where a hit came from is not known, and nothing is said of it
    unknown = _origins(_warm_engine_tracker(None), None)
    assert (unknown.from_registry, unknown.from_local, unknown.origin_words) == (None, None, "")
    assert {s.origin for s in unknown.cached_steps} == {"unknown"}
    assert found.ran_seconds == {"RUN make": 2.0}
