"""Pure: `init --from` proves its migration before it says it is done.

For each event the workflow handles (migrate/events.py), the tags the written config plans
(core/plan/make.plan_run, with the version and --no-latest the migrated step passes for it) are
compared with the tags the original job publishes: its shell step run in simulation
(migrate/bash_subset.py) for each variant. An event the job does not run on (its `if:`, kept in
the workflow as it was) or does not push on agrees by itself. Where the original's tags are
metadata-action's rules, they are carried verbatim into the config and read by buildcache's
implementation of them (tested against metadata-action's own tests): such an event is said to be
not evaluated here, as is one whose tags hold a value the simulation cannot know.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from buildcache.core.config.model import Config
from buildcache.core.plan.ci import Event, RunContext
from buildcache.core.plan.make import plan_run
from buildcache.core.plan.request import PlanRequest, RunFacts
from buildcache.core.reference import ImageRef
from buildcache.errors import BuildcacheError
from buildcache.migrate.events import PR_NUMBER, RELEASE_TAG, SHA, SimulatedEvent
from buildcache.migrate.expressions import UNKNOWN, render
from buildcache.migrate.from_workflow import Migration
from buildcache.migrate.shell_tags import ManualRun, ShellStep, step_tags

Verdict = Literal["agrees", "differs", "not evaluated"]
_NOT_A_SHELL_STEP = "its tags are neither a shell step's nor metadata-action's: carried as they are"
_RUN_TIME = datetime(2025, 6, 15, 12, tzinfo=UTC)  # one time for every event's {{date}}


@dataclass(frozen=True)
class EventCheck:
    event: str  # the event's label (`a release v1.2.3`)
    verdict: Verdict
    detail: str = ""  # what differs (each side's tags), or why it was not evaluated


@dataclass(frozen=True)
class OriginalJob:
    """What the original job does, as the migration read it."""

    tag_step: ShellStep | None  # the shell step that makes the tags; None: metadata-action's
    variants: Sequence[tuple[str, Mapping[str, str]]]  # each variant's name and matrix entry
    job_if: str | None = None
    push: str | None = None  # build-push-action's `push`, as written
    manual: Sequence[ManualRun] = ()  # the versions the migrated step passes a manual run
    meta: Mapping[str, str] = field(default_factory=dict)  # metadata-action's inputs, as written
    known: Mapping[str, str] = field(default_factory=dict)  # `${{ }}`'s values before a run

    @classmethod
    def of(cls, migration: Migration) -> OriginalJob:
        """The original job as `init --from` read it."""
        return cls(
            tag_step=migration.tag_step,
            variants=migration.variant_entries,
            job_if=migration.job_if,
            push=migration.push,
            manual=migration.manual,
            meta=migration.meta,
            known=migration.known,
        )


def prove(config: Config, job: OriginalJob, events: Sequence[SimulatedEvent]) -> list[EventCheck]:
    """One check for each event."""
    return [_check(config, job, event) for event in events]


def _check(config: Config, job: OriginalJob, event: SimulatedEvent) -> EventCheck:
    if job.job_if is not None and _is_false(job.job_if, event, bare_is_expression=True):
        return EventCheck(event.label, "agrees", "the job does not run on it (its if:, kept)")
    if job.push is not None and _is_false(job.push, event, bare_is_expression=False):
        return EventCheck(event.label, "agrees", "it pushes nothing (its push:, kept)")
    expected = _original_tags(job, event)
    if isinstance(expected, str):
        return EventCheck(event.label, "not evaluated", expected)
    planned = _planned(config, job, event)
    if isinstance(planned, str):
        return EventCheck(event.label, "differs", f"buildcache plans nothing: {planned}")
    differences = [
        f"{name}: the workflow {', '.join(sorted(refs)) or 'nothing'}; buildcache "
        f"{', '.join(sorted(planned.get(name, set()))) or 'nothing'}"
        for name, refs in expected.items()
        if refs != planned.get(name, set())
    ]
    if differences:
        return EventCheck(event.label, "differs", "; ".join(differences))
    return EventCheck(event.label, "agrees")


def _original_tags(job: OriginalJob, event: SimulatedEvent) -> dict[str, set[str]] | str:
    """Each variant's references the original job publishes in the event (as the registry
    names them), or why they cannot be known."""
    notes: list[str] = []
    if job.tag_step is not None:
        found = step_tags(job.tag_step, event, job.variants, notes)
    elif job.meta.get("tags") or job.meta.get("images"):
        found = {name: _metadata_tags(job, entry, event) for name, entry in job.variants}
    else:
        return _NOT_A_SHELL_STEP
    if any(UNKNOWN in ref for refs in found.values() for ref in refs):
        return "a tag made of what cannot be known"
    if notes:
        return notes[0]
    return {name: {_normal(ref) for ref in refs} for name, refs in found.items()}


def _metadata_tags(job: OriginalJob, entry: Mapping[str, str], event: SimulatedEvent) -> list[str]:
    """The references the original metadata-action step gives the variant's matrix entry in the
    event: its own `images`, `tags` and `flavor` lines (each `${{ }}` filled in for the entry),
    by metadata-action's rules; UNKNOWN in them where a line holds what cannot be known."""
    from buildcache.core.plan.rules import RuleEvent, latest_tag, parse_flavor, rule_tags

    values = {**job.known, **event.context, **{f"matrix.{k}": v for k, v in entry.items()}}

    def lines(name: str) -> list[str]:
        text = render(job.meta.get(name, ""), values)
        return [line.strip() for line in text.splitlines() if line.strip()[:1] not in ("", "#")]

    images = [line.split(",")[0].removeprefix("name=").lower() for line in lines("images")]
    written = [*images, *lines("tags"), *lines("flavor")]
    if any(UNKNOWN in line or "${{" in line for line in written):
        return [UNKNOWN]  # a line of what cannot be known (a secret, another step's output)
    pull = event.kind == "pull_request"
    rule_event = RuleEvent(
        ref=event.env["GITHUB_REF"],
        event=event.env["GITHUB_EVENT_NAME"],
        sha=SHA,
        default_branch="main",
        pr_base_ref="main" if pull else None,
        now=_RUN_TIME,
    )
    try:
        found = rule_tags(lines("tags"), flavor := parse_flavor(lines("flavor")), rule_event)
    except BuildcacheError:  # a line metadata-action would refuse too: not evaluated
        return [UNKNOWN]
    tags = [t for t in (found.main, *(v for v, _ in found.partial)) if t]
    tags += [latest_tag(flavor)] if found.latest else []
    return [f"{image}:{tag}" for image in images for tag in tags]


def _normal(reference: str) -> str:
    """A reference as the registry names it (acme/ccc:1 is docker.io/acme/ccc:1)."""
    try:
        return str(ImageRef.parse(reference))
    except ValueError:  # the reference parser's ReferenceError: compared as written
        return reference


def _is_false(expression: str, event: SimulatedEvent, *, bare_is_expression: bool) -> bool:
    """`expression` is false for the event (an `if:` is an expression without `${{ }}` too, a
    `push:` a literal); not where it cannot be evaluated."""
    text = expression.strip()
    if bare_is_expression and "${{" not in text:
        text = "${{ " + text + " }}"
    value = render(text, event.context)
    return UNKNOWN not in value and value.strip().lower() in ("false", "", "0")


def _planned(config: Config, job: OriginalJob, event: SimulatedEvent) -> dict[str, set[str]] | str:
    """Each variant's references the config plans for the event, as the migrated step runs it;
    the plan's refusal where it refuses."""
    version = _manual_version(job.manual, event)
    request = PlanRequest(version=version, no_latest=version is not None)
    try:
        plan = plan_run(config, request, RunFacts(context=_run_context(event)))
    except BuildcacheError as error:
        return error.message
    return {v.name: {str(ref) for ref in v.tags} for v in plan.variants}


def _manual_version(manual: Sequence[ManualRun], event: SimulatedEvent) -> str | None:
    """The version the migrated step passes a manual run: its switch's own, else every manual
    run's."""
    if event.kind != "manual":
        return None
    own = [m.version for m in manual if m.input is not None and m.input == event.input]
    every = [m.version for m in manual if m.input is None]
    return next(iter(own + every), None)


def _run_context(event: SimulatedEvent) -> RunContext:
    """The run as GitHub's provider reads it (ci/github.py) for the simulated event."""
    release = event.kind == "release"
    pull = event.kind == "pull_request"
    kinds: dict[str, Event] = {"release": "tag", "pull_request": "pull_request", "manual": "manual"}
    return RunContext(
        ci="github",
        branch=None if release else ("feature" if pull else event.branch),
        default_branch="main",
        tag_build=release,
        pull_request=pull,
        fork=False,
        sha=SHA,
        event=kinds.get(event.kind, "schedule" if event.kind == "schedule" else "branch"),
        tag=RELEASE_TAG if release else None,
        pr_number=PR_NUMBER if pull else None,
        base_ref="main" if pull else None,
    )
