"""GitHub Actions: step outputs, the job summary, folded log groups and error annotations.

Workflow commands (`::group::`, `::error::`) go to stderr, which the runner reads as well as
stdout, so stdout stays the one JSON object of `--json`. Outputs and the summary are appended to
the files the runner names in GITHUB_OUTPUT and GITHUB_STEP_SUMMARY.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from buildcache.progress import Vertex


def active(env: Mapping[str, str]) -> bool:
    return env.get("GITHUB_ACTIONS") == "true"


def escape(text: str) -> str:
    """A workflow command's message: %, CR and LF would end or corrupt it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def error_command(message: str) -> str:
    return f"::error title=buildcache::{escape(message)}"


GROUP_END = "::endgroup::"


def group_start(title: str) -> str:
    return f"::group::{escape(title)}"


def group(title: str, lines: Iterable[str]) -> list[str]:
    return [group_start(title), *lines, GROUP_END]


def _output_lines(name: str, value: str) -> list[str]:
    if "\n" not in value:
        return [f"{name}={value}"]
    delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
    return [f"{name}<<{delimiter}", value, delimiter]


def outputs(result: Mapping[str, Any]) -> dict[str, str]:
    """Per variant: <variant>-digest, <variant>-tags (comma-separated), <variant>-cache-hit
    (the share of steps from the cache, 0.00-1.00); and metadata, the whole result as one line."""
    values: dict[str, str] = {}
    for variant in result["variants"]:
        name = variant["name"]
        values[f"{name}-digest"] = variant.get("digest") or ""
        values[f"{name}-tags"] = ",".join(variant.get("pushed") or variant["tags"])
        steps = (variant.get("cache") or {}).get("steps") or {}
        total = steps.get("total") or 0
        values[f"{name}-cache-hit"] = f"{(steps.get('cached', 0) / total) if total else 0:.2f}"
    values["metadata"] = json.dumps(result, separators=(",", ":"))
    return values


def write_outputs(path: Path, result: Mapping[str, Any]) -> None:
    lines = [line for name, value in outputs(result).items() for line in _output_lines(name, value)]
    with path.open("a", encoding="utf-8") as stream:
        stream.write("\n".join(lines) + "\n")


def _registry_table(tags: Sequence[str]) -> list[str]:
    by_image: dict[str, list[str]] = {}
    for reference in tags:
        image, _, tag = reference.rpartition(":")
        by_image.setdefault(image, []).append(f"`{tag}`")
    rows = ["| image | tags |", "|---|---|"]
    rows += [f"| `{image}` | {' '.join(names)} |" for image, names in by_image.items()]
    return rows


def summary(result: Mapping[str, Any]) -> str:
    """The job summary: per variant its tags on every registry, digest, platforms, cache report."""
    state = "built" if result.get("ok", True) else "FAILED"
    lines = [f"## buildcache: {result['version']} {state}", ""]
    if result.get("error"):
        lines += [f"> **error:** {result['error']}", ""]
    for variant in result["variants"]:
        title = variant["name"] + (" (default)" if variant.get("default") else "")
        lines += [f"### {title}", ""]
        lines += [
            f"- digest: `{variant.get('digest') or '-'}`",
            f"- platforms: {', '.join(variant['platforms'])}",
        ]
        pushed = variant.get("pushed") or []
        lines += ["- pushed:" if pushed else "- not pushed; its tags would be:", ""]
        lines += [*_registry_table(pushed or variant["tags"]), ""]
        problems = [r for r in variant.get("publish") or [] if r["status"] != "done"]
        if problems:
            lines += [
                "**not published:**",
                "",
                "| image | tag | status | reason |",
                "|---|---|---|---|",
            ]
            lines += [
                f"| `{r['image']}` | `{r['tag']}` | {r['status']} | {r.get('reason') or ''} |"
                for r in problems
            ]
            lines.append("")
        cache = variant.get("cache")
        if cache:
            steps = cache["steps"]
            lines += [f"**cache:** {steps['cached']}/{steps['total']} steps from the cache", ""]
            lines += ["| | ref | status |", "|---|---|---|"]
            for imported in cache["imported"]:
                reason = f" ({imported['reason']})" if imported.get("reason") else ""
                lines.append(f"| read | `{imported['ref']}` | {imported['status']}{reason} |")
            exported = cache["exported"]
            reason = f" ({exported['reason']})" if exported.get("reason") else ""
            lines.append(
                f"| write | `{exported.get('ref') or '-'}` | {exported['status']}{reason} |"
            )
            ran = [s for s in cache["executed_steps"] if s.get("seconds") is not None]
            if ran:
                lines += ["", "<details><summary>steps that ran</summary>", ""]
                lines += [f"- {s['seconds']:.1f}s `{s['platform']}` {s['name']}" for s in ran]
                lines += ["", "</details>"]
            lines.append("")
    return "\n".join(lines) + "\n"


def write_summary(path: Path, result: Mapping[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as stream:
        stream.write(summary(result))


def variant_groups(steps: Sequence[Vertex], variants: Sequence[str]) -> list[str]:
    """A folded log section per variant: each step with CACHED or its seconds, and the output
    of the steps that ran."""
    lines: list[str] = []
    for variant in variants:
        own = sorted(
            (s for s in steps if s.variant == variant),
            key=lambda s: (s.platform or "", s.index or 0),
        )
        cached = sum(1 for s in own if s.reused)
        body: list[str] = []
        for step in own:
            outcome = "CACHED" if step.reused else f"{step.seconds or 0:.1f}s"
            body.append(f"{step.platform or ''} {step.step_name} {outcome}".strip())
            if not step.reused:
                body += [f"  | {line}" for line in step.logs]
        lines += group(f"{variant}: {cached}/{len(own)} steps from the cache", body)
    return lines
