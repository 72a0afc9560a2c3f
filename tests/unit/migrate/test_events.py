"""migrate/events.py: the events a workflow's triggers start, with the values GitHub gives a run."""

from __future__ import annotations

from buildcache.migrate.events import RELEASE_TAG, dispatch_inputs, workflow_events

TRIGGERS = {
    "release": {"types": ["published"]},
    "push": {"branches": ["main", "release/*"]},
    "pull_request": None,
    "workflow_dispatch": {
        "inputs": {"test_docker": {"type": "boolean", "default": False}, "note": {"default": "x"}}
    },
}


def test_one_event_of_each_kind_the_triggers_start() -> None:
    events = workflow_events(TRIGGERS, "Acme/App")
    assert [e.label for e in events] == [
        f"a release {RELEASE_TAG}",
        "a push to main",  # a branch pattern names no branch a push can be simulated on
        "a pull request",
        "a manual run",
        "a manual run with test_docker",
    ]


def test_each_event_has_the_variables_github_gives_its_run() -> None:
    release, push, pull, manual, switched = workflow_events(TRIGGERS, "Acme/App")
    assert release.env["GITHUB_REF"] == f"refs/tags/{RELEASE_TAG}"
    assert release.context["github.event.release.tag_name"] == RELEASE_TAG
    assert push.env["GITHUB_REF"] == "refs/heads/main"
    # GitHub's ref of a pull request is its merge ref; its ref name is `<number>/merge`
    assert (pull.env["GITHUB_REF"], pull.env["GITHUB_REF_NAME"]) == (
        "refs/pull/12/merge",
        "12/merge",
    )
    assert push.context["github.sha"] == push.env["GITHUB_SHA"]
    assert push.context["github.repository_owner"] == "Acme"
    # inputs are empty outside a manual run; a manual run has their defaults, its switch on
    assert push.context["inputs.test_docker"] == ""
    assert (manual.context["inputs.test_docker"], manual.context["inputs.note"]) == ("false", "x")
    assert switched.context["inputs.test_docker"] == "true"


def test_a_tag_push_is_the_release_where_no_release_triggers_and_no_trigger_is_a_push_to_main() -> (
    None
):
    tags = workflow_events({"push": {"tags": ["v*"]}}, None)
    assert [e.label for e in tags] == [f"a tag push {RELEASE_TAG}"]
    assert [e.label for e in workflow_events({}, None)] == ["a push to main"]
    assert dispatch_inputs({"workflow_dispatch": None}) == {}
