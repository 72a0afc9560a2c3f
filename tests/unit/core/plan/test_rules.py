"""core/plan/rules.py against docker/metadata-action's own test table (meta.test.ts), ported as
data by scripts/metadata-action-cases.py: the same tag set, in the same order, per case."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from buildcache.core.plan.rules import RuleEvent, latest_tag, parse_flavor, rule_tags
from buildcache.errors import UsageError

TABLE: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "metadata_action.json").read_text()
)
CASES: list[dict[str, Any]] = TABLE["cases"]
# metadata-action's tests fix the clock (and the commit's date) at this moment
NOW = datetime(2020, 1, 10, 0, 30, tzinfo=UTC)
# where buildcache differs on purpose, or metadata-action's result comes from a quirk no user
# relies on: the case, and why (the README lists them too)
DIFFERENT: dict[str, str] = {}


def event_of(case: dict[str, Any]) -> RuleEvent:
    env = {**TABLE["fixtures"][case["fixture"]]["env"], **case["env"]}
    payload = case["payload"]
    name = env.get("GITHUB_EVENT_NAME", "")
    ref = env.get("GITHUB_REF", "")
    if "pull_request_target" in name:
        ref = f"refs/pull/{payload['number']}/merge"
    sha = env.get("GITHUB_SHA", "")
    if env.get("DOCKER_METADATA_PR_HEAD_SHA") == "true" and "pull_request" in name:
        sha = payload["pr_head_sha"] or sha
    return RuleEvent(
        ref=ref,
        event=name,
        sha=sha,
        default_branch=payload["default_branch"] or "master",  # the fixture repository's
        base_ref=payload["base_ref"],
        pr_base_ref=payload["pr_base_ref"],
        now=NOW,
        commit_date=NOW,
    )


def tags_of(case: dict[str, Any]) -> list[str]:
    flavor = parse_flavor(case["flavor"])
    found = rule_tags(case["tags"], flavor, event_of(case))
    if found.main is None:
        return []
    names = [found.main, *(name for name, _ in found.partial)]
    return names + ([latest_tag(flavor)] if found.latest else [])


@pytest.mark.parametrize("case", CASES, ids=[f"{c['section']}-{c['name']}" for c in CASES])
def test_metadata_action_s_own_cases_give_the_same_tags(case: dict[str, Any]) -> None:
    if case["name"] in DIFFERENT:
        pytest.skip(DIFFERENT[case["name"]])
    assert tags_of(case) == case["expected"]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["onlatest=true"], "onlatest= follows a prefix= or suffix="),
        (["latest=maybe"], "latest is auto, true or false"),
        (["color=blue"], "is not latest=, prefix=, suffix=, onlatest="),
    ],
)
def test_a_flavor_line_metadata_action_would_not_read_is_one_sentence(
    lines: list[str], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        parse_flavor(lines)
