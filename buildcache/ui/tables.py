"""What people read after (or instead of) a build: the plan, the cache report, the publish table,
`cache ls` and `doctor`.

Every cell that holds what users wrote or what a registry said is `Text`, never markup (and the
consoles have markup off: ui/console.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from buildcache.buildkit.report import CacheExport, CacheReport, VariantStatus
from buildcache.core.bases import BaseUse, CacheRecord, MissCause, Upstream, short
from buildcache.core.build_inputs import Attest
from buildcache.core.doctor import Check
from buildcache.core.plan.metadata import Described
from buildcache.core.plan.model import BuildPlan, VariantPlan
from buildcache.core.redact import shown_args
from buildcache.core.reference import cache_source
from buildcache.ui.console import labelled

if TYPE_CHECKING:
    from buildcache.core.advise import Advice
    from buildcache.core.cache import CacheEntry
    from buildcache.core.publish.result import BuildResult
    from buildcache.core.publish.writes import TagResult

POLICY_WORDS = {"rw": "read and write", "ro": "read only", "off": "off"}
CHECK_STYLES = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def _key_table(title: Text | None = None) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column(style="cyan", no_wrap=True)
    # fold, never cut: a cache ref with an ellipsis in a CI log is useless
    table.add_column(overflow="fold")
    return table


def print_plan(
    console: Console, plan: BuildPlan, *, sources: Mapping[str, str] | None = None
) -> None:
    for headline in _headlines(plan):
        console.print(headline)
    for note in plan.notes:
        labelled(console, "note", "yellow", note)
    for variant in plan.variants:
        console.print(variant_table(variant))
    if sources:
        console.print(_sources_table(sources))


def _headlines(plan: BuildPlan) -> list[Text]:
    """The plan's version, its cache policy (where one applies) and whether latest moves."""
    lines = [_headline("version ", plan.version, f"from {plan.version_source}")]
    if plan.cache_policy is not None:
        policy = plan.cache_policy
        lines.append(_headline("cache ", POLICY_WORDS[policy.mode], policy.reason))
    lines.append(_headline("latest ", "moves" if plan.latest else "stays", plan.latest_reason))
    return lines


def _sources_table(sources: Mapping[str, str]) -> Table:
    table = _key_table(Text("settings from", style="bold"))
    for key, origin in sources.items():
        table.add_row(Text(key), Text(origin, style="dim" if origin == "default" else ""))
    return table


def _headline(label: str, value: str, why: str) -> Text:
    return Text.assemble((label, "bold"), value, (f"  ({why})", "dim"))


def variant_table(variant: VariantPlan) -> Table:
    """One variant of a plan: its tags (each with the rule that made it), what it is built
    from and with, its cache refs, labels, inputs and bases."""
    title = Text.assemble((variant.name, "bold"), (" (default)", "dim") if variant.default else "")
    table = _key_table(title)
    rows: list[Row] = [(Text("tags"), _tags_text(variant))]
    rows += [(Text(key), Text(value)) for key, value in _build_rows(variant).items()]
    if variant.cache_to is None:
        not_written = "not written, as the cache policy above says (--cache rw writes it)"
        rows.append((Text("cache to"), Text(not_written, "dim")))
    else:
        rows.append((Text("cache to"), Text(variant.cache_to.to_option())))
    rows += _metadata_rows(variant)
    rows += [(Text(key), Text(value)) for key, value in inputs_rows(variant).items()]
    if variant.upstream is not None:
        rows.append((Text("bases"), bases_text(variant.upstream)))
    for label, text in rows:
        table.add_row(label, text)
    return table


def _metadata_rows(variant: VariantPlan) -> list[Row]:
    """Labels, and annotations unless they are the labels again."""
    rows = []
    if variant.labels:
        rows.append((Text("labels"), _described_text(variant.labels)))
    if variant.annotations and variant.annotations == variant.labels:
        rows.append((Text("annotations"), Text("the labels above, on the index too", "dim")))
    elif variant.annotations:
        rows.append((Text("annotations"), _described_text(variant.annotations)))
    return rows


def _tags_text(variant: VariantPlan) -> Text:
    tags = Text()
    for n, tag in enumerate(variant.tags):
        tags.append("\n" if n else "")
        tags.append(str(tag))
        tags.append(f"  ({variant.tag_rules.get(tag.tag or '', '')})", style="dim")
        if (tag.tag or "") in variant.held:  # as the build's table says it
            tags.append(f"  kept: {variant.held[tag.tag or '']}", style="yellow")
    return tags


def _build_rows(variant: VariantPlan) -> dict[str, str]:
    args = ", ".join(f"{k}={v}" for k, v in shown_args(variant.build_args).items())
    return {
        "platforms": ", ".join(variant.platforms),
        "build args": args or "-",
        "target": variant.target or "-",
        "dockerfile": str(variant.dockerfile),
        "context": str(variant.context),
        "cache from": "\n".join(cache_source(r) for r in variant.cache_from) or "-",
    }


def _described_text(values: Mapping[str, Described]) -> Text:
    text = Text()
    for n, (key, described) in enumerate(values.items()):
        text.append(("\n" if n else "") + f"{key}={described.value}")
        text.append(f"  ({described.origin})", style="dim")
    return text


def inputs_rows(variant: VariantPlan) -> dict[str, str]:
    """Secrets (where each is read from, never its value), SSH, named contexts, attestations."""
    given = variant.inputs
    rows = {
        "secrets": "\n".join(
            f"{s.id}  ({s.source}{'' if s.required else ', optional'})" for s in given.secrets
        ),
        "ssh": ", ".join(given.ssh),
        "contexts": "\n".join(f"{name}={value}" for name, value in given.contexts.items()),
        "flags": " ".join(
            f for f, on in (("--no-cache", given.no_cache), ("--pull", given.pull)) if on
        ),
        "attestations": _attest_text(given.attest),
    }
    return {key: value for key, value in rows.items() if value}


def _attest_text(attest: Attest | None) -> str:
    if attest is None:
        return ""
    provenance = (
        "no provenance" if attest.provenance == "off" else f"provenance mode={attest.provenance}"
    )
    return f"{provenance}{', sbom' if attest.sbom else ''}  ({attest.reason})"


def bases_text(upstream: Upstream) -> Text:
    """Each base with the digest built on, and what the cache's record says of it."""
    text = Text("\n").join(
        Text.assemble(base.name, (f"  unresolved: {base.current.error}", "yellow"))
        if base.current.error
        else Text.assemble(f"{base.name}@{short(base.use)}", _base_state(base))
        for base in upstream.bases
    )
    if not upstream.bases:
        text.append("none (FROM scratch, or stages only)", style="dim")
    if upstream.record_note:
        text.append(f"\n{upstream.record_note}", style="dim")
    return text


def _base_state(base: BaseUse) -> tuple[str, str]:
    """What the cache's record says of a base: pinned, moved, or the cache's base since."""
    if base.pinned and base.refresh_on:
        return (
            f"  pinned: the cache's base since {base.since:%Y-%m-%d}; the tag is now "
            f"{short(base.current.digest)}; refreshes on {base.refresh_on:%Y-%m-%d}",
            "yellow",
        )
    if base.moved:
        return f"  moved since the cache was built on {short(base.recorded)}", "yellow"
    if base.recorded:
        return f"  the cache's base since {base.since:%Y-%m-%d}", "dim"
    return "", ""


def cache_table(
    reports: Sequence[CacheReport], statuses: Mapping[str, VariantStatus] | None = None
) -> Group:
    """Per variant: how it ended (where one failed), what was read, what came from the cache and
    what ran, what was written."""
    parts: list[Table | Text] = [Text("cache report", style="bold")]
    for report in reports:
        table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 1))
        table.add_column(style="cyan", no_wrap=True)
        table.add_column(overflow="fold")
        rows = [
            *_status_rows((statuses or {}).get(report.variant)),
            *_import_rows(report),
            *_step_rows(report),
            *_ran_rows(report),
            (Text("cache to"), _export_text(report.exported)),
        ]
        for label, value in rows:
            table.add_row(label, value)
        parts += [Text(report.variant, style="bold"), table]
    return Group(*parts)


Row = tuple[Text, Text]
IMPORT_STYLES = {"found": "green", "missing": "", "failed": "red"}


def _status_rows(status: VariantStatus | None) -> list[Row]:
    if status is None or status.state == "built":
        return []
    if status.state == "published before":  # not a failure: its image, as it was
        headline = Text.assemble(("PUBLISHED BEFORE", "bold cyan"), f": {status.image}")
        return [(Text("status"), headline)]
    where = f" at {status.step}" if status.step else ""
    headline = Text.assemble((status.state.upper(), "bold red"), f"{where}: {status.error}")
    return [(Text("status"), headline)] + [
        (Text(""), Text(f"| {line}", style="dim")) for line in status.log[-10:]
    ]


def _import_rows(report: CacheReport) -> list[Row]:
    rows = []
    for imported in report.imported:
        reason = f" ({imported.reason})" if imported.reason else ""
        status = (imported.status, IMPORT_STYLES[imported.status])
        rows.append((Text("cache from"), Text.assemble(status, f" {imported.ref}{reason}")))
    return rows


def _step_rows(report: CacheReport) -> list[Row]:
    """One row of steps from the cache, or one per platform where they differ."""
    if not report.total:  # never 0/0: the bake stopped before any step of it
        return [(Text("steps"), Text("none: BuildKit reported no step of it", style="yellow"))]
    rows = []
    for n, (label, total, cached, platform) in enumerate(_step_counts(report)):
        style = "green" if cached == total else ("red" if report.reuse_broken else "yellow")
        summary = Text.assemble((f"{cached}/{total} from the cache", style), f"  {label}")
        # where the cached steps came from: each platform's own on its line
        origins = report.origin_words_on(platform)
        note = f" ({origins})" if origins else ""
        rows.append((Text("steps"), summary + note + ("" if n else _steps_note(report))))
    return rows


def _step_counts(report: CacheReport) -> list[tuple[str, int, int, str | None]]:
    """(platforms, steps, from the cache, the platform or None for all): one line for all, or
    one per platform if they differ."""
    platforms = list(report.per_platform.items())
    if len({(s.total, s.cached) for _, s in platforms}) > 1:
        return [(p, s.total, s.cached, p) for p, s in platforms]
    return [(", ".join(report.per_platform) or "-", report.total, report.cached, None)]


def _steps_note(report: CacheReport) -> str:
    fetched = sum(1 for s in report.executed_steps if s.is_from)
    note = ""
    note += f" ({fetched} of the rest FROM, which fetched the base)" if fetched else ""
    if report.not_run:  # per platform: the same step on two platforms is not two
        counts = [f"{s.not_run} on {p}" for p, s in report.per_platform.items() if s.not_run]
        note += f"; never ran: {', '.join(counts)} (the build stopped before them)"
    return note


def _ran_rows(report: CacheReport) -> list[Row]:
    """The five slowest steps that ran: FROM steps only fetch the base on a fresh runner, so
    the JSON keeps them and the table does not."""
    ran = sorted(
        (s for s in report.executed_steps if not s.is_from), key=lambda s: -(s.seconds or 0)
    )
    rows = []
    for s in ran[:5]:
        # a step BuildKit ran once for this variant and others of the run: no hit for any
        once = (
            f" (built once in this run, for {', '.join(s.shared_with)} too)"
            if s.shared_with
            else ""
        )
        line = f"{s.seconds or 0:5.1f}s {s.platform or ''} {s.short_name or s.name}{once}"
        rows.append((Text("ran"), Text(line)))
    if len(ran) > 5:
        rows.append((Text(""), Text(f"... and {len(ran) - 5} more (--json lists them all)")))
    return rows


def _export_text(exported: CacheExport) -> Text:
    if exported.status == "written":
        return Text.assemble(("written", "green"), f" {exported.ref} (mode={exported.mode})")
    if exported.status == "skipped":
        return Text(f"skipped: {exported.reason}", style="dim")
    return Text.assemble(("NOT SAVED", "bold red"), f" {exported.ref}: {exported.reason}")


def print_report(console: Console, result: BuildResult) -> None:
    """After a build: the cache report, the publish table, and the warnings."""
    if result.reports:
        console.print(cache_table(list(result.reports.values()), result.statuses))
    if result.published:
        console.print(publish_table(result.published))
    for note in rerun_notes(list(result.reports.values()), result.causes):
        labelled(console, "note", "cyan", note)
    for warning in cache_warnings(list(result.reports.values()), result.causes):
        labelled(console, "warning", "yellow", warning)


def rerun_notes(
    reports: Sequence[CacheReport], causes: Mapping[str, MissCause] | None = None
) -> list[str]:
    """Why a step ran again where that was expected (files, an argument, the Dockerfile or the
    base changed, and the rest came from the cache): information, not a warning."""
    return [
        note
        for report in reports
        for note in _rerun_note(report, (causes or {}).get(report.variant))
    ]


def _rerun_note(report: CacheReport, cause: MissCause | None) -> list[str]:
    """A miss with a known cause, the rest of the chain of reuse intact; a registry cache this
    run filled while the engine's own cache gave the steps."""
    filled = [f"{report.variant}: {report.hidden_registry_words}"] if report.registry_filled else []
    if cause is None or cause.kind == "unknown" or report.reuse_broken:
        return filled
    return [*filled, f"{report.variant}: {cause.step} ran again: {cause.detail}"]


def cache_warnings(
    reports: Sequence[CacheReport], causes: Mapping[str, MissCause] | None = None
) -> list[str]:
    return [
        warning
        for report in reports
        for warning in _report_warnings(report, (causes or {}).get(report.variant))
    ]


def _report_warnings(report: CacheReport, cause: MissCause | None) -> list[str]:
    """A broken chain of reuse, a cache not saved, a cache that could not be read."""
    warnings = [_broken_chain(report, cause)] if report.reuse_broken else []
    if report.registry_hidden and not report.registry_filled:
        warnings.append(f"{report.variant}: {report.hidden_registry_words}")
    if report.exported.status == "failed":
        warnings.append(
            f"{report.variant}: the cache was not saved to {report.exported.ref}: {report.exported.reason}"
        )
    return warnings + [
        f"{report.variant}: the cache {imported.ref} could not be read: {imported.reason}"
        for imported in report.imported
        if imported.status == "failed"
    ]


def _broken_chain(report: CacheReport, cause: MissCause | None) -> str:
    # the cause is the first step whose own input changed: name it where it is not the first
    # step that ran (a later stage's, numbered lower, may have run first)
    same = cause is None or (report.first_executed or "").endswith(cause.step)
    where = "" if same or cause is None else f"{cause.step}: "
    likely = f"; the likely cause: {where}{cause.detail}" if cause else ""
    return (
        f"{report.variant}: the cache was found but {report.executed} of {report.total} steps ran again; "
        f"the chain of reuse broke at {report.first_executed} (every step after it ran again too)"
        + likely
    )


def print_advice(console: Console, found: Sequence[Advice], notes: Sequence[str]) -> None:
    """`advise`: each piece of advice with the step it is about; the notes on missing records."""
    for note in notes:
        labelled(console, "note", "yellow", note)
    if not found:
        console.print(Text("no advice: the Dockerfiles' layouts let the cache pay", style="green"))
        return
    for advice in found:
        console.print(
            Text.assemble(
                (f"{', '.join(advice.variants)} {advice.stage}", "bold"), f"  {advice.kind}"
            )
        )
        console.print(Text(f"  {advice.message}"))


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
    table.add_column("built on", overflow="fold")
    table.add_column("owner", overflow="fold")  # the project whose build wrote it (its record)
    for entry in [*entries, *orphans]:
        table.add_row(*_entry_cells(entry))
    return table


def _entry_cells(entry: CacheEntry) -> list[Text]:
    present = entry.present
    platforms = "?" if entry.platforms is None else (", ".join(entry.platforms) or "none found")
    return [
        Text(entry.variant) if entry.variant else Text("(orphan)", style="yellow"),
        Text(str(entry.ref)),
        Text("yes", style="green") if present else Text("no", style="yellow"),
        Text(platforms if present else "-"),
        Text(human_size(entry.size)),
        Text(_written(entry)),
        Text(_built_on(entry.record) if present else "-"),
        Text((entry.record.owner or "-") if entry.record else "-"),  # as the record says
    ]


def _written(entry: CacheEntry) -> str:
    return entry.written.strftime("%Y-%m-%d %H:%M:%S UTC") if entry.written else "-"


def _built_on(record: CacheRecord | None) -> str:
    """The bases the cache's record names, each with the digest built on and since when."""
    if record is None:
        return "- (no record)"
    bases = [f"{b.name}@{short(b.digest)} since {b.since:%Y-%m-%d}" for b in record.bases]
    return "\n".join(bases) or "no base image"


def publish_table(results: Sequence[TagResult]) -> Table:
    """Registry x tag: done, failed (reason) or skipped (why)."""
    table = Table(title="published", title_justify="left", header_style="bold")
    table.add_column("image", overflow="fold")
    table.add_column("tag", overflow="fold")
    table.add_column("status")
    table.add_column("reason", overflow="fold")
    style = {"done": "green", "failed": "bold red", "skipped": "yellow", "kept": "cyan"}
    for result in results:
        table.add_row(
            Text(str(result.image)),
            Text(result.tag),
            Text(result.status, style=style[result.status]),
            Text(result.reason or ""),
        )
    return table


def checks_table(checks: Sequence[Check]) -> Table:
    table = Table(title="buildcache doctor", title_justify="left", header_style="bold")
    table.add_column("check")
    table.add_column("", no_wrap=True)
    table.add_column("detail", overflow="fold")
    table.add_column("fix", overflow="fold")
    for check in checks:
        table.add_row(
            Text(check.name),
            Text(check.status, style=CHECK_STYLES[check.status]),
            Text(check.detail),
            Text(check.fix or ""),
        )
    return table
