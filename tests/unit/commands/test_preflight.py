"""commands/preflight.py: every registry a push writes to asked before the bake."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

import pytest
from rich.console import Console

from buildcache.commands.preflight import check_registries
from buildcache.core.config.load import parse_config
from buildcache.core.publish.preflight import Access
from buildcache.errors import BuildFailed, ExitCode
from tests.unit.plans import make_plan

CONFIG = """\
images = ["127.0.0.1:9/acme/widget", "127.0.0.1:5000/acme/widget", "registry.example.com/w"]
[cache]
image = "cache.example.com/acme/widget-cache"
[variants.slim]
default = true
"""
ANSWERS = {
    "127.0.0.1:9": Access("127.0.0.1:9", "unreachable", "connection refused"),
    "127.0.0.1:5000": Access("127.0.0.1:5000", "anonymous", "takes calls without a login"),
    "registry.example.com": Access("registry.example.com", "no credentials", "401 at /v2/"),
    "cache.example.com": Access("cache.example.com", "unreachable", "no such host"),
}


def _check(answers: dict[str, Access], *, push: bool = True) -> tuple[list[str], str]:
    """check_registries of a plan of CONFIG, each registry answering as `answers` say: the
    registries asked, and what was printed."""
    config = parse_config(tomllib.loads(CONFIG), {}, path=Path("/r/b.toml"), root=Path("/r"))
    asked: list[str] = []

    def probe(registry: str) -> Access:
        asked.append(registry)
        return answers[registry]

    out = io.StringIO()
    plan = make_plan(config, version="1.0", push=push)
    check_registries(plan, Console(file=out, width=200), probe=probe)
    return asked, out.getvalue()


def test_every_registry_that_cannot_take_the_push_is_named_in_one_error_exit_1() -> None:
    with pytest.raises(BuildFailed) as failed:
        _check(ANSWERS)
    assert failed.value.exit_code == ExitCode.BUILD_FAILED
    assert failed.value.message == (
        "127.0.0.1:9 is unreachable (connection refused); registry.example.com needs a login to "
        "push and the docker config has none: docker login registry.example.com (or buildcache "
        "login)"
    )
    assert "nothing was built or pushed" in (failed.value.hint or "")


def test_a_run_that_pushes_nothing_asks_no_registry() -> None:
    assert _check(ANSWERS, push=False) == ([], "")


def test_each_registry_is_asked_once_and_an_unwritable_cache_is_a_warning() -> None:
    fine = {r: Access(r, "anonymous", "") for r in ANSWERS}
    asked, said = _check({**fine, "cache.example.com": ANSWERS["cache.example.com"]})
    assert sorted(asked) == sorted(ANSWERS)
    assert said == (
        "warning: cache.example.com is unreachable (no such host): the cache will not be saved "
        "there\n"
    )
