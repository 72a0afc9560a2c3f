"""migrate/proof.py: each event's planned tags against those the original shell step writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from buildcache.core.config.load import parse_config
from buildcache.migrate.events import workflow_events
from buildcache.migrate.from_workflow import Migration, migrate
from buildcache.migrate.proof import EventCheck, OriginalJob, prove

WORKFLOWS = Path(__file__).parent / "data" / "workflows"


def _proved(name: str, edit: Any = None) -> tuple[Migration, list[EventCheck]]:
    migration = migrate(yaml.safe_load((WORKFLOWS / name).read_text()), repository="Acme/CCC")
    table = migration.config
    if edit is not None:
        edit(table)
    config = parse_config(table, {"GITHUB_SHA": "0"}, path=None, root=Path())
    job = OriginalJob.of(migration)
    return migration, prove(config, job, workflow_events(migration.triggers, "Acme/CCC"))


def test_the_migrated_config_plans_each_event_s_tags_as_the_shell_step_writes_them() -> None:
    _, checks = _proved("release-shell-tags.yml")
    assert {c.event: c.verdict for c in checks} == {
        "a release v1.2.3": "agrees",
        "a push to main": "agrees",
        "a manual run": "agrees",  # push: false for a manual run without test_docker
        "a manual run with test_docker": "agrees",
    }
    assert "pushes nothing" in checks[2].detail


def test_another_rule_is_a_difference_naming_the_event_and_both_sides_tags() -> None:
    def branch_instead_of_edge(table: dict) -> None:
        rules = table["tags"]["rules"]
        rules[rules.index("type=edge,branch=main")] = "type=ref,event=branch"

    _, checks = _proved("release-shell-tags.yml", branch_instead_of_edge)
    (differs,) = [c for c in checks if c.verdict == "differs"]
    assert differs.event == "a push to main"
    assert "the workflow docker.io/acme/ccc:edge, ghcr.io/acme/ccc:edge; " in differs.detail
    assert "buildcache docker.io/acme/ccc:main, ghcr.io/acme/ccc:main" in differs.detail


def test_a_config_that_plans_nothing_for_an_event_differs_naming_the_workflow_s_tags() -> None:
    """A run no rule tags plans nothing (exit 0, as metadata-action gives no tag): where the
    workflow tags that event, the migration differs, and says what the workflow publishes."""

    def drop_edge(table: dict) -> None:
        table["tags"]["rules"].remove("type=edge,branch=main")

    _, checks = _proved("release-shell-tags.yml", drop_edge)
    (differs,) = [c for c in checks if c.verdict == "differs"]
    assert differs.event == "a push to main"
    assert (
        "slim: the workflow docker.io/acme/ccc:edge, ghcr.io/acme/ccc:edge; buildcache nothing"
        in (differs.detail)
    )


def test_a_job_gated_off_for_an_event_agrees_by_its_kept_if() -> None:
    _, checks = _proved("release-five-jobs.yml")
    verdicts = {c.event: (c.verdict, c.detail) for c in checks}
    assert verdicts["a manual run"] == ("agrees", "the job does not run on it (its if:, kept)")
    assert verdicts["a manual run with test_docker"][0] == "agrees"
    assert verdicts["a release v1.2.3"][0] == "agrees"


def test_metadata_action_s_own_lines_per_variant_give_the_planned_tags() -> None:
    """The original step's images, tags and flavor (its per-variant suffix filled in for each
    matrix entry) by metadata-action's rules: the same tags as the config's variants plan."""
    _, checks = _proved("variant-matrix.yml")
    assert {c.event: c.verdict for c in checks} == {
        "a tag push v1.2.3": "agrees",
        "a push to main": "agrees",
        "a pull request": "agrees",  # push: false on a pull request
        "a manual run": "agrees",
    }


def test_a_variant_suffix_the_config_lost_differs_for_every_event_that_pushes() -> None:
    def no_latest_full(table: dict) -> None:
        del table["variants"]["full"]["latest-tag"]

    _, checks = _proved("variant-matrix.yml", no_latest_full)
    (differs,) = [c for c in checks if c.verdict == "differs"]
    assert differs.event == "a tag push v1.2.3"
    assert "ghcr.io/acme/ccc:latest-full" in differs.detail
