"""Pure: a Dockerfile -> its stages, the external images a target is built on, and what each of
its steps reads (build arguments, files of the context, other stages).

Read by BuildKit's parser rules (core/dockerfile/syntax.py), and interpreted as BuildKit does: only the global ARGs (before the first FROM) are seen by FROM; a stage's ARG is in scope from
its declaration on; a target needs the stages it is FROM, COPY --from or RUN --mount from; a name
that is neither a stage nor `scratch` is an image. A step's text is expanded with the arguments
in scope, because that is how BuildKit names the step in its progress (`RUN install.sh "full"`),
which is how a step of the report is found again here.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import shlex
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from buildcache.core.dockerfile import parameters
from buildcache.core.dockerfile.parameters import expand
from buildcache.core.dockerfile.syntax import Instruction, parse_instructions
from buildcache.errors import ConfigError

# instructions BuildKit turns into a step of its own (the ones numbered `[stage 3/7]`)
STEP_INSTRUCTIONS = frozenset({"FROM", "RUN", "COPY", "ADD", "WORKDIR"})
# BuildKit's built-in platform arguments: set by the builder, never by the config
AUTOMATIC_ARGS = frozenset(
    {
        "TARGETPLATFORM",
        "TARGETOS",
        "TARGETARCH",
        "TARGETVARIANT",
        "BUILDPLATFORM",
        "BUILDOS",
        "BUILDARCH",
        "BUILDVARIANT",
    }
)


@dataclass(frozen=True)
class Step:
    instruction: str  # RUN, COPY, ADD, WORKDIR, ARG, ...
    text: str  # as written, whitespace collapsed
    args: tuple[str, ...] = ()  # for ARG: the names it declares, with their defaults below
    defaults: tuple[str | None, ...] = ()
    sources: tuple[str, ...] = ()  # files of the build context it reads (COPY/ADD, bind mounts)
    uses: tuple[str, ...] = ()  # stages or images it reads from (--from, mount from=)
    mounts: tuple[tuple[str, str], ...] = ()  # ("secret" | "ssh", id) of a RUN's mounts
    name: str = ""  # as BuildKit names the step, where that is not `text` (a heredoc's)


@dataclass(frozen=True)
class Stage:
    index: int
    name: str | None
    base: str  # the FROM reference as written, before substitution
    steps: tuple[Step, ...]

    @property
    def label(self) -> str:
        """How BuildKit names the stage in its progress: its name, or stage-<index>."""
        return self.name or f"stage-{self.index}"


@dataclass(frozen=True)
class Dockerfile:
    meta_args: Mapping[str, str | None]  # the global ARGs, before the first FROM
    stages: tuple[Stage, ...]

    def stage(self, name: str) -> Stage | None:
        if name.isdigit():
            index = int(name)
            return self.stages[index] if index < len(self.stages) else None
        return next((s for s in self.stages if s.name == name.lower()), None)


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _mounts(flags: Sequence[str]) -> list[dict[str, str]]:
    mounts = []
    for flag in flags:
        if flag.startswith("--mount="):
            fields: dict[str, str] = {}
            for part in flag[len("--mount=") :].split(","):
                key, _, value = part.partition("=")
                fields[key] = value
            mounts.append(fields)
    return mounts


def _step(command: Instruction) -> Step:
    cmd, flags, value = command.cmd.upper(), command.flags, command.value
    text = _collapse(command.original)
    if cmd == "ARG":
        return _arg_step(text, value)
    if cmd in ("COPY", "ADD"):
        return _copy_step(cmd, text, flags, value)
    if cmd == "RUN":
        return dataclasses.replace(_run_step(text, flags), name=_heredoc_name(command))
    return Step(cmd, text)


def _heredoc_name(command: Instruction) -> str:
    """How BuildKit names a RUN of a here-document: its first line only, and where the
    document is the whole command, the document's first line in brackets (`RUN <<EOF (echo
    hi...)`, `...` where it has more lines); "" for any other RUN."""
    if not command.heredocs:
        return ""
    head = _collapse(command.original.split("\n", 1)[0])
    words = head.split()
    if len(command.heredocs) != 1 or not words[-1].startswith("<<"):
        return head
    lines = command.heredocs[0].content.strip().splitlines() or [""]
    return f"{head} ({lines[0]}{'...' if len(lines) > 1 else ''})"


def _arg_step(text: str, value: Sequence[str]) -> Step:
    names, defaults = [], []
    for item in value:
        name, sep, default = item.partition("=")
        names.append(name)
        defaults.append(_unquote(default) if sep else None)
    return Step("ARG", text, args=tuple(names), defaults=tuple(defaults))


def _copy_step(cmd: str, text: str, flags: Sequence[str], value: Sequence[str]) -> Step:
    source = next((f[len("--from=") :] for f in flags if f.startswith("--from=")), None)
    if source is not None:
        return Step(cmd, text, uses=(source,))
    paths = [p for p in value[:-1] if not (cmd == "ADD" and re.match(r"^[a-z]+://|^git@", p))]
    return Step(cmd, text, sources=tuple(paths))


def _run_step(text: str, flags: Sequence[str]) -> Step:
    """A RUN step: the files its bind mounts read, the stages they come from, and the secret
    and SSH mounts it asks for."""
    sources, uses, mounts = [], [], []
    for mount in _mounts(flags):
        kind = mount.get("type", "bind")
        if kind in ("secret", "ssh"):
            mounts.append((kind, _mount_id(kind, mount)))
        elif mount.get("from"):
            uses.append(mount["from"])
        elif kind == "bind":
            sources.append(mount.get("source") or mount.get("src") or ".")
    return Step("RUN", text, sources=tuple(sources), uses=tuple(uses), mounts=tuple(mounts))


def _mount_id(kind: str, mount: Mapping[str, str]) -> str:
    """A secret's id defaults to its target's file name, an SSH mount's to "default"."""
    if mount.get("id"):
        return mount["id"]
    if kind == "ssh":
        return "default"
    target = mount.get("target") or mount.get("dst") or mount.get("destination") or ""
    return target.rsplit("/", 1)[-1]


def _unquote(text: str) -> str:
    try:
        parts = shlex.split(text)
    except ValueError:
        return text
    return parts[0] if len(parts) == 1 else text


@functools.lru_cache(maxsize=16)
def read_dockerfile(text: str) -> Dockerfile:
    """Raises ConfigError naming the parser's complaint. Cached by text: the plan (built-in
    args, mounts) and bases.py read the same Dockerfile, and a Dockerfile is immutable."""
    meta: dict[str, str | None] = {}
    heads: list[Stage] = []
    steps: list[list[Step]] = []  # each stage's
    for command in parse_instructions(text):
        cmd = command.cmd.upper()
        if cmd == "FROM":  # FROM base [AS name]: a stage, without its steps yet
            words = command.value
            name = words[2].lower() if len(words) >= 3 and words[1].upper() == "AS" else None
            heads.append(Stage(len(heads), name, words[0] if words else "", steps=()))
            steps.append([])
            continue
        step = _step(command)
        if steps:
            steps[-1].append(step)
        elif cmd == "ARG":
            for name, default in zip(step.args, step.defaults, strict=True):
                meta.setdefault(name, default)
    stages = (dataclasses.replace(h, steps=tuple(s)) for h, s in zip(heads, steps, strict=True))
    return Dockerfile(meta_args=meta, stages=tuple(stages))


@dataclass(frozen=True)
class Needed:
    """What a target is built from: its stages (in Dockerfile order), the external images, and
    the base image of the target's own chain of FROMs."""

    stages: tuple[Stage, ...]
    images: tuple[str, ...]  # external images, ARGs substituted, in order of first use
    final_base: str | None  # the image the target stage's FROM chain starts from


def meta_values(dockerfile: Dockerfile, build_args: Mapping[str, str]) -> dict[str, str | None]:
    return {name: build_args.get(name, default) for name, default in dockerfile.meta_args.items()}


def needed(
    dockerfile: Dockerfile,
    target: str | None,
    build_args: Mapping[str, str],
    contexts: Collection[str] = (),
) -> Needed:
    """The target's stages and external images; a name given as a named build context
    (`contexts`) is the user's folder or image, not one to resolve."""
    if not dockerfile.stages:
        return Needed((), (), None)
    meta = meta_values(dockerfile, build_args)
    last = dockerfile.stages[-1]
    start = dockerfile.stage(target) if target else last
    if start is None:
        raise ConfigError(f"the Dockerfile has no stage named {target!r}", key="target")
    seen: set[int] = set()
    images: list[str] = []

    def reference(name: str) -> Stage | None:
        stage = dockerfile.stage(name)
        return stage if stage is not None and stage.index not in seen else None

    def visit(stage: Stage) -> None:
        if stage.index in seen:
            return
        seen.add(stage.index)
        base = expand(stage.base, meta)
        for name in (base, *(expand(u, meta) for s in stage.steps for u in s.uses)):
            if name.lower() == "scratch" or not name or name in contexts:
                continue
            inner = dockerfile.stage(name)
            # only an earlier stage can be named (BuildKit's rule); otherwise it is an image
            if inner is not None and inner.index < stage.index:
                visit(inner)
            elif inner is None and not name.isdigit() and name not in images:
                images.append(name)

    visit(start)
    final_base = root_base(dockerfile, start, meta)
    return Needed(
        stages=tuple(s for s in dockerfile.stages if s.index in seen),
        images=tuple(images),
        final_base=None
        if final_base.lower() == "scratch" or final_base in contexts
        else final_base,
    )


def root_base(dockerfile: Dockerfile, stage: Stage, meta: Mapping[str, str | None]) -> str:
    """The image a stage's chain of FROMs starts from (`FROM builder` -> builder's base...)."""
    while True:
        base = expand(stage.base, meta)
        inner = dockerfile.stage(base)
        if inner is None or inner.index >= stage.index:
            return base
        stage = inner


def chain_bases(
    dockerfile: Dockerfile, stages: Sequence[Stage], build_args: Mapping[str, str]
) -> dict[str, str]:
    """Each stage's label -> the image its chain of FROMs starts from."""
    meta = meta_values(dockerfile, build_args)
    return {stage.label: root_base(dockerfile, stage, meta) for stage in stages}


@dataclass(frozen=True)
class StepView:
    """A step as this build will run it: the text BuildKit shows, and the inputs that decide
    whether the cache has it."""

    stage: str  # the stage's label
    instruction: str
    text: str  # as written
    shown: str  # as BuildKit names it: the arguments in scope substituted
    args: Mapping[str, str | None]  # the arguments that enter its cache key, with their values
    sources: tuple[str, ...]


def step_views(
    dockerfile: Dockerfile, stages: Sequence[Stage], build_args: Mapping[str, str]
) -> list[StepView]:
    """Every step of the stages, with the arguments in scope: a RUN sees all of them (they are its
    environment); COPY, ADD and WORKDIR only those their text names."""
    meta = meta_values(dockerfile, build_args)
    views: list[StepView] = []
    for stage in stages:
        scope: dict[str, str | None] = {}
        for step in stage.steps:
            if step.instruction == "ARG":
                scope |= _declared_values(step, meta, build_args)
            elif step.instruction in STEP_INSTRUCTIONS:
                views.append(_view(stage, step, scope))
    return views


def _declared_values(
    step: Step, meta: Mapping[str, str | None], build_args: Mapping[str, str]
) -> dict[str, str | None]:
    """The values of the arguments an ARG step declares (BuildKit's automatic ones aside)."""
    values = {}
    for name, default in zip(step.args, step.defaults, strict=True):
        # a global ARG redeclared without a default takes the global value
        fallback = meta.get(name) if default is None else default
        values[name] = build_args.get(name, fallback)
    return {name: value for name, value in values.items() if name not in AUTOMATIC_ARGS}


def _view(stage: Stage, step: Step, scope: Mapping[str, str | None]) -> StepView:
    if step.instruction == "RUN":
        seen = dict(scope)
    else:
        used = parameters.names(step.text)
        seen = {n: scope[n] for n in sorted(used) if n in scope}
    return StepView(
        stage=stage.label,
        instruction=step.instruction,
        text=step.text,
        shown=_collapse(expand(step.name or step.text, scope)),
        args=seen,
        sources=tuple(expand(s, scope) for s in step.sources),
    )
