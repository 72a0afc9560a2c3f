from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from buildcache.core.builder import auto_builder, buildkit_image, create_calls
from buildcache.core.config.load import parse_config
from buildcache.errors import ConfigError
from tests.unit.conftest import DockerCalls


def _builder(text: str):
    config = parse_config(
        tomllib.loads('images = ["a/b"]\n' + text), {}, path=Path("/r/b.toml"), root=Path("/r")
    )
    assert config.builder is not None
    return config.builder


def _commands(docker_calls: DockerCalls, builder, *, use: bool = False) -> list[list[str]]:
    """The exact docker command lines python-on-whales runs for the create calls."""
    from python_on_whales import DockerClient

    client = DockerClient()
    for call in create_calls(builder, use=use):
        client.buildx.create(**call.kwargs())  # type: ignore[arg-type]
    return [c["args"] for c in docker_calls.calls if c["args"][:2] == ["buildx", "create"]]


def test_one_node_per_machine_appended_after_the_first(docker_calls: DockerCalls) -> None:
    builder = _builder(
        """
[builder]
name = "widget"
driver = "docker-container"
driver-opts = { network = "host" }
[[builder.nodes]]
endpoint = "unix:///var/run/docker.sock"
platforms = ["linux/amd64"]
[[builder.nodes]]
endpoint = "ssh://ci@arm64-box"
platforms = ["linux/arm64"]
driver-opts = { image = "registry.internal/buildkit:v0.13" }
"""
    )
    assert _commands(docker_calls, builder) == [
        [
            "buildx",
            "create",
            "--platform",
            "linux/amd64",
            "--driver",
            "docker-container",
            "--driver-opt",
            "network=host",
            "--name",
            "widget",
            "unix:///var/run/docker.sock",
        ],
        [
            "buildx",
            "create",
            "--append",
            "--platform",
            "linux/arm64",
            "--driver-opt",
            "network=host,image=registry.internal/buildkit:v0.13",
            "--name",
            "widget",
            "ssh://ci@arm64-box",
        ],
    ]
    assert buildkit_image(builder) == "registry.internal/buildkit:v0.13"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[builder]\nname = "k"\ndriver = "kubernetes"\ndriver-opts = { namespace = "ci", replicas = 2 }',
            [
                [
                    "buildx",
                    "create",
                    "--driver",
                    "kubernetes",
                    "--driver-opt",
                    "namespace=ci,replicas=2",
                    "--name",
                    "k",
                ]
            ],
        ),
        (
            '[builder]\nname = "r"\ndriver = "remote"\n[[builder.nodes]]\nendpoint = "tcp://buildkitd:1234"',
            [["buildx", "create", "--driver", "remote", "--name", "r", "tcp://buildkitd:1234"]],
        ),
        ('[builder]\nname = "d"\ndriver = "docker"', []),
    ],
)
def test_each_driver(docker_calls: DockerCalls, text: str, expected: list[list[str]]) -> None:
    assert _commands(docker_calls, _builder(text)) == expected


def test_the_automatic_builder_is_a_docker_container_one_in_use(docker_calls: DockerCalls) -> None:
    builder = auto_builder()
    assert _commands(docker_calls, builder, use=True) == [
        ["buildx", "create", "--driver", "docker-container", "--name", "buildcache", "--use"]
    ]
    assert buildkit_image(builder) == "moby/buildkit:buildx-stable-1"


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        (
            '[builder]\ndriver = "docker-contianer"',
            "builder.driver",
            "perhaps you meant 'docker-container'",
        ),
        (
            '[builder]\nname = "x"\n[[builder.nodes]]\nplatforms = ["linux/arm64"]',
            "builder.nodes[0].endpoint",
            "is required",
        ),
        ('[builder]\nnodes = "ssh://x"', "builder.nodes", "list of tables"),
        ('[builder]\nname = "bad name"', "builder.name", "not a valid builder name"),
        ("[publish]\nretries = -1", "publish.retries", "from 0 to 20"),
        ('[publish]\nbackoff = "fast"', "publish.backoff", "must be a number"),
    ],
)
def test_builder_and_publish_config_errors(text: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(
            tomllib.loads('images = ["a/b"]\n' + text), {}, path=Path("/r/b.toml"), root=Path("/r")
        )
    assert caught.value.key == key
    assert words in f"{caught.value.message} {caught.value.hint}"
