"""Pure: BuildKit's rawjson progress stream -> step events -> the cache report.

`docker buildx bake --progress rawjson` writes BuildKit's solve status as JSON objects (one per
update, pretty-printed over several lines) on stderr: `vertexes` with `name`, `started`,
`completed`, `cached` and `error`; `statuses`; `logs` with base64 data. A vertex is reported
again each time it changes, so the tracker merges updates by digest.

Vertex names carry where they belong: in a bake run `[slim linux/arm64 runtime 3/5] RUN ...` is
variant `slim`, platform linux/arm64, stage `runtime`, Dockerfile step 3 of 5. Steps are those
Dockerfile instructions (FROM included); `[slim internal] load ...`, cache import and export and
push vertexes are not steps, but the cache import and export ones feed the cache report.
"""

from __future__ import annotations

import base64
import json
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

MAX_OBJECT_BYTES = 16 * 1024 * 1024
LOG_TAIL_LINES = 20

_PREFIXED = re.compile(r"^\[(?P<prefix>[^\]]*)\]\s*(?P<rest>.*)$", re.DOTALL)
_STEP_COUNTER = re.compile(r"^(?P<index>\d+)/(?P<count>\d+)$")
_PLATFORM = re.compile(r"^[a-z][a-z0-9]*/[a-z0-9_]+(?:/[a-z0-9]+)?$")
_LONG_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_IMPORT = re.compile(r"^importing cache manifest from (?P<ref>\S+)")
_EXPORT = re.compile(r"^exporting cache to (?P<where>\S+)")


class RawJsonDecoder:
    """Splits the rawjson stream into objects, line by line, and keeps going past bad input.

    buildx prints each object with its opening and closing brace alone at column 0. A line
    outside an object that is not JSON (a warning, a plain message) is kept in `other_lines`;
    an object cut short by a new one, or one that does not parse, is dropped and counted.
    """

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._size = 0
        self.dropped = 0
        self.other_lines: deque[str] = deque(maxlen=50)

    def feed(self, line: str) -> Iterator[dict[str, Any]]:
        stripped = line.rstrip("\r\n")
        if not self._lines:
            if stripped.startswith("{"):
                whole = _loads(stripped)
                if whole is not None:
                    yield whole
                    return
                self._start(stripped)
            elif stripped.strip():
                self.other_lines.append(stripped)
            return
        if stripped.startswith("{"):
            # A new object at column 0 while one was open: the open one was truncated.
            self.dropped += 1
            self._start(stripped)
            return
        self._lines.append(stripped)
        self._size += len(stripped)
        if stripped == "}":
            obj = _loads("\n".join(self._lines))
            self._lines = []
            self._size = 0
            if obj is None:
                self.dropped += 1
            else:
                yield obj
        elif self._size > MAX_OBJECT_BYTES:
            self.dropped += 1
            self._lines = []
            self._size = 0

    def _start(self, line: str) -> None:
        self._lines = [line]
        self._size = len(line)

    def close(self) -> None:
        if self._lines:
            self.dropped += 1
            self._lines = []


def _loads(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    # BuildKit writes nanoseconds; Python's parser takes at most microseconds.
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", value)
    if not match:
        return None
    fraction = (match.group(2) or "0")[:6].ljust(6, "0")
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    return datetime.fromisoformat(f"{match.group(1)}.{fraction}{zone}")


@dataclass
class Vertex:
    digest: str
    name: str
    variant: str | None = None
    platform: str | None = None
    stage: str | None = None
    index: int | None = None  # Dockerfile step number, for steps
    count: int | None = None  # number of steps, for steps
    text: str = ""  # the instruction, for steps
    started: datetime | None = None
    completed: datetime | None = None
    cached: bool = False
    # BuildKit cancels a vertex that an identical one (another variant's same step) already
    # computes; in a build that succeeds, its result came from that one.
    canceled: bool = False
    error: str | None = None
    logs: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_TAIL_LINES))

    @property
    def is_step(self) -> bool:
        return self.index is not None

    @property
    def done(self) -> bool:
        return self.completed is not None or self.cached or self.canceled

    @property
    def reused(self) -> bool:
        """Not executed here: cached, or shared with an identical step."""
        return self.cached or self.canceled

    @property
    def is_from(self) -> bool:
        # A FROM step is fetched, never run: on a fresh runner BuildKit resolves the base again
        # and does not call it cached, but that breaks no chain of reuse after it.
        return self.is_step and self.text.startswith("FROM ")

    @property
    def seconds(self) -> float | None:
        if self.started is None or self.completed is None:
            return None
        return max(0.0, (self.completed - self.started).total_seconds())

    @property
    def step_name(self) -> str:
        where = f"{self.stage} " if self.stage else ""
        return f"{where}{self.index}/{self.count} {self.text}"


def parse_vertex_name(
    name: str, variants: Sequence[str], platforms: Mapping[str, Sequence[str]]
) -> dict[str, Any]:
    """Split `[slim linux/arm64 runtime 3/5] RUN ...` into its parts.

    `variants` are the bake targets; with one variant buildx may leave its name out, and with
    one platform BuildKit leaves the platform out, so both fall back to the only one there is.
    """
    parts: dict[str, Any] = {
        "variant": None,
        "platform": None,
        "stage": None,
        "index": None,
        "count": None,
    }
    match = _PREFIXED.match(name)
    rest = name
    tokens: list[str] = []
    if match:
        tokens = match.group("prefix").split()
        rest = match.group("rest")
    if tokens and tokens[0] in variants:
        parts["variant"] = tokens.pop(0)
    elif len(variants) == 1:
        parts["variant"] = variants[0]
    if tokens and _PLATFORM.match(tokens[0]):
        parts["platform"] = tokens.pop(0)
    counter = _STEP_COUNTER.match(tokens[-1]) if tokens else None
    if counter and "internal" not in tokens:
        tokens.pop()
        parts["index"] = int(counter.group("index"))
        parts["count"] = int(counter.group("count"))
        parts["stage"] = " ".join(tokens) or None
        variant_platforms = platforms.get(parts["variant"] or "", ())
        if parts["platform"] is None and len(variant_platforms) == 1:
            parts["platform"] = variant_platforms[0]
    # a FROM resolved to its digest: 12 hex digits identify it, 64 only widen every table
    parts["text"] = _LONG_DIGEST.sub(lambda m: m.group(0)[:19], " ".join(rest.split()))
    return parts


# Events the renderers in output.py show as the build streams.
@dataclass(frozen=True)
class StepStarted:
    vertex: Vertex


@dataclass(frozen=True)
class StepFinished:
    vertex: Vertex


@dataclass(frozen=True)
class LogLine:
    vertex: Vertex
    line: str


Event = StepStarted | StepFinished | LogLine


class BuildTracker:
    """Merges rawjson updates into vertexes and tells what changed, as events."""

    def __init__(self, variants: Sequence[str], platforms: Mapping[str, Sequence[str]]) -> None:
        self.variants = list(variants)
        self.platforms = platforms
        self.vertexes: dict[str, Vertex] = {}
        self.decoder = RawJsonDecoder()

    def feed_line(self, line: str) -> list[Event]:
        events: list[Event] = []
        for obj in self.decoder.feed(line):
            events.extend(self.update(obj))
        return events

    def feed_lines(self, lines: Iterable[str]) -> list[Event]:
        return [event for line in lines for event in self.feed_line(line)]

    def update(self, obj: Mapping[str, Any]) -> list[Event]:
        events: list[Event] = []
        for raw in obj.get("vertexes") or ():
            if not isinstance(raw, dict) or not isinstance(raw.get("digest"), str):
                continue
            events.extend(self._update_vertex(raw))
        for raw in obj.get("logs") or ():
            vertex = self.vertexes.get(raw.get("vertex", "")) if isinstance(raw, dict) else None
            if vertex is None:
                continue
            try:
                data = base64.b64decode(raw.get("data") or "").decode(errors="replace")
            except ValueError:
                continue
            for text in data.splitlines():
                if text.strip():
                    vertex.logs.append(text)
                    if vertex.is_step:
                        events.append(LogLine(vertex, text))
        return events

    def _update_vertex(self, raw: Mapping[str, Any]) -> list[Event]:
        digest = raw["digest"]
        vertex = self.vertexes.get(digest)
        if vertex is None:
            name = str(raw.get("name", ""))
            vertex = Vertex(
                digest=digest, name=name, **parse_vertex_name(name, self.variants, self.platforms)
            )
            self.vertexes[digest] = vertex
        was_started, was_done = vertex.started is not None, vertex.done
        started = parse_time(raw.get("started"))
        if started is not None and (vertex.started is None or vertex.completed is not None):
            vertex.started = started
        completed = parse_time(raw.get("completed"))
        if completed is not None:
            vertex.completed = completed
        if raw.get("cached"):
            vertex.cached = True
        error = raw.get("error")
        if error and str(error).strip().endswith("context canceled"):
            vertex.canceled = True
        elif error:
            vertex.error = str(error)
        if not vertex.is_step:
            return []
        events: list[Event] = []
        if vertex.started is not None and not was_started:
            events.append(StepStarted(vertex))
        if vertex.done and not was_done:
            events.append(StepFinished(vertex))
        return events

    def steps(self) -> list[Vertex]:
        return [v for v in self.vertexes.values() if v.is_step]

    def failed_steps(self) -> list[Vertex]:
        return [
            v for v in self.vertexes.values() if v.error and (v.is_step or "internal" in v.name)
        ]


# The cache report


ImportStatus = Literal["found", "missing", "failed"]
ExportStatus = Literal["written", "skipped", "failed"]


@dataclass(frozen=True)
class CacheImport:
    ref: str
    status: ImportStatus
    reason: str | None = None


@dataclass(frozen=True)
class CacheExport:
    ref: str | None
    status: ExportStatus
    reason: str | None = None
    mode: str | None = None


@dataclass(frozen=True)
class ExecutedStep:
    name: str
    platform: str | None
    seconds: float | None
    is_from: bool = False


@dataclass(frozen=True)
class PlatformSteps:
    total: int
    cached: int

    @property
    def executed(self) -> int:
        return self.total - self.cached


@dataclass(frozen=True, kw_only=True)
class CacheReport:
    variant: str
    imported: tuple[CacheImport, ...]
    exported: CacheExport
    total: int
    cached: int
    executed_steps: tuple[ExecutedStep, ...]
    per_platform: Mapping[str, PlatformSteps]
    first_executed: str | None  # where the chain of reuse broke (FROM steps aside)
    executed_runs: int = 0  # executed steps other than FROM
    runs: int = 0  # steps other than FROM

    @property
    def executed(self) -> int:
        return self.total - self.cached

    @property
    def hit_ratio(self) -> float:
        return self.cached / self.total if self.total else 1.0

    @property
    def cache_found(self) -> bool:
        return any(i.status == "found" for i in self.imported)

    @property
    def reuse_broken(self) -> bool:
        """The failure this tool exists to catch: the cache was there, yet most steps ran."""
        return self.cache_found and self.runs > 0 and self.executed_runs > self.runs / 2

    def to_json(self) -> dict[str, Any]:
        return {
            "imported": [
                {"ref": i.ref, "status": i.status, "reason": i.reason} for i in self.imported
            ],
            "steps": {"total": self.total, "cached": self.cached, "executed": self.executed},
            "executed_steps": [
                {
                    "name": s.name,
                    "platform": s.platform,
                    "seconds": None if s.seconds is None else round(s.seconds, 3),
                }
                for s in self.executed_steps
            ],
            "exported": {
                "ref": self.exported.ref,
                "status": self.exported.status,
                "reason": self.exported.reason,
            },
            "per_platform": {
                p: {"total": s.total, "cached": s.cached, "executed": s.executed}
                for p, s in self.per_platform.items()
            },
            "first_executed_step": self.first_executed,
        }


def _import_status(vertex: Vertex) -> CacheImport:
    ref = _IMPORT.match(vertex.text)
    name = ref.group("ref") if ref else vertex.text
    if not vertex.error:
        return CacheImport(name, "found")
    error = vertex.error
    # The first build of a variant has no cache yet: normal, not a failure.
    if error.rstrip().endswith("not found") or "manifest unknown" in error:
        return CacheImport(name, "missing", None)
    return CacheImport(name, "failed", _short_reason(error, name))


def _short_reason(error: str, ref: str | None = None) -> str:
    # "failed to configure registry cache importer: <ref>: <reason>" -> "<reason>"
    reason = error
    if ref and f"{ref}: " in reason:
        reason = reason.split(f"{ref}: ", 1)[1]
    return " ".join(reason.split())[:300]


def cache_report(
    tracker: BuildTracker,
    *,
    variant: str,
    cache_from: Sequence[str],
    cache_to: str | None,
    cache_to_mode: str | None,
    export_skipped_reason: str,
    metadata: Mapping[str, Any] | None,
    build_failed: bool,
) -> CacheReport:
    vertexes = list(tracker.vertexes.values())
    own = [v for v in vertexes if v.variant == variant]
    imports = {i.ref: i for i in (_import_status(v) for v in own if _IMPORT.match(v.text))}
    imported = tuple(imports.get(ref, CacheImport(ref, "missing")) for ref in cache_from)

    if cache_to is None:
        exported = CacheExport(None, "skipped", export_skipped_reason)
    else:
        export_vertex = next((v for v in own if _EXPORT.match(v.text)), None)
        if export_vertex is not None and export_vertex.error:
            exported = CacheExport(
                cache_to, "failed", _short_reason(export_vertex.error), cache_to_mode
            )
        elif (metadata and "cache.manifest" in metadata) or (
            export_vertex is not None and export_vertex.completed is not None
        ):
            exported = CacheExport(cache_to, "written", None, cache_to_mode)
        else:
            why = (
                "the build failed before the cache was exported"
                if build_failed
                else "BuildKit did not export it"
            )
            exported = CacheExport(
                cache_to, "failed" if not build_failed else "skipped", why, cache_to_mode
            )

    steps = _variant_steps(tracker, variant)
    per_platform: dict[str, PlatformSteps] = {}
    for step in steps:
        key = step.platform or "-"
        before = per_platform.get(key, PlatformSteps(0, 0))
        per_platform[key] = PlatformSteps(
            before.total + 1, before.cached + (1 if step.reused else 0)
        )
    executed = [s for s in steps if not s.reused]
    ordered = sorted(executed, key=lambda s: (s.index or 0, s.platform or ""))
    first = next((s for s in ordered if not s.is_from), None)
    return CacheReport(
        variant=variant,
        imported=imported,
        exported=exported,
        total=len(steps),
        cached=len(steps) - len(executed),
        executed_steps=tuple(
            ExecutedStep(s.step_name, s.platform, s.seconds, s.is_from) for s in ordered
        ),
        per_platform=per_platform,
        runs=sum(1 for s in steps if not s.is_from),
        executed_runs=sum(1 for s in executed if not s.is_from),
        first_executed=(
            f"[{first.platform}] {first.step_name}" if first and first.platform else first.step_name
        )
        if first
        else None,
    )


def _variant_steps(tracker: BuildTracker, variant: str) -> list[Vertex]:
    """The variant's steps, with the ones BuildKit shared with another variant credited to it too.

    In one bake run, a step that is identical in two variants (same instruction, same inputs) is
    one vertex, reported once under whichever variant reached it first. Its number, platform and
    text are the same in both, which is how it is found again here.
    """
    steps = tracker.steps()
    own = [s for s in steps if s.variant == variant]
    seen = {(s.platform, s.index) for s in own}
    counts = {(s.platform, s.count) for s in own}
    for step in steps:
        if step.variant == variant or (step.platform, step.index) in seen:
            continue
        if (step.platform, step.count) in counts and _shared_with(step, own):
            own.append(step)
            seen.add((step.platform, step.index))
    return sorted(own, key=lambda s: (s.platform or "", s.index or 0))


def _shared_with(step: Vertex, own: Sequence[Vertex]) -> bool:
    # The shared vertex's inputs are the earlier steps: it is the variant's if every step before it
    # that the variant has on that platform is either its own or shared (same text).
    return not any(
        s.platform == step.platform and s.index == step.index and s.text != step.text for s in own
    )
