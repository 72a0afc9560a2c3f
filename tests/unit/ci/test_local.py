"""ci/local.py: a laptop, or a CI buildcache does not know: the run is what git says."""

from __future__ import annotations

from buildcache.ci.providers import run_context
from buildcache.core.plan.ci import GitFacts

LOCAL = GitFacts(branch="main", default_branch=None, sha="0123456789abcdef")


def test_local_default_branch_from_git_else_main() -> None:
    assert run_context({}, GitFacts(branch="dev", default_branch="trunk")).default_branch == "trunk"
    local = run_context({}, GitFacts(branch="dev"))
    assert local.default_branch == "main"
    assert run_context({"CI": "true"}, GitFacts()).ci == "ci"
