"""core/bases.py: pins, predictions and the cause of a miss, from a record and the bases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from buildcache.core.bases import (
    CacheRecord,
    RecordedBase,
    RecordedStep,
    ResolvedBase,
    Upstream,
    context_key,
    decide,
    first_cause,
    miss_cause_of,
    new_record,
    predictions,
    registry_holds,
)
from buildcache.core.redact import kept_value

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
OLD, NEW = "sha256:" + "a" * 64, "sha256:" + "b" * 64
NAME = "python:3.12-slim"
RUN = RecordedStep("runtime", 'RUN pip install "/w[$EXTRAS]"', {"EXTRAS": "slim"}, {})
COPY = RecordedStep("runtime", "COPY requirements.txt /app/", {}, {"requirements.txt": "sha256:1"})


def record(since: datetime = NOW - timedelta(days=19), steps=(RUN, COPY)) -> CacheRecord:
    return CacheRecord(
        variant="full",
        written=NOW - timedelta(days=1),
        cache_digest="sha256:c",
        bases=(RecordedBase(NAME, OLD, since),),
        steps=steps,
    )


def uses(refresh: str = "always", *, rec: CacheRecord | None = None, now_digest: str = NEW, **kw):
    return decide(
        [NAME],
        {NAME: ResolvedBase(NAME, now_digest, {"linux/amd64": "sha256:p"})},
        rec if rec is not None else record(),
        refresh=refresh,  # type: ignore[arg-type]
        max_age=kw.get("max_age", timedelta(days=30)),
        refresh_now=kw.get("refresh_now", False),
        now=NOW,
        final_base=NAME,
    )


def test_a_moved_base_is_taken_by_default_and_kept_with_refresh_cache() -> None:
    [taken] = uses()
    assert (taken.use, taken.moved, taken.pinned, taken.since) == (NEW, True, False, NOW)
    [kept] = uses("cache")
    assert (kept.use, kept.pinned, kept.since) == (OLD, True, NOW - timedelta(days=19))
    assert kept.refresh_on == NOW + timedelta(days=11)
    assert kept.context_key == NAME
    assert kept.final
    # older than max-age, or asked for: the new base
    assert uses("cache", max_age=timedelta(days=7))[0].use == NEW
    assert uses("cache", refresh_now=True)[0].use == NEW


def test_an_unmoved_base_keeps_its_since_and_an_unresolved_one_is_left_to_buildkit() -> None:
    [same] = uses(now_digest=OLD)
    assert (same.use, same.moved, same.since) == (OLD, False, NOW - timedelta(days=19))
    [unresolved] = decide(
        [NAME], {NAME: ResolvedBase(NAME, None, error="cannot reach docker.io")}, record(),
        refresh="cache", max_age=timedelta(days=30), refresh_now=False, now=NOW, final_base=None,
    )  # fmt: skip
    assert unresolved.use is None
    assert not unresolved.pinned


def test_predictions_say_what_moved_and_what_follows() -> None:
    [moved] = predictions("full", Upstream(bases=uses(), record=record()), NOW)
    assert moved == (
        f"the cache for full was built on {NAME}@{OLD[:19]} (since 19 days ago); the tag now "
        f"resolves to {NEW[:19]}: every step after its FROM will run again"
    )
    [pinned] = predictions("full", Upstream(bases=uses("cache"), record=record()), NOW)
    assert "building on the cache's base until 2026-12-09" in pinned
    assert "--refresh-base" in pinned
    assert predictions("full", Upstream(bases=uses(now_digest=OLD)), NOW) == []


def _upstream(bases, steps, rec=None) -> Upstream:
    return Upstream(bases=bases, steps=steps, record=rec or record(), chain_bases={"runtime": NAME})


def shown(step: RecordedStep, text: str) -> RecordedStep:
    return RecordedStep(step.stage, step.text, step.args, step.files, shown=text)


def test_a_miss_is_blamed_on_the_base_then_the_instruction_the_arguments_the_files() -> None:
    run = shown(RUN, 'RUN pip install "/w[slim]"')
    cause = miss_cause_of(_upstream(uses(), (run,)), "runtime", 'RUN pip install "/w[slim]"')
    assert cause is not None
    assert cause.kind == "base"
    assert cause.changes == ((NAME, OLD, NEW),)
    same = uses(now_digest=OLD)
    changed = shown(RecordedStep("runtime", "RUN pip install .", {}, {}), "RUN pip install .")
    assert (
        miss_cause_of(_upstream(same, (changed,)), "runtime", "RUN pip install .").kind
        == "instruction"
    )  # type: ignore[union-attr]
    full = shown(
        RecordedStep("runtime", RUN.text, {"EXTRAS": "full"}, {}), 'RUN pip install "/w[full]"'
    )
    cause = miss_cause_of(_upstream(same, (full,)), "runtime", 'RUN  pip install "/w[full]"')
    assert cause is not None
    assert cause.kind == "argument"
    assert cause.detail == "a build argument changed: EXTRAS 'slim' -> 'full'"
    files = shown(
        RecordedStep("runtime", COPY.text, {}, {"requirements.txt": "sha256:2"}), COPY.text
    )
    cause = miss_cause_of(_upstream(same, (files,)), None, COPY.text)
    assert cause is not None
    assert (cause.kind, cause.detail) == (
        "files",
        "the files it reads changed: requirements.txt",
    )
    unchanged = shown(COPY, COPY.text)
    assert miss_cause_of(_upstream(same, (unchanged,)), "runtime", COPY.text).kind == "unknown"  # type: ignore[union-attr]
    assert miss_cause_of(Upstream(bases=same, steps=(unchanged,)), "runtime", COPY.text) is None


def test_a_changed_instruction_is_its_own_miss_even_where_the_base_tag_moved() -> None:
    """The base's tag moved to an index of the same layers (re-pushed), so the steps before
    ran from the cache; the step that missed is one whose instruction changed."""
    changed = shown(RecordedStep("runtime", "RUN make full", {}, {}), "RUN make full")
    cause = miss_cause_of(_upstream(uses(), (changed,)), "runtime", "RUN make full")
    assert cause is not None
    assert (cause.kind, cause.detail) == (
        "instruction",
        'its text changed: RUN pip install "/w[$EXTRAS]" -> RUN make full',
    )
    assert cause.changes == (("text", 'RUN pip install "/w[$EXTRAS]"', "RUN make full"),)


def test_an_index_pushed_again_over_the_same_images_has_not_moved() -> None:
    """The tag's index digest changed (new attestations, say) but not one platform's image:
    BuildKit reuses every step, so nothing is predicted to run again, no pin is taken, no miss
    is blamed on the base, and the cache has been on it since it first was."""
    images = {"linux/amd64": "sha256:p"}  # what uses() resolves the tag's platforms to
    since = NOW - timedelta(days=19)
    rec = replace(record(), bases=(RecordedBase(NAME, OLD, since, images),))
    [same] = uses(rec=rec)
    assert (same.use, same.moved, same.pinned, same.since) == (NEW, False, False, since)
    [kept] = uses("cache", rec=rec)
    assert (kept.use, kept.pinned) == (NEW, False)
    assert predictions("full", Upstream(bases=(same,), record=rec), NOW) == []
    run = shown(RUN, 'RUN pip install "/w[slim]"')
    cause = miss_cause_of(_upstream((same,), (run,), rec), "runtime", 'RUN pip install "/w[slim]"')
    assert cause is not None
    assert cause.kind != "base"
    # other images behind the new index: moved, as before
    other = replace(record(), bases=(RecordedBase(NAME, OLD, since, {"linux/amd64": "sha256:q"}),))
    [moved] = uses(rec=other)
    assert moved.moved


def test_a_record_round_trips_and_keeps_no_secret_value() -> None:
    key = "ab" * 16
    step = RecordedStep(
        "runtime", "RUN x", {"NPM_TOKEN": kept_value("NPM_TOKEN", "s3cr3t", key)}, {}
    )
    upstream = Upstream(bases=uses(), steps=(step,), key=key)
    made = new_record("full", upstream, now=NOW, cache_digest="sha256:c", owner="ghcr.io/a/w")
    data = made.to_json()
    assert "s3cr3t" not in str(data)
    assert data["steps"][0]["args"]["NPM_TOKEN"].startswith("hmac16:")
    assert made.key == key  # kept, so the next build hashes under it and compares
    assert CacheRecord.from_json(data) == made
    assert made.owner == "ghcr.io/a/w"
    assert CacheRecord.from_json({**data, "owner": None}) == replace(made, owner=None)  # older
    assert made.bases == (RecordedBase(NAME, NEW, NOW, {"linux/amd64": "sha256:p"}),)
    assert CacheRecord.from_json({"record": 2}) is None
    assert CacheRecord.from_json({"record": 1, "written": "x"}) is None
    assert kept_value("VARIANT", "full", key) == "full"


def test_context_keys_are_dockers_familiar_names() -> None:
    assert context_key("docker.io/library/python:3.12-slim") == "python:3.12-slim"
    assert context_key("docker.io/acme/base:latest") == "acme/base"
    assert context_key("127.0.0.1:5000/base/busybox:1") == "127.0.0.1:5000/base/busybox:1"


def test_a_source_change_names_the_files_that_changed_not_the_source() -> None:
    """`COPY . /app` missed: which files, not "." (where the record lists each file)."""
    text = "RUN --mount=type=bind,source=.,target=/src make"
    before_files = {f"src/m{n}.py": "0" for n in range(8)} | {"README.md": "r", "old.py": "o"}
    now_files = {f"src/m{n}.py": "0" for n in range(8)} | {"README.md": "r2", "src/new.py": "n"}
    before = RecordedStep("runtime", text, {}, {".": "sha256:1"}, each_file=before_files)
    now = RecordedStep("runtime", text, {}, {".": "sha256:2"}, shown=text, each_file=now_files)
    rec = CacheRecord("full", NOW, "sha256:c", (RecordedBase(NAME, OLD, NOW),), (before,))
    cause = miss_cause_of(_upstream(uses(now_digest=OLD), (now,), rec), "runtime", text)
    assert cause is not None
    assert cause.detail == "the files it reads changed: README.md, src/new.py, old.py (removed)"
    # a record without the list (too many files, an older buildcache): the source is named
    bare = RecordedStep("runtime", text, {}, {".": "sha256:1"})
    rec = CacheRecord("full", NOW, "sha256:c", (RecordedBase(NAME, OLD, NOW),), (bare,))
    cause = miss_cause_of(_upstream(uses(now_digest=OLD), (now,), rec), "runtime", text)
    assert cause is not None
    assert cause.detail == "the files it reads changed: ."


def test_the_users_files_come_before_git_and_a_context_holding_git_says_so() -> None:
    """The issue's miss: a commit changed `.git/*` and cli.py; cli.py is named first, and the
    explanation says the context holds .git."""
    text = "COPY . /app"
    git = {f".git/{name}": "0" for name in ("COMMIT_EDITMSG", "HEAD", "index", "logs/HEAD")}
    before_files = git | {"src/cli.py": "a", "src/app.py": "a", ".git/ORIG_HEAD": "0"}
    now_files = dict.fromkeys(git, "1") | {"src/cli.py": "b", "src/app.py": "a"}
    before = RecordedStep("stage-0", text, {}, {".": "sha256:1"}, each_file=before_files)
    now = RecordedStep(
        "stage-0", text, {}, {".": "sha256:2"}, shown=text, each_file=now_files, reads_git=True
    )
    rec = CacheRecord("full", NOW, "sha256:c", (RecordedBase(NAME, OLD, NOW),), (before,))
    cause = miss_cause_of(_upstream(uses(now_digest=OLD), (now,), rec), "stage-0", text)
    assert cause is not None
    assert cause.detail == (
        "the files it reads changed: src/cli.py, .git/COMMIT_EDITMSG, .git/HEAD, .git/index, "
        ".git/logs/HEAD and 1 more (a COPY or ADD takes the context's .git: every commit "
        "changes it; "
        "add .git to .dockerignore)"
    )
    # .git now ignored: its files are gone from the step, and no advice to ignore it again
    ignored = RecordedStep(
        "stage-0", text, {}, {".": "sha256:3"}, shown=text, each_file={"src/cli.py": "b"}
    )
    cause = miss_cause_of(_upstream(uses(now_digest=OLD), (ignored,), rec), "stage-0", text)
    assert cause is not None
    assert cause.detail.startswith(
        "the files it reads changed: src/cli.py, src/app.py (removed), .git/"
    )
    assert ".dockerignore" not in cause.detail


def _step(stage: str, text: str, files: dict[str, str] | None = None, **kw: object) -> RecordedStep:
    return RecordedStep(stage, text, {}, files or {}, shown=text, **kw)  # type: ignore[arg-type]


# the issue's Dockerfile: a script read by `base`'s COPY, and `release` copying from `build`
SCRIPTS = "COPY .docker/scripts/*.sh /usr/local/bin/"
BUILD_RUN = "RUN make build"
FROM_BUILD = "COPY --from=build /app /app"


def _multi_stage(script_hash: str, build_run: str = BUILD_RUN) -> tuple[RecordedStep, ...]:
    return (
        _step("base", "WORKDIR /app"),
        _step("base", SCRIPTS, {".docker/scripts/*.sh": script_hash}),
        _step("build", build_run),
        _step("release", FROM_BUILD),
    )


def test_the_first_step_whose_own_input_changed_is_blamed_not_a_later_stages() -> None:
    """BuildKit numbers steps per stage: `release 2/3 COPY --from=build` comes before
    `base 3/4 COPY` by number, but its key changed only because `base`'s files did."""
    rec = CacheRecord("full", NOW, "sha256:c", (), _multi_stage("sha256:1"))
    upstream = Upstream(steps=_multi_stage("sha256:2"), record=rec)
    ran = [("release", FROM_BUILD), ("base", SCRIPTS), ("build", BUILD_RUN)]
    cause = first_cause(upstream, ran)
    assert cause is not None
    assert (cause.kind, cause.step) == ("files", SCRIPTS)
    assert cause.detail == "the files it reads changed: .docker/scripts/*.sh"
    # where no step changed an input of its own, the first of them in the Dockerfile's order
    same = Upstream(steps=_multi_stage("sha256:1"), record=rec)
    cause = first_cause(same, ran)
    assert cause is not None
    assert (cause.kind, cause.step) == ("unknown", SCRIPTS)
    assert first_cause(Upstream(steps=_multi_stage("sha256:1")), ran) is None


def test_an_edited_instruction_says_its_old_and_new_text() -> None:
    rec = CacheRecord("full", NOW, "sha256:c", (), _multi_stage("sha256:1"))
    edited = "RUN make build && make check"
    upstream = Upstream(steps=_multi_stage("sha256:1", edited), record=rec)
    cause = first_cause(upstream, [("release", FROM_BUILD), ("build", edited)])
    assert cause is not None
    assert (cause.kind, cause.step) == ("instruction", edited)
    assert cause.detail == f"its text changed: {BUILD_RUN} -> {edited}"
    assert cause.changes == (("text", BUILD_RUN, edited),)
    # a step added where none was: new, no old line
    added = (*_multi_stage("sha256:1"), _step("release", "RUN true"))
    cause = miss_cause_of(Upstream(steps=added, record=rec), "release", "RUN true")
    assert cause is not None
    assert (cause.kind, cause.detail) == ("instruction", "the instruction is new")


def test_the_registry_holds_the_steps_its_record_has_up_to_the_first_that_differs() -> None:
    rec = CacheRecord("full", NOW, "sha256:c", (), _multi_stage("sha256:1"))
    upstream = Upstream(steps=_multi_stage("sha256:2"), record=rec)
    assert registry_holds(upstream) == {
        ("base", "WORKDIR /app"),
        ("build", BUILD_RUN),
        ("release", FROM_BUILD),
    }
    assert registry_holds(Upstream(steps=_multi_stage("sha256:2"))) is None
    # a base that moved: nothing of the stages built on it
    [moved] = uses()
    on_moved = replace(upstream, bases=(moved,), chain_bases={"base": NAME})
    assert ("base", "WORKDIR /app") not in (registry_holds(on_moved) or set())


def test_a_record_keeps_each_steps_seconds_and_what_changed_since_the_build_before() -> None:
    before = (
        _step(
            "app", "COPY . .", {".": "sha256:1"}, each_file={"src/a.py": "1", "pyproject.toml": "1"}
        ),
        _step("app", "RUN pip install .", seconds=252.0),
    )
    rec = CacheRecord("full", NOW, "sha256:c", (), before)
    now = (
        _step(
            "app", "COPY . .", {".": "sha256:2"}, each_file={"src/a.py": "2", "pyproject.toml": "1"}
        ),
        _step("app", "RUN pip install ."),
    )
    upstream = Upstream(steps=now, record=rec)
    written = new_record(
        "full", upstream, now=NOW, cache_digest=None, owner="o", ran={"COPY . .": 0.5}
    )
    copy, install = written.steps
    assert (copy.seconds, copy.changed) == (0.5, ("src/a.py",))
    assert install.seconds == 252.0  # cached here: the record's figure stays
    read = CacheRecord.from_json(written.to_json())
    assert read is not None
    assert read.steps == written.steps
    # the same files again: the build that changed them is still the one named
    again = new_record(
        "full", Upstream(steps=now, record=written), now=NOW, cache_digest=None, owner="o"
    )
    assert again.steps[0].changed == ("src/a.py",)
    bad = written.to_json()
    bad["steps"][1]["seconds"] = "soon"
    assert CacheRecord.from_json(bad).steps[1].seconds is None  # type: ignore[union-attr]


def test_a_history_that_does_not_match_its_layers_gives_no_sizes() -> None:
    from buildcache.core.bases import layer_sizes

    manifest = {"layers": [{"size": 5}]}
    assert layer_sizes({"history": [{"created_by": "COPY a b # buildkit"}]}, manifest) == {
        "COPY a b": 5
    }
    assert layer_sizes({"history": []}, manifest) == {}
    step = _step("app", "COPY a b")
    written = new_record(
        "full",
        Upstream(steps=(step,)),
        now=NOW,
        cache_digest=None,
        owner="o",
        sizes={"COPY a b": 5},
    )
    assert written.steps[0].size == 5
    again = new_record(
        "full", Upstream(steps=(step,), record=written), now=NOW, cache_digest=None, owner="o"
    )
    assert again.steps[0].size == 5  # not pushed this time: the record's size stays


def test_a_step_the_engine_had_cached_is_blamed_where_its_input_changed() -> None:
    """entrypoint.sh changed back to what an earlier build had: the COPY came from the engine's
    cache, its new result made the RUN after it run."""
    salt = _step("base", "RUN echo salt > /salt")
    rec = CacheRecord("full", NOW, "sha256:c", (), (*_multi_stage("sha256:1"), salt))
    upstream = Upstream(steps=(*_multi_stage("sha256:2"), salt), record=rec)
    cause = first_cause(upstream, [("base", salt.text)])
    assert cause is not None
    assert (cause.kind, cause.step) == ("files", SCRIPTS)
    assert cause.detail.endswith("(its result came from the engine's own cache)")
