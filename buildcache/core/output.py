"""Pure: buildx's `--output` (build-push-action's `outputs`) -> what a build does with its image.

buildcache owns the image exporter that pushes (core/bake.py: every registry of the config, by
digest, its tags written afterwards), so an output that pushes or loads is read as that intent:
`type=registry` or `type=image,push=true` is a push, `push-by-digest=true` with it one
platform pushed by digest for `merge` (docker's per-platform runner recipe), `type=docker` a
load. An output that writes files (`type=local`, `tar`, `oci`, `docker` with `dest`) is handed to
buildx as given, its `dest` made absolute. Anything else is refused with one sentence: never a
push of another kind than the one asked for.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from buildcache.core.plan.metadata import csv_field
from buildcache.core.reference import ImageRef, ReferenceError
from buildcache.errors import UsageError

# the exporters that write files where `dest` says (buildx's names)
FILE_EXPORTERS = ("local", "tar", "oci", "docker")
_KNOWN = ("registry", "image", "docker", "local", "tar", "oci", "cacheonly")


@dataclass(frozen=True)
class Export:
    """An exporter that writes the image as files: `type=local|tar|oci|docker,dest=PATH`, with
    the other attributes the user gave, in their order."""

    kind: str
    dest: Path
    attributes: tuple[str, ...] = ()  # KEY=VALUE, passed on to buildx as written

    def to_option(self) -> str:
        fields = [f"type={self.kind}", f"dest={self.dest}", *self.attributes]
        return ",".join(csv_field(field) for field in fields)


@dataclass(frozen=True)
class Output:
    """What one `--output` asks of the build."""

    push: bool = False
    push_by_digest: bool = False
    load: bool = False
    export: Export | None = None
    names: tuple[ImageRef, ...] = ()  # the images `name=` names (a push goes to the config's)


def parse_output(texts: Sequence[str], cwd: Path) -> Output:
    """`--output`, as buildx reads it (CSV; no type with a dest is type=local): one exporter."""
    if len(texts) > 1:
        raise UsageError(
            f"--output is given {len(texts)} times: buildcache exports each build one way (a "
            "push, a load, or files)"
        )
    return _parse_one(texts[0], cwd)


def _parse_one(text: str, cwd: Path) -> Output:
    fields = _fields(text)
    kind = fields.pop("type", "local" if "dest" in fields else "")
    if kind not in _KNOWN:
        raise UsageError(
            f"--output {text!r}: type={kind or '(none)'} is not an exporter buildcache can use "
            f"({', '.join('type=' + k for k in _KNOWN)})"
        )
    if kind == "cacheonly":
        return Output()
    dest = fields.pop("dest", None)
    if kind in FILE_EXPORTERS and dest is not None:
        attributes = tuple(f"{key}={value}" for key, value in fields.items())
        return Output(export=Export(kind, cwd / dest, attributes))
    if kind == "docker":
        return Output(load=True)
    if kind != "image" and kind != "registry":
        raise UsageError(f"--output {text!r}: type={kind} writes files, and needs dest=PATH")
    return _push_output(text, kind, fields)


def _push_output(text: str, kind: str, fields: dict[str, str]) -> Output:
    """type=registry, or type=image (a push only with push=true)."""
    push = kind == "registry" or _true(fields.get("push", "false"))
    by_digest = _true(fields.get("push-by-digest", "false"))
    names = tuple(_name(text, n) for n in fields.get("name", "").split(",") if n.strip())
    return Output(push=push, push_by_digest=by_digest, names=names)


def combined(output: Output | None, *, push: bool, load: bool, push_by_digest: bool) -> Output:
    """`--output` with --push, --load and --push-by-digest: one intent, or a usage error. A
    push-by-digest output pushes by digest only (one platform, no tag: `merge` writes them),
    never a tagged push."""
    given = output or Output()
    by_digest = push_by_digest or given.push_by_digest
    pushes = push or given.push or push_by_digest
    if by_digest and not pushes:
        raise UsageError(
            "--output push-by-digest=true pushes nothing without push=true (or --push): "
            "buildcache pushes each platform by digest for merge, or builds without a push"
        )
    wanted = Output(
        push=pushes and not by_digest,
        push_by_digest=by_digest,
        load=load or given.load,
        export=given.export,
        names=given.names,
    )
    if wanted.export is not None and (pushes or wanted.load):
        raise UsageError(
            f"--output type={wanted.export.kind} writes files, and cannot be combined with a push "
            "or a load: export in a build of its own"
        )
    return wanted


def _fields(text: str) -> dict[str, str]:
    """buildx's CSV fields (a quoted field may hold commas: `"name=a,b"`), KEY=VALUE each."""
    try:
        row = next(csv.reader([text]), [])
    except csv.Error as error:
        raise UsageError(
            f"--output {text!r} is not buildx's comma-separated form ({error})"
        ) from None
    fields: dict[str, str] = {}
    for part in row:
        key, sep, value = part.partition("=")
        if not sep:
            raise UsageError(f"--output {text!r}: {part!r} is not KEY=VALUE")
        fields[key.strip().lower()] = value.strip()
    return fields


def _true(value: str) -> bool:
    return value.lower() in ("true", "1")


def _name(text: str, name: str) -> ImageRef:
    try:
        return ImageRef.parse(name.strip()).bare()
    except ReferenceError as error:
        raise UsageError(f"--output {text!r}: {error}") from None


def check_names(output: Output, images: Sequence[ImageRef]) -> None:
    """An output's `name=` names images of the config: buildcache pushes to those."""
    foreign = [str(name) for name in output.names if name not in images]
    if foreign:
        raise UsageError(
            f"--output name={', '.join(foreign)} is not an image of the config "
            f"({', '.join(str(i) for i in images)}): buildcache pushes to the config's images",
        )
