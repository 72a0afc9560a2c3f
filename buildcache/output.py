"""What the user sees: the console (stderr), build progress, the plan and the cache report.

stdout carries only machine-readable output (`--json`); everything for people goes to stderr, so
`buildcache build --json > result.json` works with a live view on the terminal. rich honours
NO_COLOR; in plain mode (CI logs, `--progress plain`) nothing but plain text is written.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Protocol

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from buildcache.plan import BuildPlan
from buildcache.progress import CacheReport, Event, LogLine, StepFinished, StepStarted, Vertex

if TYPE_CHECKING:  # cache.py brings httpx, which `plan` need not load
    from buildcache.cache import CacheEntry
    from buildcache.publish import TagResult

ProgressMode = Literal["auto", "tty", "plain", "quiet"]


def make_console(*, plain: bool = False, width: int | None = None) -> Console:
    if plain:
        # No colour, no cursor moves, no wrapping: one line per event in a CI log.
        return Console(
            stderr=True,
            force_terminal=False,
            no_color=True,
            highlight=False,
            width=width or 160,
            soft_wrap=True,
        )
    console = Console(stderr=True, highlight=False, width=width)
    if width is None and not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = 120  # a log or a pipe: rich's 80 columns fold every cache ref
    return console


def _step_label(vertex: Vertex) -> str:
    text = vertex.text if len(vertex.text) <= 100 else vertex.text[:97] + "..."
    return f"{vertex.index}/{vertex.count} {text}"


def _outcome(vertex: Vertex) -> str:
    if vertex.cached:
        return "CACHED"
    if vertex.canceled:
        return "SHARED"  # computed once for an identical step of another variant
    return f"{vertex.seconds or 0:.1f}s"


def _where(vertex: Vertex) -> str:
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
            if isinstance(event, StepFinished):
                vertex = event.vertex
                if vertex.error:
                    self.console.print(
                        f"{_where(vertex)} {_step_label(vertex)} ERROR: {vertex.error}",
                        markup=False,
                    )
                    for line in vertex.logs:
                        self.console.print(f"  | {line}", markup=False)
                else:
                    outcome = _outcome(vertex)
                    self.console.print(
                        f"{_where(vertex)} {_step_label(vertex)} {outcome}", markup=False
                    )


@dataclass
class _Row:
    started: float
    current: Text | str = ""
    done: int = 0
    cached: int = 0
    total: int = 0
    failed: bool = False


class LiveView(QuietView):
    """A line per variant x platform that updates as BuildKit reports; finished steps scroll above."""

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
            row = self.rows.setdefault(_where(vertex) or "build", _Row(started=time.monotonic()))
            row.total = max(row.total, vertex.count or 0)
            if isinstance(event, StepStarted):
                row.current = _step_label(vertex)
            elif isinstance(event, StepFinished):
                row.done += 1
                row.cached += 1 if vertex.reused else 0
                if vertex.error:
                    row.failed = True
                    self.console.print(
                        Text(
                            f"✗ {_where(vertex)} {_step_label(vertex)}: {vertex.error}",
                            style="bold red",
                        )
                    )
                    for line in vertex.logs:
                        self.console.print(Text(f"  │ {line}", style="dim"))
                else:
                    outcome = Text(_outcome(vertex), style="green" if vertex.reused else "yellow")
                    self.console.print(
                        Text.assemble(
                            ("✓ ", "green"), f"{_where(vertex)} {_step_label(vertex)} ", outcome
                        )
                    )
            elif isinstance(event, LogLine) and not vertex.done:
                row.current = Text.assemble(f"{_step_label(vertex)}  ", (event.line[-60:], "dim"))
        self.live.refresh()

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
        for where, row in self.rows.items():
            cells: list[Text | str] = [
                Text(where, style="red" if row.failed else ""),
                f"{row.done}/{row.total or '?'}",
                str(row.cached),
                f"{time.monotonic() - row.started:.0f}s",
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


def print_plan(
    console: Console, plan: BuildPlan, *, sources: Mapping[str, str] | None = None
) -> None:
    console.print(f"[bold]version[/] {plan.version}  [dim](from {plan.version_source})[/]")
    if plan.cache_policy is not None:
        policy = plan.cache_policy
        mode = {"rw": "read and write", "ro": "read only", "off": "off"}[policy.mode]
        console.print(f"[bold]cache[/] {mode}  [dim]({policy.reason})[/]")
    for note in plan.notes:
        console.print(f"[yellow]note:[/] {note}")
    for variant in plan.variants:
        title = f"[bold]{variant.name}[/]" + (" [dim](default)[/]" if variant.default else "")
        table = Table(
            title=title, title_justify="left", show_header=False, box=None, pad_edge=False
        )
        table.add_column(style="cyan", no_wrap=True)
        table.add_column(overflow="fold")
        table.add_row("tags", "\n".join(variant.tags))
        table.add_row("platforms", ", ".join(variant.platforms))
        table.add_row(
            "build args", ", ".join(f"{k}={v}" for k, v in variant.build_args.items()) or "-"
        )
        table.add_row("target", variant.target or "-")
        table.add_row("dockerfile", str(variant.dockerfile))
        table.add_row("context", str(variant.context))
        table.add_row("cache from", "\n".join(variant.cache_from))
        table.add_row(
            "cache to",
            "\n".join(variant.cache_to)
            or "[dim]not written (no --push; --cache-write writes it)[/]",
        )
        console.print(table)
    if sources:
        console.print(
            "[dim]settings from: " + ", ".join(f"{k} ({v})" for k, v in sources.items()) + "[/]"
        )


def cache_table(reports: Sequence[CacheReport]) -> Group:
    """Per variant: what was read, what came from the cache and what ran, what was written."""
    parts: list[Table | Text] = [Text("cache report", style="bold")]
    for report in reports:
        table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 1))
        table.add_column(style="cyan", no_wrap=True)
        # fold, never cut: a cache ref with an ellipsis in a CI log is useless
        table.add_column(overflow="fold")
        for imported in report.imported:
            style = {"found": "green", "missing": "", "failed": "red"}[imported.status]
            reason = f" ({imported.reason})" if imported.reason else ""
            table.add_row(
                "cache from", Text.assemble((imported.status, style), f" {imported.ref}{reason}")
            )
        platforms = list(report.per_platform.items())
        differ = len({(s.total, s.cached) for _, s in platforms}) > 1
        rows = (
            [(p, s.total, s.cached) for p, s in platforms]
            if differ
            else [(", ".join(report.per_platform) or "-", report.total, report.cached)]
        )
        fetched = sum(1 for s in report.executed_steps if s.is_from)
        note = f" ({fetched} of the rest FROM, which fetched the base)" if fetched else ""
        for n, (label, total, cached) in enumerate(rows):
            style = "green" if cached == total else ("red" if report.reuse_broken else "yellow")
            summary = f"{cached}/{total} from the cache"
            table.add_row("steps", Text.assemble((summary, style), f"  {label}{'' if n else note}"))
        # FROM steps only fetch the base on a fresh runner; the JSON keeps them, the table not
        ran = sorted(
            (s for s in report.executed_steps if not s.is_from), key=lambda s: -(s.seconds or 0)
        )
        for step in ran[:5]:
            table.add_row("ran", f"{step.seconds or 0:5.1f}s {step.platform or ''} {step.name}")
        if len(ran) > 5:
            table.add_row("", f"... and {len(ran) - 5} more (--json lists them all)")
        exported = report.exported
        export = {
            "written": Text.assemble(
                ("written", "green"), f" {exported.ref} (mode={exported.mode})"
            ),
            "skipped": Text(f"skipped: {exported.reason}", style="dim"),
            "failed": Text.assemble(
                ("NOT SAVED", "bold red"), f" {exported.ref}: {exported.reason}"
            ),
        }[exported.status]
        table.add_row("cache to", export)
        parts += [Text(report.variant, style="bold"), table]
    return Group(*parts)


def cache_warnings(reports: Sequence[CacheReport]) -> list[str]:
    warnings = []
    for report in reports:
        if report.reuse_broken:
            warnings.append(
                f"{report.variant}: the cache was found but {report.executed} of {report.total} steps ran again; "
                f"the chain of reuse broke at {report.first_executed} (every step after it ran again too)"
            )
        if report.exported.status == "failed":
            warnings.append(
                f"{report.variant}: the cache was not saved to {report.exported.ref}: {report.exported.reason}"
            )
        for imported in report.imported:
            if imported.status == "failed":
                warnings.append(
                    f"{report.variant}: the cache {imported.ref} could not be read: {imported.reason}"
                )
    return warnings


def render_all(console: Console, *parts: Table | Text | str) -> None:
    console.print(Group(*parts))


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover


def cache_entries_table(entries: Sequence[CacheEntry], orphans: Sequence[CacheEntry]) -> Table:
    table = Table(title="registry cache", title_justify="left", header_style="bold")
    table.add_column("variant")
    table.add_column("ref", overflow="fold")
    table.add_column("present")
    table.add_column("platforms", overflow="fold")
    table.add_column("size", justify="right")
    table.add_column("written")
    for entry in [*entries, *orphans]:
        platforms = "?" if entry.platforms is None else ", ".join(entry.platforms) or "none found"
        table.add_row(
            entry.variant or Text("(orphan)", style="yellow"),
            entry.ref,
            Text("yes", style="green") if entry.present else Text("no", style="yellow"),
            platforms if entry.present else "-",
            human_size(entry.size),
            entry.written.strftime("%Y-%m-%d %H:%M:%S UTC") if entry.written else "-",
        )
    return table


def publish_table(results: Sequence[TagResult]) -> Table:
    """Registry x tag: done, failed (reason) or skipped (why)."""
    table = Table(title="published", title_justify="left", header_style="bold")
    table.add_column("image", overflow="fold")
    table.add_column("tag", overflow="fold")
    table.add_column("status")
    table.add_column("reason", overflow="fold")
    style = {"done": "green", "failed": "bold red", "skipped": "yellow"}
    for result in results:
        table.add_row(
            result.image,
            result.tag,
            Text(result.status, style=style[result.status]),
            result.reason or "",
        )
    return table


def print_json(data: Mapping[str, object]) -> None:
    """stdout's one JSON object (`--json`)."""
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
    sys.stdout.flush()


def workflow(lines: Sequence[str]) -> None:
    """GitHub workflow commands, unwrapped, on stderr (stdout is for --json)."""
    sys.stderr.write("".join(f"{line}\n" for line in lines))
    sys.stderr.flush()
