"""Pure: the events a workflow handles, each as a simulated run of it sees them.

From the workflow's `on:`: a release (or a tag push) `v1.2.3`, a push to each branch it names,
a pull request, a schedule, a manual run and one with each boolean input on. Each comes with the
`${{ }}` contexts (github.*, inputs.*) and the GITHUB_* variables its run would have; `init
--from` runs a shell step against them (migrate/shell_tags.py) and compares the tags the
migrated config plans with the workflow's own for each.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from buildcache.migrate.expressions import UNKNOWN

RELEASE_TAG = "v1.2.3"  # the release the simulation publishes; its parts are easy to tell apart
SHA = "0123456789abcdef0123456789abcdef01234567"
PR_NUMBER = "12"


@dataclass(frozen=True)
class SimulatedEvent:
    """An event the workflow handles, as a simulated run of it sees it: its contexts and
    variables, made up where they cannot matter (a SHA, a pull request's number)."""

    label: str  # how a note names it
    kind: str  # release, branch, pull_request, schedule, manual
    context: Mapping[str, str]  # `${{ }}`'s values
    env: Mapping[str, str]  # GitHub's variables
    input: str | None = None  # a manual run's boolean input turned on
    branch: str = ""


def dispatch_inputs(triggers: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    dispatch = triggers.get("workflow_dispatch") or {}
    inputs = dispatch.get("inputs") if isinstance(dispatch, dict) else None
    if not isinstance(inputs, dict):
        return {}
    return {str(k): v if isinstance(v, dict) else {} for k, v in inputs.items()}


def workflow_events(triggers: Mapping[str, Any], repository: str | None) -> list[SimulatedEvent]:
    """One event of each kind the triggers start, with the values a run of it sees."""
    inputs = dispatch_inputs(triggers)
    runs = []
    push = triggers.get("push")
    push = push if isinstance(push, dict) else {}
    if "release" in triggers:
        runs.append(
            _event("a release " + RELEASE_TAG, "release", "release", RELEASE_TAG, repository)
        )
    elif push and push.get("tags"):
        runs.append(_event("a tag push " + RELEASE_TAG, "release", "push", RELEASE_TAG, repository))
    if "push" in triggers:
        runs += [_event(f"a push to {b}", "branch", "push", b, repository) for b in _branches(push)]
    if "pull_request" in triggers or "pull_request_target" in triggers:
        runs.append(_event("a pull request", "pull_request", "pull_request", "", repository))
    if "schedule" in triggers:
        runs.append(_event("a scheduled run", "schedule", "schedule", "main", repository))
    if "workflow_dispatch" in triggers:
        runs += _manual_events(inputs, repository)
    # a workflow without triggers init knows is read as a push to main would run it
    runs = runs or [_event("a push to main", "branch", "push", "main", repository)]
    return [_with_inputs(run, inputs) for run in runs]


def _branches(push: Mapping[str, Any]) -> list[str]:
    """The branches a push builds, where they are names (main where it names none)."""
    listed = push.get("branches") or []
    listed = [listed] if isinstance(listed, str) else listed  # `branches: main` is one
    names = [str(b) for b in listed if not re.search(r"[*?\[!]", str(b))]
    return names or (["main"] if not push.get("tags") else [])


def _manual_events(
    inputs: Mapping[str, Mapping[str, Any]], repository: str | None
) -> list[SimulatedEvent]:
    plain = _event("a manual run", "manual", "workflow_dispatch", "main", repository)
    switches = [name for name, spec in inputs.items() if spec.get("type") == "boolean"]
    return [plain] + [
        _event(f"a manual run with {name}", "manual", "workflow_dispatch", "main", repository, name)
        for name in switches
    ]


def _event(
    label: str, kind: str, event: str, ref_name: str, repository: str | None, switch: str = ""
) -> SimulatedEvent:
    ref = _ref(kind, ref_name)
    owner = (repository or "").split("/")[0]
    env = {
        "GITHUB_EVENT_NAME": event,
        "GITHUB_REF": ref,
        "GITHUB_REF_NAME": ref_name or f"{PR_NUMBER}/merge",
        "GITHUB_REF_TYPE": "tag" if kind == "release" else "branch",
        "GITHUB_SHA": SHA,
        "GITHUB_REPOSITORY": repository or UNKNOWN,
        "GITHUB_REPOSITORY_OWNER": owner or UNKNOWN,
        "GITHUB_HEAD_REF": "feature" if kind == "pull_request" else "",
        "GITHUB_BASE_REF": "main" if kind == "pull_request" else "",
    }
    context = {"github." + k.removeprefix("GITHUB_").lower(): v for k, v in env.items()}
    if kind == "release":
        context |= {f"github.event.release.{k}": ref_name for k in ("tag_name", "name")}
        context["github.event.release.prerelease"] = "false"
    if kind == "pull_request":
        context["github.event.pull_request.number"] = PR_NUMBER
        context["github.event.number"] = PR_NUMBER
    return SimulatedEvent(label, kind, context, env, input=switch or None, branch=ref_name)


def _ref(kind: str, name: str) -> str:
    if kind == "release":
        return f"refs/tags/{name}"
    return f"refs/pull/{PR_NUMBER}/merge" if kind == "pull_request" else f"refs/heads/{name}"


def _with_inputs(run: SimulatedEvent, inputs: Mapping[str, Mapping[str, Any]]) -> SimulatedEvent:
    """The inputs context: a manual run's defaults (its own switch on), empty for other events."""
    values = {}
    for name, spec in inputs.items():
        value = "" if run.kind != "manual" else _input_default(spec)
        values[name] = "true" if name == run.input else value
    context = dict(run.context)
    for name, value in values.items():
        context[f"inputs.{name}"] = context[f"github.event.inputs.{name}"] = value
    return SimulatedEvent(run.label, run.kind, context, run.env, run.input, run.branch)


def _input_default(spec: Mapping[str, Any]) -> str:
    default = spec.get("default", "")
    if isinstance(default, bool):
        return "true" if default else "false"
    return "false" if default in ("", None) and spec.get("type") == "boolean" else str(default)
