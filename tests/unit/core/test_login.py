from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from buildcache.ci.providers import registry_variables
from buildcache.core.config.load import parse_config
from buildcache.core.login import login_target, login_targets, login_variable

SECRET = "s3cr3t-token-value"


def _config(text: str):
    return parse_config(tomllib.loads(text), {}, path=Path("/r/buildcache.toml"), root=Path("/r"))


def test_the_login_variable_names_the_host() -> None:
    assert login_variable("ghcr.io") == "BUILDCACHE_LOGIN_GHCR_IO"
    assert login_variable("127.0.0.1:5002") == "BUILDCACHE_LOGIN_127_0_0_1_5002"
    assert login_variable("my-registry.example.com") == "BUILDCACHE_LOGIN_MY_REGISTRY_EXAMPLE_COM"


def test_every_registry_of_images_and_the_cache_once() -> None:
    config = _config(
        'images = ["ghcr.io/a/b", "a/b", "ghcr.io/a/c"]\n[cache]\nimage = "quay.io/a/cache"'
    )
    assert config.registries == ["ghcr.io", "docker.io", "quay.io"]


@pytest.mark.parametrize(
    ("registry", "env", "user", "source"),
    [
        (
            "ghcr.io",
            {"GITHUB_TOKEN": SECRET, "GITHUB_ACTOR": "octocat"},
            "octocat",
            "GITHUB_ACTOR and GITHUB_TOKEN",
        ),
        (
            "ghcr.io",
            {"GITHUB_TOKEN": "other", "GHCR_TOKEN": SECRET, "GITHUB_ACTOR": "octocat"},
            "octocat",
            "GITHUB_ACTOR and GHCR_TOKEN",
        ),
        (
            "docker.io",
            {"DOCKERHUB_USERNAME": "acme", "DOCKERHUB_TOKEN": SECRET},
            "acme",
            "DOCKERHUB_USERNAME and DOCKERHUB_TOKEN",
        ),
        (
            "quay.io",
            {
                "BUILDCACHE_LOGIN_QUAY_IO_USERNAME": "robot",
                "BUILDCACHE_LOGIN_QUAY_IO_PASSWORD": SECRET,
            },
            "robot",
            "BUILDCACHE_LOGIN_QUAY_IO_USERNAME/_PASSWORD",
        ),
        (
            "ghcr.io",
            {
                "GITHUB_TOKEN": "other",
                "GITHUB_ACTOR": "octocat",
                "BUILDCACHE_LOGIN_GHCR_IO_USERNAME": "bot",
                "BUILDCACHE_LOGIN_GHCR_IO_PASSWORD": SECRET,
            },
            "bot",
            "BUILDCACHE_LOGIN_GHCR_IO_USERNAME/_PASSWORD",
        ),
    ],
)
def test_credentials_come_from_the_environment(
    registry: str, env: dict, user: str, source: str
) -> None:
    target = login_target(registry, env, registry_variables(registry, env))
    assert target.credentials() == (user, SECRET)
    assert target.source == source
    assert SECRET not in repr(target)


@pytest.mark.parametrize(
    ("registry", "words"),
    [
        ("ghcr.io", "GITHUB_TOKEN (or GHCR_TOKEN) and GITHUB_ACTOR"),
        ("docker.io", "DOCKERHUB_USERNAME and DOCKERHUB_TOKEN"),
        (
            "127.0.0.1:5002",
            "BUILDCACHE_LOGIN_127_0_0_1_5002_USERNAME and BUILDCACHE_LOGIN_127_0_0_1_5002_PASSWORD",
        ),
    ],
)
def test_a_registry_without_credentials_says_which_variables_would_give_them(
    registry: str, words: str
) -> None:
    env = {"GITHUB_TOKEN": "only half"}
    target = login_target(registry, env, registry_variables(registry, env))
    assert target.credentials() is None
    assert words in (target.missing or "")


def test_all_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config('images = ["ghcr.io/a/b", "a/b"]')
    env = {"DOCKERHUB_USERNAME": "u", "DOCKERHUB_TOKEN": "t"}
    targets = login_targets(config, env, lambda registry: registry_variables(registry, env))
    assert [(t.registry, t.credentials() is not None) for t in targets] == [
        ("ghcr.io", False),
        ("docker.io", True),
    ]
