"""Pure: advice on a variant's Dockerfile that pays, with the figures of its cache's record.

Three layouts that cost every build, found in the steps of this run (as the plan read the
Dockerfile) and measured by the record beside the cache (how long each step took when it last
ran, which files each step read):

- `COPY . .` (the whole context) before a dependency install: any change to the source runs the
  install again. The advice names the files the install needs, what changed since the last
  build (the record's file hashes against this checkout's) and how long the install took.
- `chown -R`/`chmod -R` in a RUN of its own: the layer holds a second copy of every file it
  touches; `COPY --chown`/`--chmod` sets them in the layer that copies them.
- `apt-get update` in a RUN without the install: its layer stays cached with the package lists
  of the day it ran, and the install after it reads stale lists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from buildcache.core.bases import RecordedStep, Upstream
from buildcache.core.plan.model import BuildPlan

AdviceKind = Literal["copy-first", "chown-layer", "apt-update-alone"]
WORTH_SECONDS = 5.0  # a build points at `advise` where advice saves at least this much
WORTH_BYTES = 10_000_000  # or a layer of this size
_WHOLE_CONTEXT = frozenset({".", "./", "*", "/", "./*"})

# a dependency install -> the files it needs (the first of each group found in the context)
_INSTALLS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (
        re.compile(r"\b(?:pip3?|uv pip|python3? -m pip) install\b|\buv sync\b|\bpoetry install\b"),
        ("pyproject.toml", "requirements.txt", "setup.py", "setup.cfg", "uv.lock", "poetry.lock",
         "Pipfile", "Pipfile.lock", "requirements-dev.txt"),
    ),
    (
        re.compile(r"\b(?:npm (?:ci|install|i)|yarn(?: install)?|pnpm (?:install|i))\b"),
        ("package.json", "package-lock.json", "yarn.lock", "pnpm-lock.yaml", ".npmrc"),
    ),
    (re.compile(r"\bgo mod download\b"), ("go.mod", "go.sum")),
    (re.compile(r"\bcargo (?:build|fetch)\b"), ("Cargo.toml", "Cargo.lock")),
    (re.compile(r"\bbundle install\b"), ("Gemfile", "Gemfile.lock")),
    (re.compile(r"\bcomposer install\b"), ("composer.json", "composer.lock")),
)  # fmt: skip
_RECURSIVE_OWNER = re.compile(r"^(?:chown|chmod|chgrp)\s+(?:-\w*R\w*|--recursive)\b")
_APT_UPDATE = re.compile(r"\bapt(?:-get)? (?:-\S+ )*update\b")
_APT_INSTALL = re.compile(r"\bapt(?:-get)? (?:-\S+ )*install\b")


@dataclass(frozen=True)
class Advice:
    kind: AdviceKind
    variant: str
    stage: str
    step: str  # the step the advice is about, as written
    message: str
    seconds: float | None = None  # what the step took when it last ran (the record's)
    files: tuple[str, ...] = ()  # the files to copy first (copy-first)
    changed: tuple[str, ...] = ()  # what changed since the record (copy-first)
    size: int | None = None  # the bytes of the step's layer (the record's, of a pushed image)

    @property
    def worth_it(self) -> bool:
        """Worth a line after a build: it saves more than a few seconds a build, or a layer
        of some size."""
        return (self.seconds or 0.0) >= WORTH_SECONDS or (self.size or 0) >= WORTH_BYTES

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "variant": self.variant,
            "stage": self.stage,
            "step": self.step,
            "message": self.message,
            "seconds": self.seconds,
            "files": list(self.files),
            "changed": list(self.changed),
            "size": self.size,
        }


def size_words(size: int | None) -> str:
    """`12.3 MB`; `size unknown (no image pushed)` where the record has none."""
    if size is None:
        return "size unknown: only a build that pushes records its layers"
    value, unit = float(size), "B"
    for bigger in ("kB", "MB", "GB"):
        if value < 1000:
            break
        value, unit = value / 1000, bigger
    return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"


def duration(seconds: float | None) -> str:
    """`4 m 12 s`, `38 s`; `?` where it is not known."""
    if seconds is None:
        return "?"
    whole = round(seconds)
    return f"{whole // 60} m {whole % 60} s" if whole >= 60 else f"{seconds:.0f} s"


def advise(
    variant: str, upstream: Upstream, ran: Mapping[str, float] | None = None
) -> list[Advice]:
    """The advice for one variant: its steps in this run, measured by its record (and by `ran`,
    how long each step of a build that just ran took, by its name as BuildKit gives it)."""
    stages: dict[str, list[RecordedStep]] = {}
    for step in upstream.steps:
        stages.setdefault(step.stage, []).append(step)
    found: list[Advice] = []
    for stage, steps in stages.items():
        found += _copy_first(variant, upstream, steps, ran or {})
        found += _own_layers(variant, stage, upstream, steps, ran or {})
    return found


def _instruction(step: RecordedStep) -> str:
    return step.text.split(maxsplit=1)[0].upper() if step.text else ""


def _command(step: RecordedStep) -> str:
    """A RUN's command: its text without `RUN` and its flags."""
    words = step.text.split()[1:]
    while words and words[0].startswith("--"):
        words.pop(0)
    return " ".join(words)


def _seconds(step: RecordedStep, upstream: Upstream, ran: Mapping[str, float]) -> float | None:
    """How long the step took: in the build that just ran it, else when the record last saw it
    run."""
    if step.shown in ran:
        return ran[step.shown]
    before = upstream.record.step(step.stage, step.text) if upstream.record else None
    return before.seconds if before else None


def _size(step: RecordedStep, upstream: Upstream) -> int | None:
    """The size of the layer the step made, as the record has it."""
    before = upstream.record.step(step.stage, step.text) if upstream.record else None
    return before.size if before else None


def _copy_first(
    variant: str, upstream: Upstream, steps: Sequence[RecordedStep], ran: Mapping[str, float]
) -> list[Advice]:
    """A dependency install after a COPY of the whole context, in one stage."""
    copy = next(
        (s for s in steps if _instruction(s) in ("COPY", "ADD") and _WHOLE_CONTEXT & set(s.files)),
        None,
    )
    if copy is None:
        return []
    for step in steps[steps.index(copy) + 1 :]:
        install = _install(step)
        if install is not None:
            return [_copy_first_advice(variant, upstream, copy, step, install, ran)]
    return []


def _install(step: RecordedStep) -> tuple[str, tuple[str, ...]] | None:
    """The dependency install a RUN runs (its words, the files it needs), if it runs one."""
    if _instruction(step) != "RUN":
        return None
    command = _command(step)
    for pattern, needs in _INSTALLS:
        match = pattern.search(command)
        if match:
            return match.group(0), needs
    return None


def _copy_first_advice(
    variant: str,
    upstream: Upstream,
    copy: RecordedStep,
    install: RecordedStep,
    found: tuple[str, tuple[str, ...]],
    ran: Mapping[str, float],
) -> Advice:
    words, needs = found
    present = tuple(name for name in needs if name in copy.each_file)
    files = present or needs[:2]
    now = _changed_since(copy, upstream, set(files))
    before = upstream.record.step(copy.stage, copy.text) if upstream.record else None
    last = _tops(before.changed if before else (), set(files))
    changed = now or last
    seconds = _seconds(install, upstream, ran)
    if now:
        why = f"{words} will run again for the change to {', '.join(now)}"
    elif last:
        why = f"{words} reran for a change to {', '.join(last)}"
    else:
        why = f"{words} runs again for any change to the context"
    listed = " and ".join(files) if len(files) <= 2 else ", ".join(files)
    return Advice(
        kind="copy-first",
        variant=variant,
        stage=copy.stage,
        step=install.text,
        message=f"copy {listed} first: {why}, {duration(seconds)} "
        f"(COPY {' '.join(files)} ./ before `{_short(install.text)}`, then {copy.text})",
        seconds=seconds,
        files=files,
        changed=changed,
    )


def _changed_since(copy: RecordedStep, upstream: Upstream, needed: set[str]) -> tuple[str, ...]:
    """The top folders (or files) of what changed since the record, the install's own files
    aside: what made the install run again though it needs none of it."""
    before = upstream.record.step(copy.stage, copy.text) if upstream.record else None
    if before is None or not before.each_file or not copy.each_file:
        return ()
    paths = [p for p, h in copy.each_file.items() if before.each_file.get(p) != h]
    paths += [p for p in before.each_file if p not in copy.each_file]
    return _tops(paths, needed)


def _tops(paths: Sequence[str], needed: set[str]) -> tuple[str, ...]:
    """The top folders (`src/`) or files of the paths, the install's own files aside."""
    cleaned = (p.removesuffix(" (removed)") for p in paths)
    tops = {p.split("/", 1)[0] + ("/" if "/" in p else "") for p in cleaned if p not in needed}
    return tuple(sorted(tops))


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _own_layers(
    variant: str,
    stage: str,
    upstream: Upstream,
    steps: Sequence[RecordedStep],
    ran: Mapping[str, float],
) -> list[Advice]:
    """A recursive chown/chmod in a RUN of its own after a COPY; an apt-get update without its
    install."""
    found = []
    copied = False
    for step in steps:
        kind = _instruction(step)
        copied = copied or kind in ("COPY", "ADD")
        if kind != "RUN":
            continue
        parts = [p.strip() for p in re.split(r"&&|;", _command(step)) if p.strip()]
        seconds = _seconds(step, upstream, ran)
        if copied and parts and all(_RECURSIVE_OWNER.match(p) for p in parts):
            size = _size(step, upstream)
            found.append(
                Advice(
                    "chown-layer",
                    variant,
                    stage,
                    step.text,
                    f"`{_short(step.text)}` in a layer of its own stores every file it changes a "
                    f"second time ({size_words(size)}): set the owner and mode where the files "
                    "are copied (COPY --chown=... --chmod=...)",
                    seconds,
                    size=size,
                )
            )
        command = _command(step)
        if _APT_UPDATE.search(command) and not _APT_INSTALL.search(command):
            found.append(
                Advice(
                    "apt-update-alone",
                    variant,
                    stage,
                    step.text,
                    f"`{_short(step.text)}` without its install: its layer stays cached with the "
                    "package lists of the day it ran, and a later install reads stale lists; run "
                    "apt-get update && apt-get install in one RUN",
                    seconds,
                )
            )
    return found


def advise_plan(plan: BuildPlan) -> tuple[list[Advice], list[str]]:
    """The advice for every variant of a plan, and a note for each variant that has no record
    to measure it by (the Dockerfile's advice stands, its figures are unknown)."""
    found: list[Advice] = []
    notes: list[str] = []
    for variant in plan.variants:
        if variant.upstream is None:
            notes.append(f"{variant.name}: its Dockerfile could not be read")
            continue
        if variant.upstream.record is None:
            notes.append(
                f"{variant.name}: {variant.upstream.record_note or 'no record'}: no figures "
                "(a build that writes the cache records them)"
            )
        found += advise(variant.name, variant.upstream)
    return _once(found), notes


def _once(found: Sequence[Advice]) -> list[Advice]:
    """Variants of one Dockerfile share its advice: said once, for the first of them."""
    seen: set[tuple[str, str, str]] = set()
    kept = []
    for advice in found:
        key = (advice.kind, advice.stage, advice.step)
        if key not in seen:
            seen.add(key)
            kept.append(advice)
    return kept
