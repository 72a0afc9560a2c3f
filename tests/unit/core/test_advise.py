"""core/advise.py: the three layouts found in a variant's steps, measured by its record."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from buildcache.core.advise import Advice, advise, advise_plan, duration
from buildcache.core.bases import CacheRecord, RecordedStep, Upstream
from buildcache.core.config.load import parse_config
from tests.unit.plans import make_plan

NOW = datetime(2026, 12, 8, tzinfo=UTC)
INSTALL = "RUN --mount=type=cache,target=/root/.cache pip install ."
FILES = {"pyproject.toml": "1", "uv.lock": "1", "src/app.py": "1", "README.md": "1"}


def _step(text: str, files: dict[str, str] | None = None, **kw: object) -> RecordedStep:
    return RecordedStep("app", text, {}, files or {}, shown=text, **kw)  # type: ignore[arg-type]


def _upstream(*steps: RecordedStep, recorded: tuple[RecordedStep, ...] | None = None) -> Upstream:
    record = None if recorded is None else CacheRecord("slim", NOW, "sha256:c", (), recorded)
    return Upstream(steps=steps, record=record)


def test_a_whole_context_copy_before_an_install_names_its_files_the_change_and_the_time() -> None:
    copy = _step("COPY . .", {".": "sha256:2"}, each_file=FILES)
    recorded = (
        _step("COPY . .", {".": "sha256:2"}, each_file=FILES, changed=("src/app.py",)),
        _step(INSTALL, seconds=252.4),
    )
    [advice] = advise(
        "slim", _upstream(_step("WORKDIR /app"), copy, _step(INSTALL), recorded=recorded)
    )
    assert advice.kind == "copy-first"
    assert advice.files == ("pyproject.toml", "uv.lock")
    assert advice.changed == ("src/",)
    assert advice.seconds == 252.4
    assert advice.worth_it
    assert advice.message.startswith(
        "copy pyproject.toml and uv.lock first: pip install reran for a change to src/, 4 m 12 s"
    )
    # a change since the record is this checkout's: it will run again
    now = _step("COPY . .", {".": "sha256:3"}, each_file=FILES | {"README.md": "2"})
    [advice] = advise("slim", _upstream(now, _step(INSTALL), recorded=recorded))
    assert "pip install will run again for the change to README.md" in advice.message
    # this build's own figure wins over the record's
    [advice] = advise("slim", _upstream(copy, _step(INSTALL), recorded=recorded), {INSTALL: 3.0})
    assert advice.seconds == 3.0
    assert not advice.worth_it
    # no record: the advice stands, its time is unknown, and it runs for any change
    [advice] = advise("slim", _upstream(copy, _step(INSTALL)))
    assert advice.seconds is None
    assert "pip install runs again for any change to the context, ?" in advice.message


def test_the_dependency_files_first_or_no_install_gives_no_copy_advice() -> None:
    first = _step("COPY pyproject.toml uv.lock ./", {"pyproject.toml": "1", "uv.lock": "1"})
    assert advise("slim", _upstream(first, _step(INSTALL), _step("COPY . .", {".": "1"}))) == []
    assert advise("slim", _upstream(_step("COPY . .", {".": "1"}), _step("RUN make"))) == []
    npm = advise("slim", _upstream(_step("COPY . .", {".": "1"}), _step("RUN npm ci")))
    assert [a.files for a in npm] == [("package.json", "package-lock.json")]


def test_a_recursive_chown_alone_and_an_apt_update_alone_are_named() -> None:
    steps = (
        _step("RUN apt-get update"),
        _step("RUN apt-get update && apt-get install -y curl"),
        _step("RUN chown -R app /app"),  # before any COPY: nothing copied to duplicate
        _step("COPY src/ /app/", {"src/": "1"}),
        _step("RUN chown -R app:app /app && chmod -R g+w /app"),
        _step("RUN chown app /app/run.sh"),  # not recursive
        _step("RUN chmod -R 755 /app && make"),  # a layer that does more
    )
    found = advise("slim", _upstream(*steps, recorded=(_step("RUN apt-get update", seconds=9.0),)))
    assert [(a.kind, a.step) for a in found] == [
        ("apt-update-alone", "RUN apt-get update"),
        ("chown-layer", "RUN chown -R app:app /app && chmod -R g+w /app"),
    ]
    assert found[0].seconds == 9.0
    assert "COPY --chown" in found[1].message


def test_advice_of_a_plan_is_said_once_per_dockerfile_with_a_note_where_no_record() -> None:
    config = parse_config(
        {"images": ["ghcr.io/a/w"], "variants": {"slim": {}, "full": {}}},
        {},
        path=Path("/r/buildcache.toml"),
        root=Path("/r"),
    )
    plan = make_plan(config, version="1")
    steps = (_step("COPY . .", {".": "1"}), _step(INSTALL))
    plan = plan.with_upstreams({"slim": _upstream(*steps), "full": _upstream(*steps)}, [])
    found, notes = advise_plan(plan)
    assert [a.variant for a in found] == ["slim"]
    assert len(notes) == 2
    assert "no figures" in notes[0]
    assert found[0].to_json()["kind"] == "copy-first"


def test_durations_read_as_people_say_them() -> None:
    assert [duration(s) for s in (None, 4.2, 59.6, 252.4)] == ["?", "4 s", "1 m 0 s", "4 m 12 s"]
    assert Advice("chown-layer", "v", "s", "RUN x", "m").worth_it is False


def test_a_chown_layer_says_its_size_from_the_record() -> None:
    steps = (_step("COPY . /app", {".": "1"}), _step("RUN chown -R app /app"))
    recorded = (_step("RUN chown -R app /app", size=123_400_000),)
    [advice] = advise("slim", _upstream(*steps, recorded=recorded))
    assert advice.size == 123_400_000
    assert advice.worth_it
    assert "a second time (123.4 MB)" in advice.message
    [advice] = advise("slim", _upstream(*steps))
    assert "size unknown" in advice.message
