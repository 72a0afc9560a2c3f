"""The shape of a CI provider: what every module of buildcache/ci/ (github.py, gitlab.py,
local.py) defines, so that adding a CI is one module of these functions, listed in
providers.PROVIDERS, and its tests.

A provider reads the outside (the environment, the CI's event file) and hands the rest of
buildcache typed values: the run's facts as a `RunContext` (core/plan/ci.py), the variables that
hold a registry's credentials (core/login.py), a `CISink` that writes the CI's log groups,
annotations, outputs and summary (ui/ci_sink.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from buildcache.core.login import RegistryVariables
    from buildcache.core.plan.ci import GitFacts, Repository, RunContext
    from buildcache.ui.ci_sink import CISink


class Provider(Protocol):
    """A CI, as a module: its functions, each given the environment as a mapping."""

    def detect(self, env: Mapping[str, str]) -> bool:
        """Whether this run is in this CI."""
        ...

    def run_facts(self, env: Mapping[str, str], git: GitFacts) -> RunContext:
        """What started the run (event, ref, branch, tag, pull request, base ref), the default
        branch, the commit, the repository's visibility and the run's URL; git's facts where
        the CI says nothing. Asked only of the CI `detect` found."""
        ...

    def repository(self, env: Mapping[str, str]) -> Repository | None:
        """The repository's web page where this CI's variables name it (read also outside
        its runs, as they always were)."""
        ...

    def registry_variables(self, registry: str, env: Mapping[str, str]) -> RegistryVariables | None:
        """The variables this CI keeps a registry's credentials in; None for other registries."""
        ...

    def sink(self, env: Mapping[str, str]) -> CISink:
        """Where this CI reads log groups, annotations, step outputs and the job summary."""
        ...
