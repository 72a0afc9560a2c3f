"""Build progress as it streams: quiet, plain lines (CI logs), or a live view on a terminal.

Every view takes the tracker's events (buildkit/tracker.py). Step names and log lines are what
users wrote and what their build printed: always `Text`, never markup (ui/console.py).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Protocol

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from buildcache.buildkit.tracker import Event, LogLine, StepFinished, StepStarted, Vertex

ProgressMode = Literal["auto", "tty", "plain", "quiet"]


def step_label(vertex: Vertex) -> str:
    """One line: the step's number and the first line of its text (`…` where it goes on)."""
    return f"{vertex.index}/{vertex.count} {vertex.first_line}"


def outcome(vertex: Vertex) -> str:
    if vertex.cached:
        return "CACHED"
    if vertex.canceled:
        return "SHARED"  # computed once for an identical step of another variant
    return f"{vertex.seconds or 0:.1f}s"


def where(vertex: Vertex) -> str:
    return " ".join(part for part in (vertex.variant, vertex.platform) if part)


class ProgressView(Protocol):
    def __enter__(self) -> ProgressView: ...
    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def handle(self, events: Sequence[Event]) -> None: ...


class QuietView:
    def __enter__(self) -> QuietView:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def handle(self, events: Sequence[Event]) -> None:
        return None


class PlainView(QuietView):
    """One line per finished step: variant, platform, step, CACHED or its seconds."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def handle(self, events: Sequence[Event]) -> None:
        for event in events:
            if not isinstance(event, StepFinished):
                continue  # log lines are shown only for a failed step, from its tail
            vertex = event.vertex
            if vertex.error:
                self.console.print(
                    Text(f"{where(vertex)} {step_label(vertex)} ERROR: {vertex.error}")
                )
                for line in vertex.logs:
                    self.console.print(Text(f"  | {line}"))
            else:
                self.console.print(Text(f"{where(vertex)} {step_label(vertex)} {outcome(vertex)}"))


@dataclass
class _Row:
    started: float
    current: Text
    done: int = 0
    cached: int = 0
    total: int = 0
    failed: bool = False


class LiveView(QuietView):
    """A line per variant x platform that updates as BuildKit reports; finished steps scroll above.

    rich's Live repaints on its own clock (8 times a second); events only change the rows.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self.rows: dict[str, _Row] = {}
        self.live = Live(
            console=console, refresh_per_second=8, transient=True, get_renderable=self._render
        )

    def __enter__(self) -> LiveView:
        self.live.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.live.__exit__(kind, value, tb)
        if self.rows:
            self.console.print(self._table(final=True))

    def handle(self, events: Sequence[Event]) -> None:
        for event in events:
            vertex = event.vertex
            row = self.rows.setdefault(
                where(vertex) or "build", _Row(started=time.monotonic(), current=Text())
            )
            row.total = max(row.total, vertex.count or 0)
            if isinstance(event, StepStarted):
                row.current = Text(step_label(vertex))
            elif isinstance(event, StepFinished):
                self._finished(row, vertex)
            elif isinstance(event, LogLine) and not vertex.done:
                row.current = Text.assemble(f"{step_label(vertex)}  ", (event.line[-60:], "dim"))

    def _finished(self, row: _Row, vertex: Vertex) -> None:
        """A step done: counted in its row, and printed above the rows (with its log's tail
        where it failed)."""
        row.done += 1
        row.cached += 1 if vertex.reused else 0
        row.failed = row.failed or bool(vertex.error)
        if not vertex.error:
            result = Text(outcome(vertex), style="green" if vertex.reused else "yellow")
            self.console.print(
                Text.assemble(("✓ ", "green"), f"{where(vertex)} {step_label(vertex)} ", result)
            )
            return
        self.console.print(
            Text(f"✗ {where(vertex)} {step_label(vertex)}: {vertex.error}", style="bold red")
        )
        for line in vertex.logs:
            self.console.print(Text(f"  │ {line}", style="dim"))

    def _render(self) -> Table:
        return self._table(final=False)

    def _table(self, *, final: bool) -> Table:
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        table.add_column("variant / platform")
        table.add_column("steps", justify="right")
        table.add_column("cached", justify="right")
        table.add_column("time", justify="right")
        if not final:
            table.add_column("now")
        # the clock thread renders while events arrive: iterate over a copy
        for name, row in list(self.rows.items()):
            cells: list[Text] = [
                Text(name, style="red" if row.failed else ""),
                Text(f"{row.done}/{row.total or '?'}"),
                Text(str(row.cached)),
                Text(f"{time.monotonic() - row.started:.0f}s"),
            ]
            if not final:
                cells.append(row.current)
            table.add_row(*cells)
        return table


def progress_view(mode: ProgressMode, console: Console) -> ProgressView:
    if mode == "quiet":
        return QuietView()
    if mode == "plain" or (mode == "auto" and not console.is_terminal):
        return PlainView(console)
    return LiveView(console)
