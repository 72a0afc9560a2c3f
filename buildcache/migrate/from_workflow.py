"""Pure: a buildcache.toml from a GitHub workflow that builds with docker/build-push-action
(`buildcache init --from`).

What the workflow already says is carried over in buildcache's words: the matrix's variants and
their build arguments (`${{ matrix.x }}` resolved per entry; what all share goes to the top),
the Dockerfile, context and platforms, metadata-action's images, `tags` lines (as `[tags]
rules`, verbatim) and `flavor`, the registry cache it writes (so the cache it has is reused),
provenance and SBOM. Tags a shell step computes (`tags=` written to `$GITHUB_OUTPUT`) become
the nearest rules (core/shell_tags.py), each guess said. What cannot be carried is said, one
note each: another expression, a cache of another kind, secrets, a per-variant suffix buildcache
makes itself. A workflow without a tag init can read still migrates: buildcache's own tags apply.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from buildcache.errors import UsageError
from buildcache.migrate.expressions import UNKNOWN, render
from buildcache.migrate.shell_tags import ManualRun, ShellStep, shell_tags

_EXPRESSION = re.compile(r"\$\{\{\s*(?P<expr>.*?)\s*\}\}")
_MATRIX = re.compile(r"^matrix\.([A-Za-z_][\w-]*)$")
_SWITCH = re.compile(r"variant|flavou?r|edition|target", re.IGNORECASE)
_STEP_OUTPUT = re.compile(r"^\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}$")


@dataclass
class Migration:
    config: dict[str, Any]  # buildcache.toml, as a table for the TOML writer
    job: str
    notes: list[str] = field(default_factory=list)  # what was not carried over, and why
    guesses: list[str] = field(default_factory=list)  # what was carried over by a guess
    triggers: dict[str, Any] = field(default_factory=dict)  # the workflow's `on:`
    manual: list[ManualRun] = field(default_factory=list)  # manual runs with tags of their own
    push: str | None = None  # build-push-action's `push`, as written
    replaced: tuple[int, ...] = ()  # the job's steps buildcache's one step replaces, by index
    keep_going: bool = False  # the matrix's `fail-fast: false`: a failed variant stops no other
    matrix_only_for_build: bool = False  # no step left reads the matrix: one step builds all
    variant_key: str | None = None  # the matrix key that names the variants
    # where the matrix stays (another step reads it): the variant each of its jobs builds
    variant_of_matrix_job: str | None = None
    # what the proof (migrate/proof.py) replays: the shell step that makes the tags, each
    # variant's matrix entry, and the job's `if:`
    tag_step: ShellStep | None = None
    variant_entries: list[tuple[str, Mapping[str, str]]] = field(default_factory=list)
    job_if: str | None = None
    meta: Mapping[str, str] = field(default_factory=dict)  # metadata-action's inputs, as written
    known: Mapping[str, str] = field(default_factory=dict)  # `${{ }}`'s values known before a run


@dataclass(frozen=True)
class _Job:
    name: str
    build: Mapping[str, Any]  # build-push-action's `with`
    meta: Mapping[str, Any]  # metadata-action's `with` ({} where there is none)
    matrix: tuple[dict[str, str], ...]  # one entry per matrix combination
    steps: tuple[Mapping[str, Any], ...] = ()
    env: Mapping[str, Any] = field(default_factory=dict)  # the workflow's env and the job's
    strategy: Mapping[str, Any] = field(default_factory=dict)
    rest: Mapping[str, Any] = field(default_factory=dict)  # the job's keys but steps/strategy
    # `${{ }}`'s values a run of the job knows before it starts: github.repository, env.*
    context: Mapping[str, str] = field(default_factory=dict)
    steps_are_variants: bool = False  # several build steps: the matrix is one entry a step
    notes: tuple[str, ...] = ()  # what reading the job left out


def migrate(
    workflow: Mapping[str, Any],
    *,
    repository: str | None = None,
    images: Sequence[str] = (),
    caller: Call | None = None,
) -> Migration:
    """The config the workflow's build job stands for. `repository` (owner/name) resolves
    `${{ github.repository }}`; `images` (--image) are taken before the workflow is asked for
    any; a reusable workflow is read through its `caller` (its `with:` as `inputs`, its
    triggers). Raises UsageError where no job builds with build-push-action, or no image is
    named."""
    inputs = {f"inputs.{k}": v for k, v in (caller.inputs if caller else {}).items()}
    job = _build_job(workflow, repository)
    job = dataclasses.replace(job, context={**job.context, **inputs})
    triggers = dict(caller.triggers) if caller else _triggers(workflow)
    migration = Migration({}, job.name, triggers=triggers)
    migration.push = _written(job.build.get("push"))
    context = job.context
    migration.notes += job.notes
    key = migration.variant_key = _variant_key(job)
    variants = ["default"]
    if key is not None and job.matrix:
        variants = list(dict.fromkeys(_name(entry.get(key, "default")) for entry in job.matrix))
    if images:
        migration.config["images"] = list(images)
    _inputs(migration, job, key, variants)
    _tags(migration, job, _by_variant(list(job.matrix) or [{}], key, variants), repository)
    if not images:
        _images(migration, job, context)
    _cache(migration, job, key, variants)
    _attest(migration, job)
    _left_out(migration, job)
    _replaced_steps(migration, job)
    return migration


# build-push-action and the forks that take its inputs (depot's)
_BUILD_ACTIONS = ("docker/build-push-action@", "depot/build-push-action@")
_REPLACED_ACTIONS = (*_BUILD_ACTIONS, "docker/metadata-action@", "actions/cache@")


def _replaced_steps(migration: Migration, job: _Job) -> None:
    """The steps buildcache's one step stands for: the builds, their tags (metadata-action's, a
    shell step's whose outputs nothing left reads), their cache; and whether the matrix is left
    with anything to do."""
    replaced = {
        n
        for n, step in enumerate(job.steps)
        if isinstance(step, dict) and str(step.get("uses", "")).startswith(_REPLACED_ACTIONS)
    }
    replaced |= _unread_tag_step(job, replaced)
    migration.replaced = tuple(sorted(replaced))
    kept_texts = [t for i, s in enumerate(job.steps) if i not in replaced for t in _texts(s)]
    kept_texts += _texts(job.rest)
    migration.matrix_only_for_build = "matrix" in job.strategy and not any(
        _matrix_keys(t) for t in kept_texts
    )
    migration.keep_going = job.strategy.get("fail-fast") is False
    if "matrix" in job.strategy and not migration.matrix_only_for_build and migration.variant_key:
        migration.variant_of_matrix_job = f"${{{{ matrix.{migration.variant_key} }}}}"


def _unread_tag_step(job: _Job, replaced: set[int]) -> set[int]:
    """The shell step the build's tags are the output of, where no step left reads it."""
    found = _STEP_OUTPUT.match(str(job.build.get("tags", "")).strip())
    if found is None:
        return set()
    step_id = found.group(1)
    at = [n for n, s in enumerate(job.steps) if isinstance(s, dict) and s.get("id") == step_id]
    kept = [s for n, s in enumerate(job.steps) if n not in replaced and n not in at]
    read = any(f"steps.{step_id}." in text for step in kept for text in _texts(step))
    return set() if read else set(at)


def _written(value: Any) -> str | None:
    """A workflow's value as it was written (YAML reads `true` as True)."""
    if value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


# Finding the job


@dataclass(frozen=True)
class Call:
    """A job that calls a reusable workflow of the repository (`uses: ./.github/workflows/x.yml`)."""

    job: str
    path: str  # the called workflow, from the repository's root
    inputs: Mapping[str, str]  # its `with:`, filled in where the caller's values are known
    triggers: Mapping[str, Any]  # the caller's `on:`: the events the called workflow runs on


def called_workflows(workflow: Mapping[str, Any], repository: str | None) -> list[Call]:
    """The jobs that call a workflow of this repository (`./.github/workflows/x.yml`, or
    `<repository>/.github/workflows/x.yml@ref`), in order."""
    jobs = workflow.get("jobs")
    known = {"github.repository": repository} if repository else {}
    own = ("./", f"{repository}/") if repository else ("./",)
    calls = []
    for name, job in jobs.items() if isinstance(jobs, dict) else []:
        uses = str(job.get("uses", "")) if isinstance(job, dict) else ""
        if not uses.startswith(own) or ".github/workflows/" not in uses:
            continue
        path = ".github/workflows/" + uses.split(".github/workflows/", 1)[1].split("@")[0]
        given = job.get("with") if isinstance(job.get("with"), dict) else {}
        inputs = {str(k): render(_written(v) or "", known) for k, v in given.items()}
        known_inputs = {k: v for k, v in inputs.items() if UNKNOWN not in v}
        calls.append(Call(str(name), path, known_inputs, _triggers(workflow)))
    return calls


def _triggers(workflow: Mapping[str, Any]) -> dict[str, Any]:
    """The workflow's `on:` as a mapping (YAML 1.1 reads the key `on` as True)."""
    on = workflow.get("on", workflow.get(True))  # type: ignore[call-overload]
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {str(event): None for event in on}
    return {str(k): v for k, v in on.items()} if isinstance(on, dict) else {}


def _build_job(workflow: Mapping[str, Any], repository: str | None) -> _Job:
    jobs = workflow.get("jobs")
    env = _env(workflow)
    for name, job in jobs.items() if isinstance(jobs, dict) else []:
        found = _job_of(str(name), job, env) if isinstance(job, dict) else None
        if found is not None:
            return dataclasses.replace(found, context=_known_values(found, repository))
    raise UsageError("no job of the workflow builds with docker/build-push-action")


def _known_values(job: _Job, repository: str | None) -> dict[str, str]:
    """github.repository and its owner (where the repository is known), and each `env` value
    of the workflow, the job and the build's and tag steps, in that order, each filled in
    with what came before it (`IMAGE: ghcr.io/${{ github.repository }}`). `vars.*` and
    `secrets.*` stay unknown: their values live in the repository's settings."""
    known: dict[str, str] = {}
    if repository:
        owner, _, name = repository.partition("/")
        known |= {
            "github.repository": repository,
            "github.repository_owner": owner,
            "github.event.repository.name": name,
        }
    tag_actions = (*_BUILD_ACTIONS, "docker/metadata-action@")
    steps = [
        s
        for s in job.steps
        if isinstance(s, dict) and str(s.get("uses", "")).startswith(tag_actions)
    ]
    for table in (job.env, *(_env(s) for s in steps)):
        for name, value in table.items():
            filled = render(_written(value) or "", known)
            if UNKNOWN not in filled:
                known[f"env.{name}"] = filled
    return known


def _env(table: Mapping[str, Any]) -> dict[str, Any]:
    env = table.get("env")
    return {str(k): v for k, v in env.items()} if isinstance(env, dict) else {}


def _job_of(name: str, job: Mapping[str, Any], env: Mapping[str, Any]) -> _Job | None:
    """The job, where one of its steps builds with build-push-action."""
    steps = [s for s in (job.get("steps") or []) if isinstance(s, dict)]
    builds = [
        {str(k): v for k, v in (s.get("with") or {}).items()} | {"step": s}
        for s in steps
        if str(s.get("uses", "")).startswith(_BUILD_ACTIONS)
    ]
    if not builds:
        return None
    matrix = _matrix((job.get("strategy") or {}).get("matrix") or {})
    build, entries, notes = _builds_as_variants(builds, matrix)
    return _Job(
        name=name,
        build=build,
        meta=_step_with(steps, "docker/metadata-action") or {},
        matrix=entries,
        steps_are_variants=entries is not matrix,
        notes=tuple(notes),
        steps=tuple(job.get("steps") or []),
        env={**env, **_env(job)},
        strategy=strategy if isinstance(strategy := job.get("strategy"), dict) else {},
        rest={str(k): v for k, v in job.items() if k not in ("steps", "strategy")},
    )


# what makes one build step's image another's: its Dockerfile, context, stage, arguments, platforms
_BUILD_INPUTS = ("file", "context", "target", "build-args", "platforms")


def _builds_as_variants(
    builds: Sequence[Mapping[str, Any]], matrix: tuple[dict[str, str], ...]
) -> tuple[dict[str, Any], tuple[dict[str, str], ...], list[str]]:
    """The build, its matrix and notes, where a job has several build steps: steps that build
    the same image (one per registry, a dev and a release step) are one, their tags together;
    steps that build different images are variants, named by what differs (the Dockerfile's
    suffix, the stage, the step's id), the first the default. Under a matrix of its own only
    the first step is read, each other said."""
    first = {k: v for k, v in builds[0].items() if k != "step"}
    if len(builds) == 1:
        return first, matrix, []
    if matrix:
        return (
            first,
            matrix,
            [
                f"build step {_step_label(b['step'], n)}: a second build in a matrix job is not "
                "carried over; add it as a variant"
                for n, b in enumerate(builds[1:], 2)
            ],
        )
    groups: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for build in builds:
        groups.setdefault(tuple(str(build.get(k, "")) for k in _BUILD_INPUTS), []).append(build)
    tags = "\n".join(str(b.get("tags") or "") for b in builds)
    if len(groups) == 1:
        return first | {"tags": tags}, matrix, []
    differing = [k for n, k in enumerate(_BUILD_INPUTS) if len({g[n] for g in groups}) > 1]
    synthetic = first | {"tags": tags} | {k: f"${{{{ matrix.{_key(k)} }}}}" for k in differing}
    if "build-args" in differing:  # each step's own lines, whole
        synthetic["build-args"] = "${{ matrix.build_args }}"
    return synthetic, _step_entries(groups, differing), []


def _step_entries(
    groups: Mapping[tuple[str, ...], Sequence[Mapping[str, Any]]], differing: Sequence[str]
) -> tuple[dict[str, str], ...]:
    """One matrix entry a group of steps: what differs between them, and the variant's name."""
    entries: list[dict[str, str]] = []
    for n, (signature, members) in enumerate(groups.items()):
        values = dict(zip(_BUILD_INPUTS, signature, strict=True))
        entry = {_key(k): values[k] for k in differing}
        differs = {k: (values[k] if k in differing else "") for k in _BUILD_INPUTS}
        entry["variant"] = _step_variant_name(
            differs, members[0]["step"], n, [e["variant"] for e in entries]
        )
        entries.append(entry)
    return tuple(entries)


def _key(build_input: str) -> str:
    return build_input.replace("-", "_")


def _step_label(step: Mapping[str, Any], number: int) -> str:
    return str(step.get("name") or step.get("id") or f"#{number}")


def _step_variant_name(
    values: Mapping[str, str], step: Mapping[str, Any], number: int, taken: Sequence[str]
) -> str:
    """A variant's name from what its step builds differently (`values` holds only what
    differs): the Dockerfile's suffix (Dockerfile.rootless: rootless; alpine/Dockerfile:
    alpine), its stage, the step's id or name; the first step that differs in none: default."""
    file = values["file"].rsplit("/", 1)
    stem = file[-1].removeprefix("Dockerfile").strip(".-_") or (file[0] if len(file) > 1 else "")
    named = str(step.get("id") or step.get("name") or "") if number else ""
    for candidate in (stem, values["target"], named):
        name = _name(candidate) if candidate else ""
        if name and name != "default" and name not in taken:
            return name
    return "default" if "default" not in taken else f"step-{number + 1}"


def _step_with(steps: Sequence[Mapping[str, Any]], action: str) -> dict[str, Any] | None:
    for step in steps:
        if str(step.get("uses", "")).startswith(f"{action}@"):
            return {str(k): v for k, v in (step.get("with") or {}).items()}
    return None


def _matrix(matrix: Mapping[str, Any]) -> tuple[dict[str, str], ...]:
    """The matrix's combinations, as GitHub makes them: the product of its lists less each
    `exclude` entry's matches, then its `include` entries (each added to every combination whose
    values it does not change, else one of its own)."""
    if not isinstance(matrix, dict):
        return ()
    # its lists (its `include` and `exclude` aside)
    axes = {
        k: v for k, v in matrix.items() if isinstance(v, list) and k not in ("include", "exclude")
    }
    excluded = [e for e in matrix.get("exclude") or [] if isinstance(e, dict)]
    combos = [
        combo
        for combo in _combinations(axes)
        if not any(all(combo.get(str(k)) == str(v) for k, v in e.items()) for e in excluded)
    ]
    entries = [{str(k): str(v) for k, v in extra.items()} for extra in matrix.get("include") or []]
    return tuple(combos + [entry for entry in entries if not _included(combos, entry, axes)])


def _combinations(axes: Mapping[str, list[Any]]) -> list[dict[str, str]]:
    if not axes:
        return []
    product = itertools.product(*axes.values())
    return [{k: str(v) for k, v in zip(axes, values, strict=True)} for values in product]


def _included(
    combos: list[dict[str, str]], entry: Mapping[str, str], axes: Mapping[str, Any]
) -> bool:
    """Adds `entry` to every combination whose axis values it does not change; False where
    there is none (the entry is then a combination of its own)."""
    matching = [c for c in combos if all(c[k] == v for k, v in entry.items() if k in axes)]
    for combo in matching:
        combo.update(entry)
    return bool(matching)


# The variants


def _variant_key(job: _Job) -> str | None:
    """The matrix key that names the variants: one the build's inputs use, or one named like a
    switch (variant, flavor, edition, target) that any step uses (a tag step's suffix); a
    switch's name first. Several build steps name their variants themselves."""
    if job.steps_are_variants:
        return "variant"
    in_steps = {key for step in job.steps for text in _texts(step) for key in _matrix_keys(text)}
    in_build = {
        m.group(1)
        for text in _texts(job.build)
        for e in _EXPRESSION.finditer(text)
        if (m := _MATRIX.match(e.group("expr")))
    }
    used = sorted(
        in_build | {k for k in in_steps if _SWITCH.search(k)},
        key=lambda k: (not _SWITCH.search(k), k),
    )
    distinct = [k for k in used if len({entry.get(k) for entry in job.matrix}) > 1]
    return (distinct or used or [None])[0]


def _name(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")[:63] or "default"


def _texts(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in _texts(v)]
    return [str(value)] if value is not None else []


def _matrix_keys(text: str) -> set[str]:
    """The matrix keys any expression of `text` names (`matrix.variant == 'full' && ...`)."""
    return {
        key
        for e in _EXPRESSION.finditer(text)
        for key in re.findall(r"\bmatrix\.([A-Za-z_][\w-]*)", e.group("expr"))
    }


def _resolved(text: str, entry: Mapping[str, str], context: Mapping[str, str]) -> str | None:
    """`text` with each `${{ }}` evaluated against the matrix entry and the known values; None
    where one names what is not known (a secret, `vars.*`, a step's output)."""
    keys = set(_matrix_keys(text))
    # a key an entry leaves out is empty, as GitHub has it
    matrix = {f"matrix.{k}": entry.get(k, "") for k in keys} if entry else {}
    filled = render(text, {**context, **matrix})
    return None if UNKNOWN in filled else filled


def _lines(value: Any, *, comments: bool = False) -> list[str]:
    """A list input of docker's actions: newline-separated; where `comments` (metadata-action's
    `images`, `tags`, `flavor`), a line starting with `#` is a comment, as that action reads it."""
    lines = [line.strip() for line in str(value or "").splitlines() if line.strip()]
    return [line for line in lines if not (comments and line.startswith("#"))]


# The parts of the config


def _images(migration: Migration, job: _Job, context: Mapping[str, str]) -> None:
    # a shell step's images, else metadata-action's and every build step's literal tags'
    images = migration.config.get("images") or list(
        dict.fromkeys([*_meta_images(migration, job, context), *_tagged_images(job, context)])
    )
    if not images:
        raise UsageError(
            "the workflow names no image init can read (metadata-action's `images`, literal "
            "tags, or tags a shell step writes)",
            hint="give them with --image",
        )
    rest = {k: v for k, v in migration.config.items() if k != "images"}
    migration.config = {"images": images, **rest}  # the first key, as a person writes it


def _meta_images(migration: Migration, job: _Job, context: Mapping[str, str]) -> list[str]:
    """metadata-action's `images` lines, each `name=...` or a bare name, for every matrix entry
    (`images: ${{ matrix.registry }}` is one image a registry); the input is filled in first, so
    an `env` value of several lines is several images, as the action reads it."""
    images: list[str] = []
    written = str(job.meta.get("images") or "")
    for entry in list(job.matrix) or [{}]:
        filled = _resolved(written, entry, context)
        for line in _lines(written if filled is None else filled, comments=True):
            fields = dict(_field(f) for f in line.split(","))
            name = _resolved(fields.get("name", ""), entry, context)
            note = f"images: {line!r} holds an expression; give the name"
            if name is None and note not in migration.notes:
                migration.notes.append(note)
            elif name:
                images.append(name.lower())
    if job.matrix and len({_resolved(written, e, context) for e in job.matrix}) > 1:
        migration.notes.append(
            f"images: {written.strip()!r} differs by matrix entry: every variant is pushed to "
            "every image"
        )
    return list(dict.fromkeys(images))


def _tagged_images(job: _Job, context: Mapping[str, str]) -> list[str]:
    """The images of build-push-action's `tags`, each line filled in first (an input of several
    lines is several tags); a tag whose tag part alone cannot be known still names its image
    (`hkotel/mealie:${{ inputs.tag }}`)."""
    images = []
    for line in _lines(job.build.get("tags")):
        filled = _resolved(line, {}, context)
        tags = [filled] if filled is not None else []
        if filled is None and ":" in line:  # the image part alone, where it can be known
            known = _resolved(line.rpartition(":")[0], {}, context)
            tags = [f"{known}:tag"] if known and "/" not in line.rpartition(":")[2] else []
        for tag in (t.strip() for text in tags for t in re.split(r"[,\n]", text) if t.strip()):
            name, colon, rest = tag.rpartition(":")
            images.append(name if colon and "/" not in rest else tag)
    return list(dict.fromkeys(i.lower() for i in images if i))


def _field(text: str) -> tuple[str, str]:
    """`name=ghcr.io/x` -> (name, ghcr.io/x); a bare value is the name."""
    key, sep, value = text.partition("=")
    return (key.strip(), value.strip()) if sep else ("name", text.strip())


def _inputs(migration: Migration, job: _Job, key: str | None, variants: list[str]) -> None:
    """Where and for what it builds, and each variant with its own build arguments (those all
    variants share go to the top)."""
    entries = _by_variant(list(job.matrix) or [{}], key, variants)
    per_variant = {name: _build_args(job, entry, migration) for name, entry in entries}
    # the build arguments every variant has, with the same value
    tables = list(per_variant.values())
    shared = {k: v for k, v in tables[0].items() if all(t.get(k) == v for t in tables)}
    if shared:
        migration.config["build-args"] = shared
    migration.config["variants"] = _variant_tables(per_variant, shared)
    _paths(migration, job, key)
    _targets(migration, job, entries)
    _labels(migration, job)


def _variant_tables(
    per_variant: Mapping[str, Mapping[str, Any]], shared: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Each variant's table, with the build arguments it does not share; the first the default."""
    return {
        name: _variant_table(n == 0, {k: v for k, v in args.items() if k not in shared})
        for n, (name, args) in enumerate(per_variant.items())
    }


def _targets(
    migration: Migration, job: _Job, entries: Sequence[tuple[str, Mapping[str, str]]]
) -> None:
    """build-push-action's `target`: the config's where every variant builds the same stage,
    else each variant's own (`target: ${{ matrix.variant }}`)."""
    if not job.build.get("target"):
        return
    targets = {
        name: _resolved(str(job.build["target"]), entry, job.context) for name, entry in entries
    }
    if None in targets.values():
        migration.notes.append(f"target: {job.build['target']!r} holds an expression; give it")
    elif len(set(targets.values())) == 1:
        migration.config["target"] = next(iter(targets.values()))
    else:
        for name, target in targets.items():
            if target:  # a step that names none builds the Dockerfile's last stage
                migration.config["variants"][name]["target"] = target


def _labels(migration: Migration, job: _Job) -> None:
    """build-push-action's `labels` lines (metadata-action's own labels buildcache makes too)."""
    lines = _lines(job.build.get("labels"))
    literal = [line for line in lines if "${{" not in line]
    # metadata-action's output (`steps.`) is left out quietly: buildcache sets those labels
    left_out = [line for line in lines if "${{" in line and "steps." not in line]
    migration.notes += [f"labels: {line!r} holds an expression; left out" for line in left_out]
    labels = dict(_label(line) for line in literal if "=" in line)
    if labels:
        migration.config["labels"] = labels


def _label(line: str) -> tuple[str, str]:
    key, _, value = line.partition("=")
    return key.strip(), value.strip()


def _paths(migration: Migration, job: _Job, key: str | None) -> None:
    """The Dockerfile, context and platforms, each evaluated for every matrix entry: the
    config's where all variants agree, else each variant's own (its entries' platforms
    together: a matrix over the architecture builds one image of them all)."""
    config, variants = migration.config, migration.config["variants"]
    by_variant: dict[str, list[Mapping[str, str]]] = {}
    for entry in list(job.matrix) or [{}]:
        name = _name(entry.get(key, "default")) if key else next(iter(variants))
        by_variant.setdefault(name, []).append(entry)
    for field_name, input_name in (("dockerfile", "file"), ("context", "context")):
        if not job.build.get(input_name):
            continue
        values = {
            n: _resolved(str(job.build[input_name]), e[0], job.context)
            for n, e in by_variant.items()
        }
        _per_variant(migration, field_name, values, str(job.build[input_name]))
    platforms = {
        name: ",".join(dict.fromkeys(p for e in entries for p in _platforms(job, e)))
        for name, entries in by_variant.items()
    }
    if all(platforms.values()):
        if len(set(platforms.values())) == 1:
            config["platforms"] = next(iter(platforms.values())).split(",")
        else:
            for name, value in platforms.items():
                variants[name]["platforms"] = value.split(",")
    if config.get("context") == ".":
        del config["context"]


def _per_variant(
    migration: Migration, name: str, values: Mapping[str, str | None], written: str
) -> None:
    """`name` for the config where every variant has the same value, else each variant's (a
    context only the config has: a note)."""
    if None in values.values():
        migration.notes.append(f"{name}: {written!r} holds an expression init cannot read; give it")
    elif len(set(values.values())) == 1:
        migration.config[name] = next(iter(values.values()))
    elif name == "context":
        migration.notes.append(
            f"context: {written!r} differs by variant; buildcache has one context"
        )
    else:
        for variant, value in values.items():
            if value:  # a step that names none builds the config's default
                migration.config["variants"][variant][name] = value


def _platforms(job: _Job, entry: Mapping[str, str]) -> list[str]:
    """build-push-action's `platforms` (newlines or commas) for one matrix entry; none where
    one is an expression init cannot read."""
    lines = _lines(job.build.get("platforms"))
    filled = [_resolved(line, entry, job.context) for line in lines]
    if None in filled:
        return []
    return [p.strip() for line in filled if line for p in line.split(",") if p.strip()]


def _variant_table(default: bool, build_args: Mapping[str, Any]) -> dict[str, Any]:
    table: dict[str, Any] = {"default": True} if default else {}
    if build_args:
        table["build-args"] = dict(build_args)
    return table


def _by_variant(
    entries: Sequence[Mapping[str, str]], key: str | None, variants: list[str]
) -> list[tuple[str, Mapping[str, str]]]:
    if key is None:
        return [(variants[0], entries[0])]
    first: dict[str, Mapping[str, str]] = {}
    for entry in entries:
        first.setdefault(_name(entry.get(key, "default")), entry)
    return list(first.items())


# `${{ github.x }}` that every step of a run also has as a variable: a build argument of one is
# read from it at build time ({ env = "GITHUB_SHA" }), as the workflow's expression gave it
RUN_VARIABLES = {
    f"github.{name.removeprefix('GITHUB_').lower()}": name
    for name in (
        "GITHUB_SHA",
        "GITHUB_REF",
        "GITHUB_REF_NAME",
        "GITHUB_REF_TYPE",
        "GITHUB_RUN_ID",
        "GITHUB_RUN_NUMBER",
        "GITHUB_RUN_ATTEMPT",
        "GITHUB_EVENT_NAME",
        "GITHUB_ACTOR",
        "GITHUB_WORKFLOW",
        "GITHUB_SERVER_URL",
        "GITHUB_REPOSITORY",
        "GITHUB_REPOSITORY_OWNER",
    )
}


def _build_args(job: _Job, entry: Mapping[str, str], migration: Migration) -> dict[str, Any]:
    args: dict[str, Any] = {}
    block = str(job.build.get("build-args") or "")
    if entry and _EXPRESSION.fullmatch(block.strip()):  # a whole block from the matrix
        resolved = _resolved(block, entry, job.context)
        block = block if resolved is None else resolved
    for line in _lines(block):
        name, _, value = line.partition("=")
        filled = _resolved(value, entry, job.context)
        run_value = _EXPRESSION.fullmatch(value.strip())
        variable = RUN_VARIABLES.get(run_value.group("expr")) if run_value else None
        if filled is None and variable is not None:
            args[name.strip()] = {"env": variable}
            continue
        if filled is None:
            note = f"build-args: {name.strip()} is {value.strip()!r}, an expression buildcache cannot read: pass it with --build-arg"
            if note not in migration.notes:
                migration.notes.append(note)
            continue
        args[name.strip()] = filled
    return args


def _tags(
    migration: Migration,
    job: _Job,
    entries: Sequence[tuple[str, Mapping[str, str]]],
    repository: str | None,
) -> None:
    step = _tag_step(job)
    migration.variant_entries = list(entries)
    migration.job_if = _written(job.rest.get("if"))
    migration.meta = {k: _written(v) or "" for k, v in job.meta.items()}
    migration.known = dict(job.context)
    if step is not None and not job.meta:
        migration.tag_step = step
        _shell_tags(migration, step, entries, repository)
        return
    tags = {"rules": _rule_lines(migration, job), "flavor": _flavor_lines(migration, job)}
    tags = {key: lines for key, lines in tags.items() if lines}
    if tags:
        migration.config["tags"] = tags


def _tag_step(job: _Job) -> ShellStep | None:
    """The `run:` step whose output the build's `tags` are (`${{ steps.meta.outputs.tags }}`)."""
    found = _STEP_OUTPUT.match(str(job.build.get("tags", "")).strip())
    if found is None:
        return None
    for step in job.steps:
        if step.get("id") == found.group(1) and isinstance(step.get("run"), str):
            env = {**job.env, **_env(step)}
            return ShellStep(step["run"], found.group(2), {k: str(v) for k, v in env.items()})
    return None


def _shell_tags(
    migration: Migration,
    step: ShellStep,
    entries: Sequence[tuple[str, Mapping[str, str]]],
    repository: str | None,
) -> None:
    """The tags a shell step computes, as rules; its images where --image gave none."""
    found = shell_tags(step, triggers=migration.triggers, variants=entries, repository=repository)
    tags = {"rules": found.rules, "flavor": found.flavor}
    if found.rules:
        migration.config["tags"] = {key: lines for key, lines in tags.items() if lines}
    if found.images and not migration.config.get("images"):
        migration.config["images"] = found.images
    for name, tag in found.latest_tags.items():
        migration.config["variants"][name]["latest-tag"] = tag
    migration.manual = found.manual
    migration.guesses += found.guesses
    migration.notes += found.notes


def _rule_lines(migration: Migration, job: _Job) -> list[str]:
    rules = []
    for line in _lines(job.meta.get("tags"), comments=True):
        if "${{" in line:
            migration.notes.append(f"tags: {line!r} holds an expression; left out")
        else:
            rules.append(line)
    return rules


def _flavor_lines(migration: Migration, job: _Job) -> list[str]:
    flavor = []
    for line in _lines(job.meta.get("flavor"), comments=True):
        if "${{" not in line:
            flavor.append(line)
        elif not _per_variant_suffix(migration, line):
            migration.notes.append(
                f"flavor: {line!r} depends on the run; buildcache suffixes every variant but the "
                "default with -<variant> itself (its moving tag is <variant>)"
            )
    return flavor


def _per_variant_suffix(migration: Migration, line: str) -> bool:
    """`suffix=${{ matrix.variant == 'full' && '-full' || '' }},onlatest=true`: buildcache's own
    `-<variant>` suffix, and the moving tag `latest-<variant>` where `onlatest` says so."""
    variants = migration.config.get("variants", {})
    others = [name for name, table in variants.items() if not table.get("default")]
    # a `suffix=` expression that names `-<variant>` for each of them
    if not (line.startswith("suffix=") and all(f"'-{name}'" in line for name in others)):
        return False
    if re.search(r",\s*onlatest=true\b", line):
        for name in others:
            variants[name]["latest-tag"] = f"latest-{name}"
    return True


def _cache(migration: Migration, job: _Job, key: str | None, variants: list[str]) -> None:
    """The registry cache the workflow writes, kept: the same image and tags where they are
    `<prefix><variant>` (buildcache's own shape)."""
    registry = _registry_cache(migration, job)
    if registry is None:
        return
    image, _, tag = registry["ref"].rpartition(":")
    # `cache-${{ matrix.variant }}` -> `cache-`
    prefix = re.sub(r"\$\{\{\s*matrix\.[\w-]+\s*\}\}$", "", tag) if key else tag
    cache: dict[str, Any] = {"image": image, "mode": registry.get("mode", "min")}
    if prefix and prefix != tag:
        cache["tag-prefix"] = prefix
    else:
        migration.notes.append(
            f"cache: the workflow's cache tags ({tag}) are not <prefix><variant>; buildcache's "
            f"are buildcache-<variant> on {image} (one cold build fills them)"
        )
    migration.config["cache"] = cache


def _registry_cache(migration: Migration, job: _Job) -> dict[str, str] | None:
    """The `type=registry` line of `cache-to`; a note for each cache of another kind."""
    written = [_fields(line) for line in _lines(job.build.get("cache-to"))]
    others = [f["type"] for f in written if f.get("type") not in (None, "registry")]
    migration.notes += [
        f"cache-to: type={other} is not carried over: buildcache keeps a registry "
        "cache per variant instead (one cold build fills it)"
        for other in others
    ]
    return next((f for f in written if f.get("type") == "registry" and f.get("ref")), None)


def _fields(line: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in line.split(",") if "=" in part)


def _attest(migration: Migration, job: _Job) -> None:
    attest: dict[str, Any] = {}
    provenance = str(job.build.get("provenance", "")).lower()
    if provenance in ("false", "mode=min", "mode=max"):
        attest["provenance"] = {"false": False}.get(provenance, provenance.removeprefix("mode="))
    if str(job.build.get("sbom", "")).lower() == "true":
        attest["sbom"] = True
    if attest:
        migration.config["attest"] = attest


def _left_out(migration: Migration, job: _Job) -> None:
    build = job.build
    for name in ("secrets", "secret-files", "ssh"):
        for line in _lines(build.get(name)):
            migration.notes.append(
                f"{name}: {line.split('=', 1)[0]!r}: declare it under [secrets] or ssh (values "
                "from the step's env), see docs/configuration.md, Build inputs"
            )
