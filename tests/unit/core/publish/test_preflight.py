"""core/publish/preflight.py: which registries a push writes to, and what their answers mean for it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from buildcache.core.config.load import parse_config
from buildcache.core.plan.model import BuildPlan
from buildcache.core.publish.preflight import (
    Access,
    AccessState,
    PushTargets,
    push_targets,
    verdict,
)
from tests.unit.plans import make_plan

CONFIG = """\
images = ["ghcr.io/acme/widget", "acme/widget", "ghcr.io/acme/widget-mirror"]
[cache]
image = "cache.example.com/acme/widget-cache"
[variants.slim]
default = true
[variants.full]
"""


def _plan(text: str = CONFIG, **request: object) -> BuildPlan:
    config = parse_config(tomllib.loads(text), {}, path=Path("/r/b.toml"), root=Path("/r"))
    return make_plan(config, version="1.0", **request)


def test_a_push_writes_to_each_image_registry_once_and_to_its_cache_registry() -> None:
    assert push_targets(_plan(push=True)) == PushTargets(
        images=("ghcr.io", "docker.io"), caches=("cache.example.com",)
    )
    assert push_targets(_plan(push_by_digest=True, platforms=("linux/amd64",))).images == (
        "ghcr.io",
        "docker.io",
    )


def test_a_run_that_pushes_nothing_asks_no_registry() -> None:
    assert push_targets(_plan()).every == ()


def test_a_cache_on_an_image_registry_is_asked_once_as_an_image_registry() -> None:
    text = CONFIG.replace("cache.example.com", "ghcr.io")
    assert push_targets(_plan(text, push=True)) == PushTargets(images=("ghcr.io", "docker.io"))


TARGETS = PushTargets(images=("ghcr.io", "127.0.0.1:9"), caches=("cache.example.com",))


def _answers(image: AccessState, cache: AccessState = "ok") -> list[Access]:
    details = {"unreachable": "connection refused", "unexpected": "503 at /v2/"}
    return [
        Access("ghcr.io", "ok", "credentials accepted"),
        Access("127.0.0.1:9", image, details.get(image, "401 at /v2/")),
        Access("cache.example.com", cache, details.get(cache, "401 at /v2/")),
    ]


@pytest.mark.parametrize(
    ("state", "sentence"),
    [
        ("unreachable", "127.0.0.1:9 is unreachable (connection refused)"),
        (
            "no credentials",
            "127.0.0.1:9 needs a login to push and the docker config has none: "
            "docker login 127.0.0.1:9 (or buildcache login)",
        ),
        (
            "refused",
            "127.0.0.1:9 refused the credentials in the docker config (401 at /v2/): "
            "docker login 127.0.0.1:9 with a token that may push",
        ),
    ],
)
def test_an_image_registry_that_cannot_take_the_push_is_an_error_of_one_sentence(
    state: AccessState, sentence: str
) -> None:
    assert verdict(TARGETS, _answers(state)).errors == (sentence,)


@pytest.mark.parametrize("state", ["ok", "anonymous"])
def test_a_registry_that_takes_the_push_is_said_nothing_of(state: AccessState) -> None:
    assert verdict(TARGETS, _answers(state)).errors == ()
    assert verdict(TARGETS, _answers(state)).warnings == ()


def test_an_image_registry_answering_oddly_may_take_the_push_all_the_same_a_warning() -> None:
    said = verdict(TARGETS, _answers("unexpected"))
    assert (said.errors, said.warnings) == ((), ("127.0.0.1:9 answered 503 at /v2/",))


def test_a_cache_registry_that_cannot_be_written_is_a_warning_the_build_goes_on() -> None:
    said = verdict(TARGETS, _answers("ok", cache="unreachable"))
    assert said.errors == ()
    assert said.warnings == (
        "cache.example.com is unreachable (connection refused): the cache will not be saved there",
    )


def test_docker_hub_without_credentials_says_it_refuses_anonymous_pushes() -> None:
    access = Access("docker.io", "no credentials", "anonymous pushes are refused there")
    assert access.problem() == (
        "docker.io needs a login to push and the docker config has none (anonymous pushes are "
        "refused there): docker login docker.io (or buildcache login)"
    )
