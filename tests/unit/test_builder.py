from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from buildcache.builder import auto_builder, buildkit_image, create_calls
from buildcache.config import parse_config
from buildcache.errors import ConfigError, UsageError
from buildcache.merge import index_steps, read_results


def _builder(text: str):
    config = parse_config(
        tomllib.loads('images = ["a/b"]\n' + text), {}, path=Path("/r/b.toml"), root=Path("/r")
    )
    assert config.builder is not None
    return config.builder


def _commands(monkeypatch: pytest.MonkeyPatch, builder, *, use: bool = False) -> list[list[str]]:
    """The exact docker command lines python-on-whales runs for the create calls."""
    import python_on_whales.components.buildx.cli_wrapper as wrapper
    from python_on_whales import DockerClient

    seen: list[list[str]] = []

    def fake_run(args: list[Any], **kwargs: Any) -> str:
        seen.append([str(a) for a in args])
        return "bc"

    monkeypatch.setattr(wrapper, "run", fake_run)
    monkeypatch.setattr(wrapper, "Builder", lambda *args, **kwargs: None)  # it would inspect it
    client = DockerClient()
    for call in create_calls(builder, use=use):
        client.buildx.create(**call.kwargs())  # type: ignore[arg-type]
    return [command[command.index("buildx") :] for command in seen]


def test_one_node_per_machine_appended_after_the_first(monkeypatch: pytest.MonkeyPatch) -> None:
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
    assert _commands(monkeypatch, builder) == [
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
def test_each_driver(monkeypatch: pytest.MonkeyPatch, text: str, expected: list[list[str]]) -> None:
    assert _commands(monkeypatch, _builder(text)) == expected


def test_the_automatic_builder_is_a_docker_container_one_in_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    builder = auto_builder()
    assert _commands(monkeypatch, builder, use=True) == [
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


def _result(path: Path, platform: str, digest: str, version: str = "1.0") -> Path:
    path.write_text(
        json.dumps(
            {
                "version": version,
                "push_by_digest": True,
                "ok": True,
                "variants": [
                    {
                        "name": "slim",
                        "default": True,
                        "tags": ["r1/a:1.0", "r2/a:1.0", "r1/a:latest", "r2/a:latest"],
                        "platforms": [platform],
                        "digest_ref": f"r1/a@{digest}",
                    }
                ],
            }
        )
    )
    return path


def test_merge_reads_each_runner_once(tmp_path: Path) -> None:
    merged = read_results(
        [
            _result(tmp_path / "a.json", "linux/amd64", "sha256:a"),
            _result(tmp_path / "b.json", "linux/arm64", "sha256:b"),
        ]
    )
    assert merged.sources == {"slim": ["r1/a@sha256:a", "r1/a@sha256:b"]}
    assert merged.platforms == {"slim": ["linux/amd64", "linux/arm64"]}
    [step] = index_steps(merged)
    assert (step.image, step.tags, step.sources) == (
        "r1/a",
        ("1.0",),
        ("r1/a@sha256:a", "r1/a@sha256:b"),
    )


def test_merge_refuses_mixed_results(tmp_path: Path) -> None:
    a = _result(tmp_path / "a.json", "linux/amd64", "sha256:a")
    with pytest.raises(UsageError, match=r"built version 2\.0, the others 1\.0"):
        read_results([a, _result(tmp_path / "b.json", "linux/arm64", "sha256:b", version="2.0")])
    with pytest.raises(UsageError, match="is in two results"):
        read_results([a, _result(tmp_path / "c.json", "linux/amd64", "sha256:c")])
    (tmp_path / "d.json").write_text("not json")
    with pytest.raises(UsageError, match="is not the JSON"):
        read_results([a, tmp_path / "d.json"])
