"""`buildcache build`, once the plan is made: run it, report, and tell CI."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from rich.console import Console
from rich.text import Text

from buildcache import engine, github
from buildcache.bake import bake_command, bake_file_text, command_text
from buildcache.build import print_report, run_build, steps_after_push
from buildcache.config import Config
from buildcache.errors import BuildFailed
from buildcache.output import ProgressMode, make_console, print_json, workflow
from buildcache.plan import BuildPlan
from buildcache.publish import RetryPolicy


def build(
    config: Config,
    plan: BuildPlan,
    *,
    progress: ProgressMode,
    raw_log: Path | None,
    min_cache_hit: float | None,
    as_json: bool,
    env: Mapping[str, str] = os.environ,
) -> None:
    console = make_console(
        plain=progress == "plain" or (progress == "auto" and not Console(stderr=True).is_terminal)
    )
    for note in plan.notes:
        console.print(Text(f"note: {note}", style="yellow"))
    in_actions = github.active(env)
    if in_actions:
        workflow(
            [github.group_start(f"docker buildx bake: {', '.join(v.name for v in plan.variants)}")]
        )
    try:
        result = run_build(
            plan,
            console=console,
            progress=progress,
            raw_log=raw_log,
            policy=retry_policy(config),
            builder=config.builder_name,
        )
    finally:
        if in_actions:
            workflow([github.GROUP_END])
    if in_actions:
        workflow(github.variant_groups(result.steps, [v.name for v in plan.variants]))
    print_report(console, result)
    data = result.to_json()
    if as_json:
        print_json(data)
    if in_actions:
        if env.get("GITHUB_OUTPUT"):
            github.write_outputs(Path(env["GITHUB_OUTPUT"]), data)
        if env.get("GITHUB_STEP_SUMMARY"):
            github.write_summary(Path(env["GITHUB_STEP_SUMMARY"]), data)
    if result.error is not None:
        raise result.error
    if min_cache_hit is not None:
        low = [r for r in result.reports.values() if r.hit_ratio < min_cache_hit]
        if low:
            raise BuildFailed(
                "too few steps came from the cache: "
                + "; ".join(f"{r.variant} {r.cached}/{r.total} ({r.hit_ratio:.0%})" for r in low)
                + f", below --min-cache-hit {min_cache_hit:g}"
            )
    pushed = sum(1 for r in result.published if r.status == "done")
    summary = f"built {len(plan.variants)} variant(s)"
    if pushed:
        summary += f", pushed {pushed} tag(s)"
    elif plan.push_by_digest:
        summary += ", pushed by digest (buildcache merge tags them)"
    console.print(Text(summary, style="bold green"))


def dry_run(plan: BuildPlan) -> None:
    """The bake file and the exact commands, on stdout; nothing runs."""
    path = Path("docker-bake.json")
    sys.stdout.write(f"# {path} (buildcache writes it to a temporary folder)\n")
    sys.stdout.write(bake_file_text(plan))
    sys.stdout.write("# the command\n")
    sys.stdout.write(command_text(bake_command(path, Path("metadata.json"), "rawjson")) + "\n")
    if plan.push and not plan.push_by_digest:
        sources = {
            v.name: [f"{v.push_tags[0].rpartition(':')[0]}@<digest of {v.name}>"]
            for v in plan.variants
        }
        sys.stdout.write("# then, by digest, version tags before moving ones\n")
        for step in steps_after_push(plan, sources):
            targets = [f"{step.image}:{tag}" for tag in step.tags]
            command = ["docker", "buildx", "imagetools", "create"]
            command += [arg for target in targets for arg in ("--tag", target)] + list(step.sources)
            sys.stdout.write(command_text(command) + "\n")


def retry_policy(config: Config) -> RetryPolicy:
    return RetryPolicy(attempts=config.publish.retries + 1, backoff=config.publish.backoff)


def cannot_push_untagged(config: Config) -> bool:
    """buildx's docker driver refuses push-by-digest ("not implemented for docker driver")."""
    client = engine.make_client()
    engine.require_docker_command(client)
    return engine.inspect_engine(client, config.builder_name).driver == "docker"
