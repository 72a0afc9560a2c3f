"""Pure: the tags a workflow's shell step computes (`tags=` written to `$GITHUB_OUTPUT` from
`github.event_name`, `inputs.*`, the release's tag), read as docker/metadata-action's rules.

The step is run in simulation (core/workflow_run.py) once for each kind of run the workflow's
triggers start: a release `v1.2.3`, a push to each branch it names, a pull request, a schedule,
a manual run with each boolean input on. Each tag the script made becomes the nearest rule:
`1.2.3` `type=semver,pattern={{version}}`, `1.2` its `{{major}}.{{minor}}`, `latest` the flavor's
`latest=auto`, `edge` on a push to main `type=edge,branch=main`, the branch's name
`type=ref,event=branch`, `pr-12` `type=ref,event=pr`; a manual run's literal tag (`test`) is a
version that is no release: `--version test --no-latest`, which the printed workflow passes.
What was guessed is said in a note; what has no rule is said too, and never stops init.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from buildcache.core.workflow_run import UNKNOWN, render, run_step

RELEASE_TAG = "v1.2.3"  # the release the simulation publishes; its parts are easy to tell apart
_SHA = "0123456789abcdef0123456789abcdef01234567"
_PR_NUMBER = "12"
# each part of the release as a tag pattern, longest first (1.2.3 before 1.2 before 1)
_VERSION_PARTS = (
    ("v1.2.3", "{{raw}}"),
    ("1.2.3", "{{version}}"),
    ("1.2", "{{major}}.{{minor}}"),
)
_MAJOR = re.compile(r"(?<![\d.])1(?![\d.])")
# the git tag without a leading v: what `${TAG#v}` in a release step gives; ahead of the
# series (semver: priority 900), as the run's version
_ANY_VERSION = "type=match,pattern=^v?(.*)$,group=1,priority=901"


@dataclass(frozen=True)
class ShellStep:
    """The step whose output the build's `tags` read."""

    script: str
    output: str  # the output's name (`tags`)
    env: Mapping[str, str]  # its `env:`, the job's and the workflow's (`${{ }}` unfilled)


@dataclass(frozen=True)
class ManualRun:
    """A manual run that the workflow tags with a literal tag of its own: buildcache builds it
    as a version that is no release (`--version test --no-latest`)."""

    input: str  # the workflow_dispatch boolean input that asks for it
    version: str


@dataclass(frozen=True)
class _Run:
    label: str  # how a note names it
    kind: str  # release, branch, pull_request, schedule, manual
    context: Mapping[str, str]  # `${{ }}`'s values
    env: Mapping[str, str]  # GitHub's variables
    input: str | None = None  # a manual run's boolean input turned on
    branch: str = ""


@dataclass
class ShellTags:
    images: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    flavor: list[str] = field(default_factory=list)
    latest_tags: dict[str, str] = field(default_factory=dict)  # variant -> its moving tag
    manual: list[ManualRun] = field(default_factory=list)
    guesses: list[str] = field(default_factory=list)  # each rule guessed, and from what
    notes: list[str] = field(default_factory=list)  # what has no rule


def shell_tags(
    step: ShellStep,
    *,
    triggers: Mapping[str, Any],
    variants: Sequence[tuple[str, Mapping[str, str]]],
    repository: str | None,
) -> ShellTags:
    """The rules that give the tags `step` computes, for each variant (name, matrix entry; the
    first is the default)."""
    found = ShellTags()
    runs = _runs(triggers, _inputs(triggers), repository)
    tags = {run.label: _variant_tags(step, run, variants, found) for run in runs}
    found.images = _images(tags)
    default = variants[0][0]
    bare = {label: _bare(by_variant.get(default, [])) for label, by_variant in tags.items()}
    for run in runs:
        _read_run(found, run, bare[run.label], _baseline(runs, bare, run))
        _variant_suffixes(found, run, tags[run.label], default)
    if not found.rules and not found.manual:
        found.notes.append(
            f"tags: the step writing {step.output} gave no tag init could read as a rule; "
            "buildcache's own (see docs/tags.md) apply"
        )
    return found


# The runs the triggers start


def _inputs(triggers: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    dispatch = triggers.get("workflow_dispatch") or {}
    inputs = dispatch.get("inputs") if isinstance(dispatch, dict) else None
    if not isinstance(inputs, dict):
        return {}
    return {str(k): v if isinstance(v, dict) else {} for k, v in inputs.items()}


def _runs(
    triggers: Mapping[str, Any], inputs: Mapping[str, Mapping[str, Any]], repository: str | None
) -> list[_Run]:
    runs = []
    push = triggers.get("push")
    push = push if isinstance(push, dict) else {}
    if "release" in triggers:
        runs.append(_run("a release " + RELEASE_TAG, "release", "release", RELEASE_TAG, repository))
    elif push and push.get("tags"):
        runs.append(_run("a tag push " + RELEASE_TAG, "release", "push", RELEASE_TAG, repository))
    if "push" in triggers:
        runs += [_run(f"a push to {b}", "branch", "push", b, repository) for b in _branches(push)]
    if "pull_request" in triggers or "pull_request_target" in triggers:
        runs.append(_run("a pull request", "pull_request", "pull_request", "", repository))
    if "schedule" in triggers:
        runs.append(_run("a scheduled run", "schedule", "schedule", "main", repository))
    if "workflow_dispatch" in triggers:
        runs += _manual_runs(inputs, repository)
    # a workflow without triggers init knows is read as a push to main would run it
    runs = runs or [_run("a push to main", "branch", "push", "main", repository)]
    return [_with_inputs(run, inputs) for run in runs]


def _branches(push: Mapping[str, Any]) -> list[str]:
    """The branches a push builds, where they are names (main where it names none)."""
    listed = push.get("branches") or []
    listed = [listed] if isinstance(listed, str) else listed  # `branches: main` is one
    names = [str(b) for b in listed if not re.search(r"[*?\[!]", str(b))]
    return names or (["main"] if not push.get("tags") else [])


def _manual_runs(inputs: Mapping[str, Mapping[str, Any]], repository: str | None) -> list[_Run]:
    plain = _run("a manual run", "manual", "workflow_dispatch", "main", repository)
    switches = [name for name, spec in inputs.items() if spec.get("type") == "boolean"]
    return [plain] + [
        _run(f"a manual run with {name}", "manual", "workflow_dispatch", "main", repository, name)
        for name in switches
    ]


def _run(
    label: str, kind: str, event: str, ref_name: str, repository: str | None, switch: str = ""
) -> _Run:
    ref = _ref(kind, ref_name)
    owner = (repository or "").split("/")[0]
    env = {
        "GITHUB_EVENT_NAME": event,
        "GITHUB_REF": ref,
        "GITHUB_REF_NAME": ref_name or f"{_PR_NUMBER}/merge",
        "GITHUB_REF_TYPE": "tag" if kind == "release" else "branch",
        "GITHUB_SHA": _SHA,
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
        context["github.event.pull_request.number"] = _PR_NUMBER
        context["github.event.number"] = _PR_NUMBER
    return _Run(label, kind, context, env, input=switch or None, branch=ref_name)


def _ref(kind: str, name: str) -> str:
    if kind == "release":
        return f"refs/tags/{name}"
    return f"refs/pull/{_PR_NUMBER}/merge" if kind == "pull_request" else f"refs/heads/{name}"


def _with_inputs(run: _Run, inputs: Mapping[str, Mapping[str, Any]]) -> _Run:
    """The inputs context: a manual run's defaults (its own switch on), empty for other events."""
    values = {}
    for name, spec in inputs.items():
        value = "" if run.kind != "manual" else _input_default(spec)
        values[name] = "true" if name == run.input else value
    context = dict(run.context)
    for name, value in values.items():
        context[f"inputs.{name}"] = context[f"github.event.inputs.{name}"] = value
    return _Run(run.label, run.kind, context, run.env, run.input, run.branch)


def _input_default(spec: Mapping[str, Any]) -> str:
    default = spec.get("default", "")
    if isinstance(default, bool):
        return "true" if default else "false"
    return "false" if default in ("", None) and spec.get("type") == "boolean" else str(default)


# Each run's tags


def _variant_tags(
    step: ShellStep,
    run: _Run,
    variants: Sequence[tuple[str, Mapping[str, str]]],
    found: ShellTags,
) -> dict[str, list[str]]:
    """Each variant's references (image:tag) the step writes in this run."""
    result = {}
    for name, entry in variants:
        context = {**run.context, **{f"matrix.{k}": v for k, v in entry.items()}}
        env = {k: render(str(v), context) for k, v in step.env.items()}
        context |= {f"env.{k}": v for k, v in env.items()}
        done = run_step(render(step.script, context), {**run.env, **env})
        if done.problem is not None:
            _note(found, f"tags: the step writing {step.output}: {done.problem}")
        # build-push-action's `tags`: newline- or comma-separated
        written = done.outputs.get(step.output, "")
        refs = (r.strip() for line in written.splitlines() for r in line.split(","))
        result[name] = list(dict.fromkeys(r for r in refs if r))
    return result


def _split(reference: str) -> tuple[str, str]:
    """ghcr.io/acme/ccc:1.2 -> (ghcr.io/acme/ccc, 1.2); a registry's port is no tag."""
    image, sep, tag = reference.rpartition(":")
    return (image.lower(), tag) if sep and "/" not in tag else (reference.lower(), "latest")


def _images(tags: Mapping[str, Mapping[str, list[str]]]) -> list[str]:
    refs = [ref for by_variant in tags.values() for refs in by_variant.values() for ref in refs]
    images = [_split(ref)[0] for ref in refs]
    return list(dict.fromkeys(i for i in images if UNKNOWN not in i))


def _bare(references: Sequence[str]) -> list[str]:
    """The tags of the references, each once, in order."""
    return list(dict.fromkeys(_split(ref)[1] for ref in references))


def _baseline(runs: Sequence[_Run], bare: Mapping[str, list[str]], run: _Run) -> list[str]:
    """What a manual run gets when it asks for nothing: a push to the default branch's tags
    (a manual run builds main), else, for one with a switch on, a plain manual run's."""
    pushes = [r for r in runs if r.kind == "branch" and r.branch == "main"]
    plain = [r for r in runs if r.kind == "manual" and r.input is None and run.input is not None]
    return bare[(pushes or plain)[0].label] if pushes or plain else []


def _note(found: ShellTags, note: str) -> None:
    if note not in found.notes:
        found.notes.append(note)


def _read_run(found: ShellTags, run: _Run, tags: list[str], baseline: list[str]) -> None:
    unknown = [t for t in tags if UNKNOWN in t]
    if unknown:
        _note(
            found,
            f"tags: {run.label}: a tag the script makes from a command's output or a "
            "secret cannot be read; left out",
        )
    tags = [t for t in tags if UNKNOWN not in t]
    if run.kind == "release":
        _release(found, run, tags)
    elif run.kind == "manual":
        _manual(found, run, tags, baseline)
    else:
        _event(found, run, tags)


def _add(found: ShellTags, rule: str, tag: str, run: _Run) -> None:
    if rule not in found.rules:
        found.rules.append(rule)
        found.guesses.append(f"tags: {run.label} was tagged {tag}: {rule}")


def _release(found: ShellTags, run: _Run, tags: list[str]) -> None:
    latest = "latest" in tags
    for tag in (t for t in tags if t != "latest"):
        pattern = _version_pattern(tag)
        if pattern is None:
            _note(found, f"tags: {run.label} was tagged {tag}, a tag no rule makes; left out")
        else:
            _add(found, _release_rule(pattern), tag, run)
    found.flavor = ["latest=auto" if latest else "latest=false"]
    if latest:
        found.guesses.append(
            f"tags: {run.label} moved latest: latest=auto moves it for the highest release only "
            "(a hotfix of an older series keeps it where it is)"
        )


def _release_rule(pattern: str) -> str:
    """The rule that makes a release's tag of `pattern` for any git tag the shell would have
    taken: the version itself by a match (v1.4.0rc1, 2026.11 and v2 are releases a semver rule
    skips), the git tag as it is by ref, a series by semver (skipped where the tag is none)."""
    for part, rule in (("{{version}}", _ANY_VERSION), ("{{raw}}", "type=ref,event=tag")):
        if part in pattern:
            prefix, suffix = pattern.split(part, 1)
            affixes = (f",prefix={prefix}" if prefix else "") + (
                f",suffix={suffix}" if suffix else ""
            )
            return rule + affixes
    return f"type=semver,pattern={pattern}"


def _version_pattern(tag: str) -> str | None:
    """The semver pattern that makes `tag` of the release v1.2.3 (`1.2-slim` -> `{{major}}.{{minor}}-slim`)."""
    for text, pattern in _VERSION_PARTS:
        if text in tag:
            return tag.replace(text, pattern, 1)
    if _MAJOR.search(tag):
        return _MAJOR.sub("{{major}}", tag, count=1)
    return None


def _event(found: ShellTags, run: _Run, tags: list[str]) -> None:
    """A push to a branch, a pull request or a schedule: its tags as the rules of its event."""
    for tag in tags:
        rule = _event_rule(run, tag)
        if rule is None:
            _note(found, f"tags: {run.label} was tagged {tag}, a tag no rule makes; left out")
        else:
            _add(found, rule, tag, run)


def _event_rule(run: _Run, tag: str) -> str | None:
    slug = re.sub(r"[^a-z0-9._-]+", "-", run.branch.lower())
    if run.kind == "pull_request":
        return "type=ref,event=pr" if tag == f"pr-{_PR_NUMBER}" else None
    if run.kind == "schedule":
        return "type=schedule" if tag == "nightly" else f"type=schedule,pattern={tag}"
    if tag == slug:
        return "type=ref,event=branch"
    if tag in (f"sha-{_SHA[:7]}", f"sha-{_SHA}"):
        return "type=sha" if len(tag) < 12 else "type=sha,format=long"
    if tag == "edge":
        return f"type=edge,branch={run.branch}"
    return (
        f"type=raw,value={tag},enable={{{{is_default_branch}}}}" if run.branch == "main" else None
    )


def _manual(found: ShellTags, run: _Run, tags: list[str], baseline: list[str]) -> None:
    """A manual run tagged as a push to main is: nothing of its own; one with a switch on that
    gets a tag of its own: that tag is a version that is no release."""
    own = [t for t in tags if t not in baseline]
    if not own:
        return
    if run.input is None:
        _event(found, run, own)
        return
    version = own[0].removesuffix("-latest")
    found.manual.append(ManualRun(run.input, version))
    rule = f"type=match,pattern=^{re.escape(version)}$"
    found.rules.append(rule)
    found.guesses.append(
        f"tags: {run.label} was tagged {', '.join(own)}: a version that is no release, "
        f"`buildcache build --version {version} --no-latest` (the workflow init prints passes it): {rule}"
    )


def _variant_suffixes(
    found: ShellTags, run: _Run, tags: Mapping[str, list[str]], default: str
) -> None:
    """Each other variant's tags are the default's with -<variant>, and its moving tag."""
    base = [t for t in _bare(tags.get(default, [])) if UNKNOWN not in t]
    for name, refs in tags.items():
        if name == default:
            continue
        own = [t for t in _bare(refs) if UNKNOWN not in t]
        expected = [f"{t}-{name}" for t in base if t != "latest"]
        extra = [t for t in own if t not in expected]
        if "latest" in base and len(extra) == 1:
            if extra[0] != name:  # its own moving tag (latest-full); `full` is buildcache's too
                found.latest_tags[name] = extra[0]
            extra = []
        if extra or any(t not in own for t in expected):
            _note(
                found,
                f"tags: {run.label} tagged {name} {', '.join(own) or 'nothing'}; buildcache "
                f"tags it as the default variant with -{name} ({', '.join(expected)})",
            )
