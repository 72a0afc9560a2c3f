"""The one place that speaks to a CI: log groups, error annotations, step outputs, the job summary.

Commands talk to a `CISink` and never ask which CI they run in; the CI's provider
(buildcache/ci/) makes the sink of the CI it detects: GitHub Actions, GitLab CI, or a sink that
does nothing (a laptop, another CI), and says where outputs and the summary go.

GitHub: workflow commands (`::group::`, `::error::`) go to stderr, which the runner reads as well
as stdout, so stdout stays the one JSON object of `--json`; outputs and the summary are appended
to the files the runner names (ci/github.py reads which). GitLab: collapsible sections.
What users wrote reaches the summary as Markdown text or code, escaped, never as Markdown.
"""

from __future__ import annotations

import json
import re
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from buildcache.buildkit.report import variant_steps
from buildcache.buildkit.tracker import Vertex
from buildcache.core.reference import ImageRef, ReferenceError

if TYPE_CHECKING:
    from buildcache.buildkit.report import CacheReport, VariantStatus
    from buildcache.core.bases import BaseUse, MissCause
    from buildcache.core.plan.model import VariantPlan
    from buildcache.core.publish.result import BuildResult
    from buildcache.core.publish.writes import TagResult


class CISink(Protocol):
    @contextmanager
    def group(self, title: str) -> Iterator[None]: ...
    def step_groups(self, steps: Sequence[Vertex], variants: Sequence[str]) -> None: ...
    def error(self, message: str) -> None: ...
    def results(self, result: BuildResult) -> None: ...
    def merge_results(
        self, digests: Mapping[str, str | None], tags: Mapping[str, list[str]], default: str
    ) -> None: ...


class NoCI:
    """A laptop, or a CI buildcache has nothing special to say to."""

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        yield

    def step_groups(self, steps: Sequence[Vertex], variants: Sequence[str]) -> None:
        return None

    def error(self, message: str) -> None:
        return None

    def results(self, result: BuildResult) -> None:
        return None

    def merge_results(
        self, digests: Mapping[str, str | None], tags: Mapping[str, list[str]], default: str
    ) -> None:
        return None


def _write(lines: Sequence[str]) -> None:
    sys.stderr.write("".join(f"{line}\n" for line in lines))
    sys.stderr.flush()


class GitHubActions(NoCI):
    def __init__(self, output: Path | None, summary: Path | None) -> None:
        self.output = output  # the step outputs file; None where the runner names none
        self.summary = summary  # the job summary file, likewise

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        _write([f"::group::{escape(title)}"])
        try:
            yield
        finally:
            _write([GROUP_END])

    def step_groups(self, steps: Sequence[Vertex], variants: Sequence[str]) -> None:
        _write(variant_groups(steps, variants))

    def error(self, message: str) -> None:
        _write([error_command(message)])

    def results(self, result: BuildResult) -> None:
        if self.output:
            write_outputs(self.output, result)
        if self.summary:
            with self.summary.open("a", encoding="utf-8") as stream:
                stream.write(summary(result))

    def merge_results(
        self, digests: Mapping[str, str | None], tags: Mapping[str, list[str]], default: str
    ) -> None:
        if self.output:
            write_merge_outputs(self.output, digests, tags, default)


class GitLabCI(NoCI):
    """Collapsible sections (docs.gitlab.com/ci/jobs/job_logs: custom collapsible sections)."""

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        name = f"buildcache_{uuid.uuid4().hex[:8]}"
        _write([f"\x1b[0Ksection_start:{int(time.time())}:{name}[collapsed=true]\r\x1b[0K{title}"])
        try:
            yield
        finally:
            _write([f"\x1b[0Ksection_end:{int(time.time())}:{name}\r\x1b[0K"])


# GitHub workflow commands


GROUP_END = "::endgroup::"


def escape(text: str) -> str:
    """A workflow command's message: %, CR and LF would end or corrupt it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def error_command(message: str) -> str:
    return f"::error title=buildcache::{escape(message)}"


def group(title: str, lines: Sequence[str]) -> list[str]:
    return [f"::group::{escape(title)}", *lines, GROUP_END]


def variant_groups(steps: Sequence[Vertex], variants: Sequence[str]) -> list[str]:
    """A folded log section per variant: each step with CACHED or its seconds, and the output
    of the steps that ran."""
    return [line for variant in variants for line in _variant_group(steps, variant)]


def _variant_group(steps: Sequence[Vertex], variant: str) -> list[str]:
    own = variant_steps(steps, variant)  # shared steps too, as the report counts them
    if not own:  # published before, or a bake that stopped before its first step: no 0/0
        return [f"{variant}: no step of it ran or came from the cache"]
    cached = sum(1 for s in own if s.reused)
    lines = [line for step in own for line in _step_lines(step)]
    # the build's own output, made unable to end the group or start a command
    body = [line.replace("::", ": :") if line.startswith("::") else line for line in lines]
    return group(f"{variant}: {cached}/{len(own)} steps from the cache", body)


def _step_lines(step: Vertex) -> list[str]:
    """A step with CACHED or its seconds; the output of one that ran."""
    if step.reused:
        return [f"{step.platform or ''} {step.short_name} CACHED".strip()]
    ran = f"{step.platform or ''} {step.short_name} {step.seconds or 0:.1f}s".strip()
    return [ran, *(f"  | {line}" for line in step.logs)]


# Step outputs


def _output_lines(name: str, value: str) -> list[str]:
    if "\n" not in value:
        return [f"{name}={value}"]
    delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
    return [f"{name}<<{delimiter}", value, delimiter]


def outputs(result: BuildResult) -> dict[str, str]:
    """Per variant: <variant>-digest, <variant>-tags (comma-separated), <variant>-cache-hit
    (the share of steps from the cache, 0.00-1.00; empty where nothing was built: a release
    published before), <variant>-state (built, failed, cancelled, published before); the same
    for all variants as JSON objects (digests, variant-tags, cache-hits, states: the Action's
    outputs, whose names cannot depend on the config); tags, every tag one per line (as
    metadata-action's); digest, imageid and metadata, the default variant's, in
    build-push-action's shapes; and result, buildcache's whole result on one line."""
    each = {v.name: _VariantOutputs.of(result, v) for v in result.plan.variants}
    values = {key: value for name, out in each.items() for key, value in out.named(name).items()}
    values["digests"] = _json({name: out.digest for name, out in each.items()})
    values |= _tag_outputs({name: out.tags for name, out in each.items()})
    values["cache-hits"] = _json({name: out.cache_hit for name, out in each.items()})
    values["states"] = _json({name: out.state for name, out in each.items()})
    values |= _build_push_outputs(result)
    values["result"] = _json(result.to_json())
    return values


def _build_push_outputs(result: BuildResult) -> dict[str, str]:
    """build-push-action's digest, imageid and metadata (buildx's metadata of the target), of
    the default variant: what a workflow written for build-push-action reads."""
    default = next((v for v in result.plan.variants if v.default), None)
    target = result.targets.get(default.name) if default else None
    if default is None or target is None:
        return {"digest": "", "imageid": "", "metadata": ""}
    # buildx's metadata with `image.name` as build-push-action's has it, the tags: buildcache's
    # bake pushes by digest (or under its staging tag) and writes the tags after it
    metadata = dict(target.entry)
    if "image.name" in metadata:
        metadata["image.name"] = ",".join(_tags_of(result, default))
    return {
        "digest": target.digest or "",
        "imageid": target.config_digest or "",
        "metadata": _json(metadata) if target.entry else "",
    }


@dataclass(frozen=True)
class _VariantOutputs:
    digest: str | None
    tags: list[str]  # those pushed, else those planned
    cache_hit: float | None  # None where nothing was built (a release published before)
    state: str | None

    def named(self, name: str) -> dict[str, str]:
        """<name>-digest, -tags (comma-separated), -cache-hit (empty for no figure), -state."""
        return {
            f"{name}-digest": self.digest or "",
            f"{name}-tags": ",".join(self.tags),
            f"{name}-cache-hit": "" if self.cache_hit is None else f"{self.cache_hit:.2f}",
            f"{name}-state": self.state or "",
        }

    @classmethod
    def of(cls, result: BuildResult, variant: VariantPlan) -> _VariantOutputs:
        status, report = result.statuses.get(variant.name), result.reports.get(variant.name)
        return cls(
            digest=result.digest(variant.name),
            tags=_tags_of(result, variant),
            # the share of steps from the cache; None where nothing was built
            cache_hit=round(report.cached / report.total, 2) if report and report.total else None,
            state=status.state if status else None,
        )


def _tags_of(result: BuildResult, variant: VariantPlan) -> list[str]:
    """The tags pushed, else those planned."""
    return result.pushed(variant.name) or [str(t) for t in variant.tags]


def _tag_outputs(tags: Mapping[str, list[str]]) -> dict[str, str]:
    """variant-tags, a JSON object by variant; tags, every tag one per line (metadata-action's)."""
    return {
        "variant-tags": _json(dict(tags)),
        "tags": "\n".join(tag for listed in tags.values() for tag in listed),
    }


def _json(value: object) -> str:
    """One line: a step output is one line of the outputs file."""
    return json.dumps(value, separators=(",", ":"))


def write_merge_outputs(
    path: Path, digests: Mapping[str, str | None], tags: Mapping[str, list[str]], default: str
) -> None:
    """`merge`'s step outputs, named as a build's: digests and variant-tags as JSON objects by
    variant, tags one per line, and digest, the default variant's index."""
    values = {
        "digests": _json(dict(digests)),
        **_tag_outputs(tags),
        "digest": digests.get(default) or "",
    }
    _append_outputs(path, values)


def write_outputs(path: Path, result: BuildResult) -> None:
    _append_outputs(path, outputs(result))


def _append_outputs(path: Path, values: Mapping[str, str]) -> None:
    """Step outputs appended to the outputs file (never overwriting the steps' before)."""
    lines = [line for name, value in values.items() for line in _output_lines(name, value)]
    with path.open("a", encoding="utf-8") as stream:
        stream.write("\n".join(lines) + "\n")


# The job summary (GitHub-flavoured Markdown)

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_text(text: str) -> str:
    """User text as Markdown text: every character that Markdown would read, escaped; HTML too."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return escaped.replace("&", "&amp;").replace("<", "&lt;").replace("\n", " ")


def md_code(text: str) -> str:
    """User text as inline code, in a table cell: a fence longer than any run of backticks in
    it, and `|` escaped (GFM splits table cells on it even inside code)."""
    text = text.replace("\n", " ").replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _registry_table(tags: Sequence[str]) -> list[str]:
    by_image: dict[str, list[str]] = {}
    for reference in tags:
        image, tag = _image_and_tag(reference)
        by_image.setdefault(image, []).append(md_code(tag))
    rows = ["| image | tags |", "|---|---|"]
    rows += [f"| {md_code(image)} | {' '.join(names)} |" for image, names in by_image.items()]
    return rows


def _image_and_tag(reference: str) -> tuple[str, str]:
    """A tag's image and tag name; a reference that does not parse is shown whole."""
    try:
        ref = ImageRef.parse(reference)
    except ReferenceError:
        return reference, ""
    return ref.name, ref.tag or ""


def _base_state(base: BaseUse) -> str:
    if base.current.error:
        return f" unresolved ({md_text(base.current.error)})"
    if base.pinned:
        return _pinned_state(base)
    moved = f" (moved from {md_code(base.recorded or '')})" if base.moved else ""
    return f" {md_code(base.use or '-')}{moved}"


def _pinned_state(base: BaseUse) -> str:
    refresh_on = base.refresh_on.isoformat()[:10] if base.refresh_on else ""
    return (
        f" **pinned** to the cache's {md_code(base.use or '')} since "
        f"{base.since.isoformat()[:10]} (the tag is now {md_code(base.current.digest or '')}; "
        f"refreshes on {refresh_on})"
    )


def summary(result: BuildResult) -> str:
    """The job summary: per variant its tags on every registry, digest, platforms, cache report."""
    lines = [f"## buildcache: {md_text(result.plan.version)} {_run_state(result)}", ""]
    if result.error is not None:
        lines += [f"> **error:** {md_text(result.error.message)}", ""]
    for variant in result.plan.variants:
        lines += _variant_summary(result, variant)
    return "\n".join(lines) + "\n"


def _run_state(result: BuildResult) -> str:
    if result.error is not None:
        return "FAILED"
    states = {status.state for status in result.statuses.values()}
    return "already published" if states == {"published before"} else "built"


def _variant_summary(result: BuildResult, variant: VariantPlan) -> list[str]:
    title = md_text(variant.name) + (" (default)" if variant.default else "")
    lines = [f"### {title}", "", *_status_lines(result.statuses.get(variant.name))]
    lines += [
        f"- digest: {md_code(result.digest(variant.name) or '-')}",
        f"- platforms: {md_text(', '.join(variant.platforms))}",
    ]
    pushed = result.pushed(variant.name)
    lines += ["- pushed:" if pushed else "- not pushed; its tags would be:", ""]
    lines += [*_registry_table(_tags_of(result, variant)), ""]
    lines += _not_published([r for r in result.published if r.variant == variant.name])
    # each base image: the digest built on, and whether it moved or was kept (pinned)
    bases = variant.upstream.bases if variant.upstream else ()
    lines += [f"- base: {md_code(base.name)}{_base_state(base)}" for base in bases]
    lines += [""] if bases else []
    report = result.reports.get(variant.name)
    if report is not None:
        lines += _cache_lines(report, result.causes.get(variant.name))
    return lines


def _status_lines(status: VariantStatus | None) -> list[str]:
    if status is not None and status.state == "published before":
        return [
            "**published before**: this release's tags were on every registry already; nothing "
            "was built (`--force` rebuilds and replaces it)",
            "",
        ]
    if status is None or status.state not in ("failed", "cancelled"):
        return []
    return _failure_lines(status)


def _failure_lines(status: VariantStatus) -> list[str]:
    """Where it failed, why, and its last lines of output."""
    where = f" at {md_code(status.step)}" if status.step else ""
    lines = [f"**{status.state}**{where}: {md_text(status.error or '')}", ""]
    if not status.log:
        return lines
    # in an indented block nothing is Markdown, and no line can end it
    return [*lines, "its last lines of output:", "", *(f"    {x}" for x in status.log[-20:]), ""]


def _not_published(results: Sequence[TagResult]) -> list[str]:
    problems = [r for r in results if r.status != "done"]
    if not problems:
        return []
    lines = ["**not published:**", "", "| image | tag | status | reason |", "|---|---|---|---|"]
    lines += [
        f"| {md_code(str(r.image))} | {md_code(r.tag)} | {r.status} | {md_text(r.reason or '')} |"
        for r in problems
    ]
    return [*lines, ""]


def _cache_lines(report: CacheReport, cause: MissCause | None) -> list[str]:
    figure = f"{report.cached}/{report.total} steps from the cache" if report.total else "no steps"
    origins = f" ({report.origin_words})" if report.origin_words else ""
    lines = [f"**cache:** {figure}{origins}", ""]
    if report.registry_hidden:
        label = "note" if report.registry_filled else "warning"
        lines += [f"> **{label}:** {md_text(report.hidden_registry_words)}", ""]
    if cause is not None:
        lines += [f"**why steps ran:** {md_code(cause.step)}: {md_text(cause.detail)}", ""]
    lines += ["| | ref | status |", "|---|---|---|"]
    lines += [_cache_row("read", i.ref, i.status, i.reason) for i in report.imported]
    exported = report.exported
    lines.append(_cache_row("write", exported.ref or "-", exported.status, exported.reason))
    return [*lines, *_ran_details(report), ""]


def _cache_row(way: str, ref: str, status: str, reason: str | None) -> str:
    because = f" ({md_text(reason)})" if reason else ""
    return f"| {way} | {md_code(ref)} | {status}{because} |"


def _ran_details(report: CacheReport) -> list[str]:
    """The steps that ran, with their seconds, folded."""
    ran = [s for s in report.executed_steps if s.seconds is not None]
    if not ran:
        return []
    return [
        "",
        "<details><summary>steps that ran</summary>",
        "",
        *(
            f"- {round(s.seconds or 0, 3):.1f}s {md_code(s.platform or '')} {md_text(s.name)}"
            for s in ran
        ),
        "",
        "</details>",
    ]
