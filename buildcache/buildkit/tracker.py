"""Pure: BuildKit's solve status -> vertexes merged by digest -> step events.

A vertex is reported again each time it changes, so the tracker merges updates by digest. Vertex
names carry where they belong: in a bake run `[slim linux/arm64 runtime 3/5] RUN ...` is variant
`slim`, platform linux/arm64, stage `runtime`, Dockerfile step 3 of 5. Steps are those Dockerfile
instructions (FROM included); `[slim internal] load ...`, cache import and export and push
vertexes are not steps, but the cache import and export ones feed the cache report (report.py).
"""

from __future__ import annotations

import base64
import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from buildcache.buildkit.rawjson import RawJsonDecoder, parse_time

LOG_TAIL_LINES = 20

_PREFIXED = re.compile(r"^\[(?P<prefix>[^\]]*)\]\s*(?P<rest>.*)$", re.DOTALL)
_STEP_COUNTER = re.compile(r"^(?P<index>\d+)/(?P<count>\d+)$")
_PLATFORM = re.compile(r"^[a-z][a-z0-9]*/[a-z0-9_]+(?:/[a-z0-9]+)?$")
_LONG_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# how BuildKit names a cache import's vertex (`[slim] importing cache manifest from <ref>`)
CACHE_IMPORT = "importing cache manifest from "


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
        """Not executed here: cached, or shared with an identical step (of this bake, which
        cancels the copy, or of another build on the engine, which completes it unstarted)."""
        return self.cached or self.canceled or (self.completed is not None and self.started is None)

    @property
    def ran(self) -> bool:
        """Executed here: started, and not taken from elsewhere. A step that is neither ran
        nor reused never ran (the build failed or stopped before it)."""
        return self.started is not None and not self.reused

    @property
    def never_ran(self) -> bool:
        """Neither ran nor reused: the build failed or stopped before it."""
        return not (self.ran or self.reused)

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

    @property
    def short_name(self) -> str:
        """`step_name` on one line: the first line of its text."""
        where = f"{self.stage} " if self.stage else ""
        return f"{where}{self.index}/{self.count} {self.first_line}"

    @property
    def first_line(self) -> str:
        """The step's text up to its first continued line, with `…` where more follows."""
        return first_line(_prefix_and_text(self.name, collapse=False)[1]) or self.text


# BuildKit joins a continued line to the next one, whose indent stays: two spaces or more
_CONTINUED = re.compile(r"\s{2,}|\n")
FIRST_LINE_LIMIT = 100


def first_line(text: str) -> str:
    """The first line of a step's text as BuildKit names it (a `RUN a \\` + `    && b` is named
    `RUN a     && b`), with `…` where it goes on or is longer than FIRST_LINE_LIMIT."""
    head = _CONTINUED.split(text.strip(), 1)[0]
    cut = head[:FIRST_LINE_LIMIT]
    return cut if cut == text.strip() else f"{cut} …"


@dataclass(frozen=True)
class VertexName:
    """What BuildKit's name of a vertex says: the variant, platform and step it belongs to."""

    text: str
    variant: str | None = None
    platform: str | None = None
    stage: str | None = None
    index: int | None = None  # the step's number, for steps
    count: int | None = None

    def vertex(self, digest: str, name: str) -> Vertex:
        return Vertex(
            digest=digest,
            name=name,
            variant=self.variant,
            platform=self.platform,
            stage=self.stage,
            index=self.index,
            count=self.count,
            text=self.text,
        )


def parse_vertex_name(
    name: str, variants: Sequence[str], platforms: Mapping[str, Sequence[str]]
) -> VertexName:
    """Split `[slim linux/arm64 runtime 3/5] RUN ...` into its parts.

    `variants` are the bake targets; with one variant buildx may leave its name out, and with
    one platform BuildKit leaves the platform out, so both fall back to the only one there is.
    """
    tokens, text = _prefix_and_text(name)
    # the bake target the name starts with, else the only one
    if tokens and tokens[0] in variants:
        variant: str | None = tokens.pop(0)
    else:
        variant = variants[0] if len(variants) == 1 else None
    platform = tokens.pop(0) if tokens and _PLATFORM.match(tokens[0]) else None
    counter = _STEP_COUNTER.match(tokens[-1]) if tokens else None
    if counter is None or "internal" in tokens:
        return VertexName(text, variant, platform)
    own_platforms = platforms.get(variant or "", ())
    platform = platform or (own_platforms[0] if len(own_platforms) == 1 else None)
    stage = " ".join(tokens[:-1]) or None
    return VertexName(
        text, variant, platform, stage, int(counter.group("index")), int(counter.group("count"))
    )


def _prefix_and_text(name: str, *, collapse: bool = True) -> tuple[list[str], str]:
    """The words of the `[...]` prefix, and the step's text after it (its whitespace collapsed
    unless `collapse` is false)."""
    match = _PREFIXED.match(name)
    rest = name if match is None else match.group("rest")
    prefix = [] if match is None else match.group("prefix").split()
    return prefix, _short_digests(" ".join(rest.split()) if collapse else rest)


def _short_digests(text: str) -> str:
    """A FROM resolved to its digest: 12 hex digits identify it, 64 only widen every table."""
    return _LONG_DIGEST.sub(lambda m: m.group(0)[:19], text)


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


def _log_lines(vertex: Vertex, raw: Mapping[str, Any]) -> list[Event]:
    """A vertex's log lines (base64 in the stream): kept on the vertex, told for steps."""
    try:
        data = base64.b64decode(raw.get("data") or "").decode(errors="replace")
    except ValueError:
        return []
    lines = [text for text in data.splitlines() if text.strip()]
    vertex.logs.extend(lines)
    return [LogLine(vertex, text) for text in lines] if vertex.is_step else []


def _merge(vertex: Vertex, raw: Mapping[str, Any]) -> None:
    """A vertex's update: times, cached, and its error (a cancel is no error of its own)."""
    started = parse_time(raw.get("started"))
    if started is not None and (vertex.started is None or vertex.completed is not None):
        vertex.started = started
    vertex.completed = parse_time(raw.get("completed")) or vertex.completed
    vertex.cached = vertex.cached or bool(raw.get("cached"))
    _merge_error(vertex, raw.get("error"))


def _merge_error(vertex: Vertex, error: object) -> None:
    if not error:
        return
    if str(error).strip().endswith("context canceled"):
        vertex.canceled = True
    else:
        vertex.error = str(error)


def _counts_as_step(vertex: Vertex) -> bool:
    """A step, or BuildKit's internal work (a failure there is a build's failure)."""
    return vertex.is_step or "internal" in vertex.name


class BuildTracker:
    """Merges rawjson updates into vertexes and tells what changed, as events."""

    def __init__(self, variants: Sequence[str], platforms: Mapping[str, Sequence[str]]) -> None:
        self.variants = list(variants)
        self.platforms = platforms
        self.vertexes: dict[str, Vertex] = {}
        self._decoder = RawJsonDecoder()

    def feed_line(self, line: str) -> list[Event]:
        events: list[Event] = []
        for obj in self._decoder.feed(line):
            events.extend(self.update(obj))
        return events

    def close(self) -> None:
        """The stream ended: an object still open was cut short."""
        self._decoder.close()

    @property
    def other_lines(self) -> Sequence[str]:
        """The last lines of the stream that were not rawjson (buildx's own messages)."""
        return tuple(self._decoder.other_lines)

    @property
    def dropped(self) -> int:
        """Objects that were cut short or did not parse."""
        return self._decoder.dropped

    def update(self, obj: Mapping[str, Any]) -> list[Event]:
        events: list[Event] = []
        for raw in obj.get("vertexes") or ():
            if isinstance(raw, dict) and isinstance(raw.get("digest"), str):
                events.extend(self._update_vertex(raw))
        for raw in obj.get("logs") or ():
            # the vertex a log entry belongs to, if it is one this tracker knows
            vertex = self.vertexes.get(raw.get("vertex", "")) if isinstance(raw, dict) else None
            if vertex is not None:
                events.extend(_log_lines(vertex, raw))
        return events

    def _update_vertex(self, raw: Mapping[str, Any]) -> list[Event]:
        vertex = self._vertex(raw["digest"], str(raw.get("name", "")))
        was_started, was_done = vertex.started is not None, vertex.done
        _merge(vertex, raw)
        if not vertex.is_step:
            return []
        events: list[Event] = []
        if vertex.started is not None and not was_started:
            events.append(StepStarted(vertex))
        if vertex.done and not was_done:
            events.append(StepFinished(vertex))
        return events

    def _vertex(self, digest: str, name: str) -> Vertex:
        """The vertex of this digest, made the first time it is seen."""
        if digest not in self.vertexes:
            parsed = parse_vertex_name(name, self.variants, self.platforms)
            self.vertexes[digest] = parsed.vertex(digest, name)
        return self.vertexes[digest]

    def steps(self) -> list[Vertex]:
        return [v for v in self.vertexes.values() if v.is_step]

    def failed_steps(self) -> list[Vertex]:
        return [v for v in self.vertexes.values() if v.error and _counts_as_step(v)]

    def export_failure(self, variant: str | None = None) -> str | None:
        """Why the build failed after every step was done: the export or the push (a vertex
        that is not a step, such as `[slim] exporting to image`), or buildx's own last error
        line. With `variant`, only its own export's (or one of no variant): another variant's
        push is not this one's failure. None where a step failed or did not finish: the build
        itself failed."""
        if not self._steps_all_done():
            return None
        errors = self._export_errors()
        mine = [error for name, error in errors if variant is None or name in (variant, None)]
        if len(mine) == len(errors):  # no other variant's: buildx's own lines are this one's
            mine += self.error_lines()
        return mine[-1] if mine else None

    def export_failed_of(self) -> list[str]:
        """The variants whose export or push failed after every step was done."""
        if not self._steps_all_done():
            return []
        return list(dict.fromkeys(name for name, _ in self._export_errors() if name is not None))

    def _export_errors(self) -> list[tuple[str | None, str]]:
        """Each vertex's error (a cancel aside) and the variant it belongs to; a cache import's
        (`importing cache manifest from ...: not found`, a first build's) is none: the build
        goes on without that cache."""
        return [
            (v.variant, v.error)
            for v in self.vertexes.values()
            if v.error and not v.canceled and not v.text.startswith(CACHE_IMPORT)
        ]

    def _steps_all_done(self) -> bool:
        """There were steps, and every one of them finished without an error."""
        steps = self.steps()
        return bool(steps) and not self.failed_steps() and all(s.done for s in steps)

    def error_lines(self) -> list[str]:
        """buildx's own lines that say ERROR or error."""
        return [line for line in self.other_lines if "ERROR" in line or "error" in line]
