from __future__ import annotations

import dataclasses
import io
from pathlib import Path

from rich.console import Console

from buildcache.buildkit.report import CacheReport, cache_report
from buildcache.ui.live import PlainView
from buildcache.ui.tables import cache_table, cache_warnings, rerun_notes
from tests.unit.ui.test_live import T0, T1, feed_steps, slim_tracker


def test_the_report_and_its_warnings() -> None:
    tracker = slim_tracker()
    feed_steps(tracker, PlainView(Console(file=io.StringIO())))
    report = cache_report(
        tracker,
        variant="slim",
        cache_from=["r/c:buildcache-slim"],
        cache_to="r/c:buildcache-slim",
        cache_to_mode="max",
        export_skipped_reason="",
        metadata=None,
        build_failed=True,
    )
    console = Console(file=io.StringIO(), width=200, record=True)
    console.print(cache_table([report]))
    text = console.export_text()
    assert "found r/c:buildcache-slim" in text
    # the platforms differ: a line each
    assert "1/2 from the cache  linux/amd64" in text
    assert "0/1 from the cache  linux/arm64" in text
    assert "1.5s linux/amd64 app 2/2 RUN make" in text
    assert "skipped: the build failed before the cache was exported" in text
    # the cache was found and most steps ran: the warning names where reuse broke
    [warning] = cache_warnings([report])
    assert "the chain of reuse broke at [linux/amd64] app 2/2 RUN make" in warning


def test_an_expected_rerun_is_a_note_and_a_broken_chain_a_warning() -> None:
    from buildcache.buildkit.report import CacheExport, CacheImport, CacheReport
    from buildcache.core.bases import MissCause

    def report(runs: int, executed_runs: int) -> CacheReport:
        return CacheReport(
            variant="slim",
            imported=(CacheImport("r/c:x", "found"),),
            exported=CacheExport("r/c:x", "written"),
            total=6,
            cached=6 - executed_runs,
            executed_steps=(),
            per_platform={},
            first_executed="[linux/amd64] 5/5 RUN make",
            runs=runs,
            executed_runs=executed_runs,
        )

    cause = {"slim": MissCause("files", "RUN make", "the files it reads changed: src/app.py")}
    source_only = report(runs=5, executed_runs=1)
    assert rerun_notes([source_only], cause) == [
        "slim: RUN make ran again: the files it reads changed: src/app.py"
    ]
    assert cache_warnings([source_only], cause) == []
    broken = report(runs=5, executed_runs=5)
    assert rerun_notes([broken], cause) == []
    [warning] = cache_warnings([broken], cause)
    assert "the likely cause: the files it reads changed: src/app.py" in warning
    # a cause at another step than where the chain broke says which step it is
    copied = {"slim": MissCause("files", "COPY requirements.txt ./", "the files it reads changed")}
    [warning] = cache_warnings([broken], copied)
    assert "the likely cause: COPY requirements.txt ./: the files it reads changed" in warning


def test_annotations_equal_to_the_labels_are_not_printed_twice() -> None:
    from buildcache.core.config.load import parse_config
    from buildcache.core.plan.metadata import Described
    from buildcache.ui.tables import variant_table
    from tests.unit.plans import make_plan

    config = parse_config(
        {"images": ["ghcr.io/a/w"], "variants": {"slim": {}}},
        {},
        path=Path("/r/buildcache.toml"),
        root=Path("/r"),
    )
    plan = make_plan(config, version="1.2.3")
    labels = {"org.opencontainers.image.version": Described("1.2.3", "the version of this run")}
    variant = dataclasses.replace(plan.variants[0], labels=labels, annotations=labels)
    console = Console(file=io.StringIO(), width=200, record=True)
    console.print(variant_table(variant))
    text = console.export_text()
    assert text.count("org.opencontainers.image.version=1.2.3") == 1
    assert "the labels above, on the index too" in text


def test_a_tag_the_build_would_keep_on_a_higher_release_says_so_in_the_build_s_words() -> None:
    from buildcache.core.config.load import parse_config
    from buildcache.ui.tables import variant_table
    from tests.unit.plans import make_plan

    config = parse_config(
        {"images": ["ghcr.io/a/w"], "variants": {"slim": {}}},
        {},
        path=Path("/r/buildcache.toml"),
        root=Path("/r"),
    )
    plan = make_plan(config, version="1.2.4")
    why = "it stays on 1.3.0, a higher release than 1.2.4"
    held = plan.with_holds({"slim": {"latest": why}}, [])
    console = Console(file=io.StringIO(), width=200, record=True)
    console.print(variant_table(held.variants[0]))
    lines = console.export_text().splitlines()
    [kept] = [line for line in lines if "kept:" in line]  # on latest's line, and only there
    assert "ghcr.io/a/w:latest" in kept
    assert f"kept: {why}" in kept


def _stopped_report(steps: list[tuple[str, int, bool]], total: int = 8) -> CacheReport:
    """A cold two-platform build that failed: each (platform, step, started) of `total` steps."""
    tracker = slim_tracker()
    vertexes = [
        {"digest": f"{platform}{n}", "name": f"[slim {platform} {n}/{total}] RUN step {n}"}
        | ({"started": T0, "completed": T1} if started else {})
        for platform, n, started in steps
    ]
    tracker.update({"vertexes": vertexes})
    return cache_report(
        tracker,
        variant="slim",
        cache_from=["r/c:buildcache-slim"],
        cache_to=None,
        cache_to_mode=None,
        export_skipped_reason="not pushing",
        metadata=None,
        build_failed=True,
    )


def test_steps_that_never_ran_are_counted_per_platform_never_summed() -> None:
    """A cold run that failed at step 2 on amd64 and step 1 on arm64: 13 steps never ran in
    all, but that is 6 of a Dockerfile's 8 on one platform and 7 on the other."""
    amd64 = [("linux/amd64", n, n <= 2) for n in range(1, 9)]
    arm64 = [("linux/arm64", n, n <= 1) for n in range(1, 9)]
    report = _stopped_report(amd64 + arm64)
    console = Console(file=io.StringIO(), width=200, record=True)
    console.print(cache_table([report]))
    text = console.export_text()
    assert "13 never ran" not in text
    assert "never ran: 6 on linux/amd64, 7 on linux/arm64 (the build stopped before them)" in text
    assert report.per_platform["linux/amd64"].executed == 2


def test_a_variant_with_no_step_is_never_0_of_0_from_the_cache() -> None:
    console = Console(file=io.StringIO(), width=200, record=True)
    console.print(cache_table([_stopped_report([])]))
    text = console.export_text()
    assert "0/0" not in text
    assert "none: BuildKit reported no step of it" in text


def test_a_variant_published_before_is_shown_with_its_image_not_as_an_error() -> None:
    from buildcache.buildkit.report import VariantStatus
    from buildcache.ui.tables import _status_rows

    status = VariantStatus("published before", image="sha256:abc")
    assert status.to_json()["error"] is None  # a script reading `error` sees no failure
    assert status.to_json()["image"] == "sha256:abc"
    [(_, headline)] = _status_rows(status)
    assert headline.plain == "PUBLISHED BEFORE: sha256:abc"


def test_the_steps_line_counts_the_registrys_hits_apart_and_a_hidden_registry_is_a_warning() -> (
    None
):
    from buildcache.buildkit.report import CacheExport, CacheImport, PlatformSteps

    report = CacheReport(
        variant="slim",
        imported=(CacheImport("r/c:buildcache-slim", "missing"),),
        exported=CacheExport(None, "skipped", "not pushing"),
        total=3,
        cached=3,
        executed_steps=(),
        per_platform={"linux/amd64": PlatformSteps(3, 3)},
        first_executed=None,
        from_registry=0,
        from_local=3,
    )
    console = Console(file=io.StringIO(), width=200, record=True)
    console.print(cache_table([report]))
    text = console.export_text()
    assert (
        "3/3 from the cache  linux/amd64 (0 from the registry cache, 3 from the engine's local "
        "cache)" in text
    )
    [warning] = cache_warnings([report])
    assert warning.startswith("slim: the registry cache gave no step (r/c:buildcache-slim missing)")
    assert warning.endswith("a fresh runner would build them all again")
    # the same build that wrote the registry cache (a first build on a warm engine): the next
    # fresh runner reads it, so it is a note, never a warning a CI gate would read as a fault
    filled = dataclasses.replace(report, exported=CacheExport("r/c:buildcache-slim", "written"))
    assert cache_warnings([filled]) == []
    [note] = rerun_notes([filled])
    assert note.endswith("this run wrote it, so a fresh runner reads it next time")


def test_advice_is_printed_with_its_variant_and_notes() -> None:
    from buildcache.core.advise import Advice
    from buildcache.ui.tables import print_advice

    console = Console(file=io.StringIO(), width=200, record=True)
    print_advice(
        console, [Advice("copy-first", "slim", "app", "RUN pip install .", "copy x first")], ["n"]
    )
    text = console.export_text()
    assert "slim app  copy-first" in text
    assert "copy x first" in text
    assert "note: n" in text
    console = Console(file=io.StringIO(), width=200, record=True)
    print_advice(console, [], [])
    assert "no advice" in console.export_text()


def test_a_line_per_platform_holds_that_platforms_origins_only() -> None:
    """Before: `2/6 ... linux/amd64 (2 from the registry cache, 3 from the engine's local
    cache)`, both platforms' counts on the first line."""
    from buildcache.buildkit.report import CachedStep, CacheExport, CacheImport, PlatformSteps

    amd, arm = "linux/amd64", "linux/arm64"
    report = CacheReport(
        variant="slim",
        imported=(CacheImport("r/c:buildcache-slim", "found"),),
        exported=CacheExport(None, "skipped", "not pushing"),
        total=12,
        cached=5,
        executed_steps=(),
        per_platform={amd: PlatformSteps(6, 2), arm: PlatformSteps(6, 3)},
        first_executed=None,
        from_registry=2,
        from_local=3,
        cached_steps=(
            CachedStep("1/6 WORKDIR /app", amd, "registry"),
            CachedStep("2/6 COPY a b", amd, "local"),
            CachedStep("1/6 WORKDIR /app", arm, "registry"),
            CachedStep("2/6 COPY a b", arm, "local"),
            CachedStep("3/6 COPY c d", arm, "local"),
        ),
    )
    console = Console(file=io.StringIO(), width=200, record=True)
    console.print(cache_table([report]))
    text = console.export_text()
    assert f"2/6 from the cache  {amd} (1 from the registry cache, 1 from the engine's" in text
    assert f"3/6 from the cache  {arm} (1 from the registry cache, 2 from the engine's" in text


def test_a_step_run_once_for_two_variants_says_so() -> None:
    from buildcache.buildkit.report import CacheExport, CacheImport, ExecutedStep, PlatformSteps

    step = ExecutedStep("deps 4/4 RUN pip install", "linux/amd64", 30.0, shared_with=("full",))
    report = CacheReport(
        variant="slim",
        imported=(CacheImport("r/c:buildcache-slim", "found"),),
        exported=CacheExport(None, "skipped", "not pushing"),
        total=4,
        cached=3,
        executed_steps=(step,),
        per_platform={"linux/amd64": PlatformSteps(4, 3)},
        first_executed=None,
    )
    console = Console(file=io.StringIO(), width=200, record=True)
    console.print(cache_table([report]))
    assert (
        "deps 4/4 RUN pip install (built once in this run, for full too)" in console.export_text()
    )
