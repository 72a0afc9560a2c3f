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


# The real metadata-action as the oracle: generated cases (scripts/metadata-action-oracle.py ran
# its committed dist/ under node for each), the rules engine against its `version` and
# `tag-names` outputs, or against its refusal.
ORACLE: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "metadata_action_oracle.json").read_text()
)
GENERATED: list[dict[str, Any]] = ORACLE["cases"]
# where the engine differs from the action on purpose: the case, and why (docs/tags.md names
# each)
DELIBERATE: dict[str, str] = {}


def oracle_event(case: dict[str, Any]) -> RuleEvent:
    event, payload = case["event"], case["event"]["payload"]
    ref = event["ref"]
    if "pull_request_target" in event["event_name"]:
        ref = f"refs/pull/{payload['number']}/merge"
    pull = payload.get("pull_request") or {}
    return RuleEvent(
        ref=ref,
        event=event["event_name"],
        sha=event["sha"],
        default_branch=ORACLE["default_branch"],
        base_ref=payload.get("base_ref"),
        pr_base_ref=(pull.get("base") or {}).get("ref"),
        now=datetime.fromisoformat(ORACLE["now"]),
        commit_date=datetime.fromisoformat(ORACLE["commit_date"]),
    )


def engine_outputs(case: dict[str, Any]) -> dict[str, Any]:
    """The engine's `version` and `tag-names`, as the action outputs them (a tag it names twice,
    `latest` from a raw rule and from the flavor, is one tag here); or its refusal."""
    try:
        flavor = parse_flavor([case["flavor"]])
        found = rule_tags([case["tags"]], flavor, oracle_event(case))
    except UsageError as error:
        return {"error": error.message}
    if found.main is None:
        return {"version": "", "tags": []}
    names = [found.main, *(name for name, _ in found.partial)]
    names += [latest_tag(flavor)] if found.latest else []
    return {"version": found.main, "tags": list(dict.fromkeys(names))}


def same(case: dict[str, Any]) -> bool:
    expected, found = case["expected"], engine_outputs(case)
    if "error" in expected or "error" in found:
        return ("error" in expected) == ("error" in found)
    return found == {**expected, "tags": list(dict.fromkeys(expected["tags"]))}


@pytest.mark.parametrize("case", GENERATED, ids=[c["id"] for c in GENERATED])
def test_the_real_metadata_action_gives_the_same_version_and_tags(case: dict[str, Any]) -> None:
    if case["id"] in DELIBERATE:
        pytest.skip(DELIBERATE[case["id"]])
    assert same(case), (engine_outputs(case), case["expected"])


def test_the_differential_table_is_large_and_equal_but_for_named_cases() -> None:
    equal = [c["id"] for c in GENERATED if same(c)]
    assert len(GENERATED) >= 1000
    assert not set(DELIBERATE) & set(equal), "a deliberate difference that is no longer one"
    assert len(equal) + len(DELIBERATE) == len(GENERATED)
    assert len(equal) >= 0.99 * len(GENERATED)
    docs = (Path(__file__).parents[4] / "docs" / "tags.md").read_text()
    assert [case for case in DELIBERATE if f"`{case}`" not in docs] == []
