"""Pure: the tags a workflow's shell step computes (`tags=` written to `$GITHUB_OUTPUT` from
`github.event_name`, `inputs.*`, the release's tag), read as docker/metadata-action's rules.

The step is run in simulation (migrate/bash_subset.py) once for each event the workflow's
triggers start (migrate/events.py): a release `v1.2.3`, a push to each branch it names, a pull request, a schedule,
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

from buildcache.migrate.bash_subset import run_step
from buildcache.migrate.events import PR_NUMBER, SHA, SimulatedEvent, workflow_events
from buildcache.migrate.expressions import UNKNOWN, render

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

    input: str | None  # the workflow_dispatch boolean input that asks for it (None: any)
    version: str


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
    runs = workflow_events(triggers, repository)
    tags = {run.label: step_tags(step, run, variants, found.notes) for run in runs}
    found.images = _images(tags)
    default = variants[0][0]
    bare = {label: _bare(by_variant.get(default, [])) for label, by_variant in tags.items()}
    for run in runs:
        _read_event(found, run, bare[run.label], _baseline(runs, bare, run))
        _variant_suffixes(found, run, tags[run.label], default)
    if not found.rules and not found.manual:
        found.notes.append(
            f"tags: the step writing {step.output} gave no tag init could read as a rule; "
            "buildcache's own (see docs/tags.md) apply"
        )
    return found


# Each run's tags


def step_tags(
    step: ShellStep,
    run: SimulatedEvent,
    variants: Sequence[tuple[str, Mapping[str, str]]],
    notes: list[str],
) -> dict[str, list[str]]:
    """Each variant's references (image:tag) the step writes in this run (UNKNOWN in one it
    makes of what cannot be known); a note for a script beyond the simulator."""
    result = {}
    for name, entry in variants:
        context = {**run.context, **{f"matrix.{k}": v for k, v in entry.items()}}
        env = {k: render(str(v), context) for k, v in step.env.items()}
        context |= {f"env.{k}": v for k, v in env.items()}
        done = run_step(render(step.script, context), {**run.env, **env})
        problem = f"tags: the step writing {step.output}: {done.problem}"
        if done.problem is not None and problem not in notes:
            notes.append(problem)
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


def _baseline(
    runs: Sequence[SimulatedEvent], bare: Mapping[str, list[str]], run: SimulatedEvent
) -> list[str]:
    """What a manual run gets when it asks for nothing: a push to the default branch's tags
    (a manual run builds main), else, for one with a switch on, a plain manual run's."""
    pushes = [r for r in runs if r.kind == "branch" and r.branch == "main"]
    plain = [r for r in runs if r.kind == "manual" and r.input is None and run.input is not None]
    return bare[(pushes or plain)[0].label] if pushes or plain else []


def _note(found: ShellTags, note: str) -> None:
    if note not in found.notes:
        found.notes.append(note)


def _read_event(
    found: ShellTags, run: SimulatedEvent, tags: list[str], baseline: list[str]
) -> None:
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


def _add(found: ShellTags, rule: str, tag: str, run: SimulatedEvent) -> None:
    if rule not in found.rules:
        found.rules.append(rule)
        found.guesses.append(f"tags: {run.label} was tagged {tag}: {rule}")


def _release(found: ShellTags, run: SimulatedEvent, tags: list[str]) -> None:
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


def _event(found: ShellTags, run: SimulatedEvent, tags: list[str]) -> None:
    """A push to a branch, a pull request or a schedule: its tags as the rules of its event."""
    for tag in tags:
        rule = _event_rule(run, tag)
        if rule is None:
            _note(found, f"tags: {run.label} was tagged {tag}, a tag no rule makes; left out")
        else:
            _add(found, rule, tag, run)


def _event_rule(run: SimulatedEvent, tag: str) -> str | None:
    slug = re.sub(r"[^a-z0-9._-]+", "-", run.branch.lower())
    if run.kind == "pull_request":
        return "type=ref,event=pr" if tag == f"pr-{PR_NUMBER}" else None
    if run.kind == "schedule":
        return "type=schedule" if tag == "nightly" else f"type=schedule,pattern={tag}"
    if tag == slug:
        return "type=ref,event=branch"
    if tag in (f"sha-{SHA[:7]}", f"sha-{SHA}"):
        return "type=sha" if len(tag) < 12 else "type=sha,format=long"
    if tag == "edge":
        return f"type=edge,branch={run.branch}"
    return (
        f"type=raw,value={tag},enable={{{{is_default_branch}}}}" if run.branch == "main" else None
    )


def _manual(found: ShellTags, run: SimulatedEvent, tags: list[str], baseline: list[str]) -> None:
    """A manual run tagged as a push to main is: nothing of its own. One that gets a literal tag
    of its own (with a switch on, or any manual run where no branch rule makes it): that tag is
    a version that is no release, whatever branch the run is started from."""
    own = [t for t in tags if t not in baseline]
    literal = [t for t in own if not (_event_rule(run, t) or "type=raw").startswith("type=raw")]
    if run.input is None and literal:
        _event(found, run, literal)
    own = [t for t in own if t not in literal]
    if not own:
        return
    version = own[0].removesuffix("-latest")
    found.manual.append(ManualRun(run.input, version))
    rule = f"type=match,pattern=^{re.escape(version)}$"
    found.rules.append(rule)
    found.guesses.append(
        f"tags: {run.label} was tagged {', '.join(own)}: a version that is no release, "
        f"`buildcache build --version {version} --no-latest` (the migrated step passes it): {rule}"
    )


def _variant_suffixes(
    found: ShellTags, run: SimulatedEvent, tags: Mapping[str, list[str]], default: str
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
