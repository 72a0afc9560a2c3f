"""commands/bake.py: the bakes of one run, over a stand-in for `docker buildx bake`: each bake
feeds the tracker the vertexes BuildKit would report and ends as the outcome given."""

from __future__ import annotations

import io
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rich.console import Console

from buildcache.buildkit.metadata import TargetMetadata
from buildcache.buildkit.tracker import BuildTracker
from buildcache.commands.bake import bake_all, bake_the_others
from buildcache.core.config.load import parse_config
from buildcache.core.plan.model import BuildPlan
from buildcache.core.publish.writes import RetryPolicy
from buildcache.errors import BuildFailed
from tests.unit.plans import make_plan

TWO_VARIANTS = """\
images = ["ghcr.io/acme/widget"]
[variants.slim]
default = true
[variants.full]
"""
NO_WAIT = RetryPolicy(attempts=3, backoff=0.0)


def _step(variant: str, n: int, *, error: str | None = None) -> dict[str, object]:
    """Step n of 2 of a variant, done (from the cache), or failed with `error`."""
    vertex: dict[str, object] = {
        "digest": f"sha256:{variant}{n}",
        "name": f"[{variant} {n}/2] RUN {variant} step {n}",
        "started": "2026-11-30T10:00:00Z",
        "completed": "2026-11-30T10:00:01Z",
        "cached": error is None,
    }
    return vertex | ({"error": error} if error else {})


def _export(error: str) -> dict[str, object]:
    return {
        "digest": "sha256:export",
        "name": "exporting to image",
        "started": "2026-11-30T10:00:02Z",
        "completed": "2026-11-30T10:00:03Z",
        "error": error,
    }


@dataclass
class Outcome:
    vertexes: list[dict[str, object]]
    failure: str | None = None  # bake's exit, where it failed


@dataclass
class StandInBake:
    """Answers each bake with the next outcome; remembers which variants each bake built."""

    outcomes: list[Outcome]
    client: object = None
    baked: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def __call__(
        self, part: BuildPlan, tracker: BuildTracker, name: str
    ) -> tuple[dict[str, TargetMetadata], BuildFailed | None]:
        self.baked.append((name, tuple(v.name for v in part.variants)))
        outcome = self.outcomes.pop(0)
        tracker.update({"vertexes": outcome.vertexes})
        if outcome.failure is not None:
            return {}, BuildFailed(outcome.failure)
        return {v.name: TargetMetadata(digest=f"sha256:{v.name}") for v in part.variants}, None


def _two_variants() -> BuildPlan:
    config = parse_config(tomllib.loads(TWO_VARIANTS), {}, path=Path("/r/b.toml"), root=Path("/r"))
    return make_plan(config, version="1.0", push=True)


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200), out


ALL_DONE = [_step(v, n) for v in ("slim", "full") for n in (1, 2)]


def test_a_push_that_met_a_registrys_bad_moment_is_baked_again_from_the_cache() -> None:
    bake = StandInBake(
        [
            Outcome([*ALL_DONE, _export("failed to push: 503 Service Unavailable")], "exit 1"),
            Outcome(ALL_DONE),
        ]
    )
    console, out = _console()
    baked = bake_all(bake, _two_variants(), NO_WAIT, console)  # type: ignore[arg-type]
    assert [name for name, _ in bake.baked] == ["all", "retry-1"]
    assert baked.error is None
    assert baked.digests() == {"slim": "sha256:slim", "full": "sha256:full"}
    assert "retry: the push failed (failed to push: 503 Service Unavailable)" in out.getvalue()


@pytest.mark.parametrize(
    ("reason", "again"),
    [
        # another release pushed the same staging tag at that moment: buildcache's own tag
        ('failed to push 127.0.0.1:5000/acme/widget:buildcache-slim-image: failed commit on ref '
         '"manifest-sha256:9358": unexpected status from PUT request: 400 Bad Request', True),
        # a 400 on a user's tag is the registry refusing what was sent: not a race
        ('failed to push 127.0.0.1:5000/acme/widget:1.0: unexpected status: 400 Bad Request', False),
    ],
)  # fmt: skip
def test_a_400_on_the_staging_tag_is_a_lost_race_and_baked_again(reason: str, again: bool) -> None:
    bake = StandInBake([Outcome([*ALL_DONE, _export(reason)], "exit 1"), Outcome(ALL_DONE)])
    bake_all(bake, _two_variants(), NO_WAIT, _console()[0])  # type: ignore[arg-type]
    assert [name for name, _ in bake.baked] == (["all", "retry-1"] if again else ["all"])


def test_a_push_refused_for_its_credentials_is_not_baked_again() -> None:
    refused = "failed to push: 401 Unauthorized"
    bake = StandInBake([Outcome([*ALL_DONE, _export(refused)], "exit 1")])
    baked = bake_all(bake, _two_variants(), NO_WAIT, _console()[0])  # type: ignore[arg-type]
    assert [name for name, _ in bake.baked] == ["all"]
    failure = baked.failure()
    assert failure is not None
    assert failure.message == f"the push failed after every step was done: {refused}"
    assert "log in with a token that may push" in (failure.hint or "")
    assert "no tag was written on any registry" in (failure.hint or "")


@pytest.mark.parametrize(
    "reason",
    [
        'failed to push: failed to do request: Head "http://127.0.0.1:9/v2/acme/widget/blobs/'
        'sha256:1e56": dial tcp 127.0.0.1:9: connect: connection refused',
        "failed to push: dial tcp: lookup nowhere.example on 127.0.0.53:53: no such host",
    ],
)
def test_a_push_to_a_registry_that_is_not_there_is_not_baked_again(reason: str) -> None:
    bake = StandInBake([Outcome([*ALL_DONE, _export(reason)], "exit 1")])
    console, out = _console()
    baked = bake_all(bake, _two_variants(), NO_WAIT, console)  # type: ignore[arg-type]
    assert [name for name, _ in bake.baked] == ["all"]
    assert baked.error is not None
    assert "retry" not in out.getvalue()


def test_retries_stop_at_the_policys_attempts() -> None:
    busy = Outcome([*ALL_DONE, _export("failed to push: 429 Too Many Requests")], "exit 1")
    bake = StandInBake([busy, busy, busy])
    baked = bake_all(bake, _two_variants(), NO_WAIT, _console()[0])  # type: ignore[arg-type]
    assert [name for name, _ in bake.baked] == ["all", "retry-1", "retry-2"]
    assert baked.error is not None


def test_keep_going_bakes_the_variants_that_did_not_fail_again_on_their_own() -> None:
    failed = [_step("slim", 1), _step("slim", 2), _step("full", 1, error="exit code: 2")]
    bake = StandInBake([Outcome(failed, "exit 1"), Outcome([_step("slim", 1), _step("slim", 2)])])
    plan = _two_variants()
    console, out = _console()
    first = bake_all(bake, plan, NO_WAIT, console)  # type: ignore[arg-type]
    assert {n: s.state for n, s in first.statuses.items()} == {
        "slim": "cancelled",
        "full": "failed",
    }
    baked = bake_the_others(bake, plan, first, console)  # type: ignore[arg-type]
    assert bake.baked[-1] == ("others", ("slim",))
    assert {n: s.state for n, s in baked.statuses.items()} == {"slim": "built", "full": "failed"}
    assert [v.name for v in baked.built_plan(plan).variants] == ["slim"]
    assert "full failed; baking slim again on their own" in out.getvalue()
    # the report of slim reads the second bake, full's the first
    reports = baked.reports(plan)
    assert (reports["slim"].total, reports["slim"].cached) == (2, 2)
    assert reports["full"].first_executed == "[linux/amd64] 1/2 RUN full step 1"
    failure = baked.failure()
    assert failure is not None
    assert failure.message.startswith("the build failed at full")


def _ran(variant: str) -> Sequence[dict[str, object]]:
    """Step 2 of a variant, run (not from the cache)."""
    return [_step(variant, 2) | {"cached": False}]


def _export_of(variant: str, error: str | None = None) -> dict[str, object]:
    """A variant's own push (`[slim] exporting to image`), done or failed with `error`."""
    return _export(error or "") | {
        "digest": f"sha256:export-{variant}",
        "name": f"[{variant}] exporting to image",
    }


def test_one_variants_failed_push_is_its_own_failure_never_anothers() -> None:
    """slim's registry refused its push (docker's 401); full's push went through: full's
    status and the run's error name slim's push, never full's."""
    refused = "failed to push 127.0.0.1:5000/acme/widget: 401 Unauthorized"
    vertexes = [*ALL_DONE, _export_of("slim", refused), _export_of("full")]
    bake = StandInBake([Outcome(vertexes, "exit 1")])
    baked = bake_all(bake, _two_variants(), NO_WAIT, _console()[0])  # type: ignore[arg-type]
    assert baked.statuses["slim"].state == "failed"
    assert baked.statuses["slim"].error == refused
    full = baked.statuses["full"]
    assert full.state == "cancelled"
    assert refused not in (full.error or "")
    assert "the push of slim failed" in (full.error or "")
    failure = baked.failure()
    assert failure is not None
    assert failure.message == f"the push of slim failed after every step was done: {refused}"
    # where buildx reported full's image, full was built: it is published with --keep-going
    from buildcache.buildkit.report import variant_status

    exported = {"full": TargetMetadata(digest="sha256:full")}
    assert variant_status("full", baked.first, exported, "exit 1").state == "built"


def test_a_push_that_failed_while_other_steps_ran_says_to_run_again() -> None:
    """A registry gone mid-build: slim's push failed while full's last step still ran (and was
    cancelled), so not every step was done; still nothing was tagged, and a re-run completes."""
    running = {**_step("full", 2), "completed": None, "cached": False}
    refused = "failed to push: dial tcp 127.0.0.1:5102: connect: connection refused"
    vertexes = [_step("slim", 1), _step("slim", 2), _step("full", 1), running, _export(refused)]
    bake = StandInBake([Outcome(vertexes, "exit 1")])
    baked = bake_all(bake, _two_variants(), NO_WAIT, _console()[0])  # type: ignore[arg-type]
    failure = baked.failure()
    assert failure is not None
    assert "run the same command again" in (failure.hint or "")
    assert "no tag was written on any registry" in (failure.hint or "")
