"""ci/local.py: a laptop, or a CI buildcache does not know: the run is what git says."""

from __future__ import annotations

from datetime import UTC, datetime

from buildcache.ci.providers import registry_variables, run_context, sink
from buildcache.core.plan.ci import GitFacts
from buildcache.ui.ci_sink import NoCI

LOCAL = GitFacts(branch="main", default_branch=None, sha="0123456789abcdef")


def test_local_default_branch_from_git_else_main() -> None:
    assert run_context({}, GitFacts(branch="dev", default_branch="trunk")).default_branch == "trunk"
    local = run_context({}, GitFacts(branch="dev"))
    assert local.default_branch == "main"
    assert run_context({"CI": "true"}, GitFacts()).ci == "ci"


def test_a_laptop_has_no_page_no_credentials_of_its_own_and_a_silent_sink() -> None:
    context = run_context({}, GitFacts(branch="dev", sha="abc", commit_time=0))
    assert (context.ci, context.branch, context.sha, context.event) == (None, "dev", "abc", "local")
    assert context.commit_date == datetime(1970, 1, 1, tzinfo=UTC)
    assert (context.repository, context.run_url) == (None, None)
    assert registry_variables("ghcr.example", {"CI": "true"}) is None
    assert type(sink({"CI": "true"})) is NoCI
