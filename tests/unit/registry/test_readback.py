"""readback.py against a registry API in memory (httpx's MockTransport): no network."""

from __future__ import annotations

from buildcache.core.publish.writes import ReleaseShape
from buildcache.core.reference import ImageRef
from buildcache.registry.readback import higher_release_holds
from tests.unit.commands.test_cache import Registry

IMAGE = ImageRef("ghcr.io", "acme/widget")


def _holds(registry: Registry, tags: list[str], version: str, suffix: str = "") -> dict[str, str]:
    with registry.connect(IMAGE.registry) as client:
        held = higher_release_holds(
            client, IMAGE.repository, tags, ReleaseShape(version, "", suffix)
        )
    return {tag: hold.why for tag, hold in held.items()}


def test_latest_on_a_higher_release_holds_and_an_older_release_cannot_take_it() -> None:
    registry = Registry(
        {"latest": "sha256:c13", "1.3.0": "sha256:c13", "1.2.3": "sha256:c12", "full": "sha256:f"}
    )
    held = _holds(registry, ["latest"], "1.2.4")
    assert held["latest"] == "it stays on 1.3.0, a higher release than 1.2.4"
    assert _holds(registry, ["latest"], "1.4.0") == {}
    assert _holds(registry, ["latest"], "test") == {}


def test_a_variant_alias_is_compared_with_that_variants_releases() -> None:
    registry = Registry({"full": "sha256:f2", "2.0.0-full": "sha256:f2", "2.0.0": "sha256:s2"})
    holds = _holds(registry, ["full"], "1.9.0", "-full")
    assert holds["full"] == "it stays on 2.0.0-full, a higher release than 1.9.0"
    # a higher release published, its moving tags not yet (two releases at once): stay back
    assert _holds(registry, ["new-alias"], "1.0.0") == {
        "new-alias": "2.0.0, a higher release than 1.0.0, is published: it takes new-alias"
    }


def test_a_series_tag_is_held_only_by_a_higher_release_of_its_series() -> None:
    registry = Registry({"1.3.0": "sha256:c13", "1.2.3": "sha256:c123", "1.2": "sha256:c123"})
    held = _holds(registry, ["latest", "1", "1.2"], "1.2.4")
    assert held == {
        "latest": "1.3.0, a higher release than 1.2.4, is published: it takes latest",
        "1": "1.3.0, a higher release than 1.2.4, is published: it takes 1",
    }  # 1.2 moves to 1.2.4: 1.3.0 is not of its series
    assert _holds(registry, ["latest"], "2.0.0") == {}


def test_releases_are_compared_between_the_variant_s_prefix_and_suffix() -> None:
    """metadata-action's `flavor: suffix=-alpine` (or buildcache's tags.suffix): 1.3.0-alpine
    is a higher release, and 1.2-alpine a series' tag; an unsuffixed 9.0.0 is another image's."""
    registry = Registry(
        {
            "latest": "sha256:a13",
            "1.3.0-alpine": "sha256:a13",
            "1.2.5-alpine": "sha256:a125",
            "1.2-alpine": "sha256:a125",
            "9.0.0": "sha256:other",
        }
    )
    shape = ReleaseShape("1.2.4", "", "-alpine")
    with registry.connect(IMAGE.registry) as client:
        held = higher_release_holds(client, IMAGE.repository, ["latest", "1.2-alpine"], shape)
    assert {tag: h.why for tag, h in held.items()} == {
        "latest": "it stays on 1.3.0-alpine, a higher release than 1.2.4",
        "1.2-alpine": "it stays on 1.2.5-alpine, a higher release than 1.2.4",
    }
    with registry.connect(IMAGE.registry) as client:
        assert (
            higher_release_holds(
                client, IMAGE.repository, ["latest"], ReleaseShape("1.4.0", "", "-alpine")
            )
            == {}
        )


def test_a_tag_read_back_wrong_is_named_as_another_run_s_or_a_lost_write() -> None:
    from buildcache.core.publish.writes import TagResult
    from buildcache.registry.readback import read_back_published
    from tests.unit.registry.memory import MemoryRegistries

    memory = MemoryRegistries()
    image = ImageRef("one.example", "acme/widget")
    ours, theirs = memory.push_index(image), memory.push_index(image, ("arm64",))
    memory.tag_as(image, "1.0", ours)
    memory.tag_as(image, "latest", theirs)  # another run's write, after ours
    done = [TagResult("slim", image, tag, "done", None, 1) for tag in ("1.0", "latest", "edge")]
    failure = read_back_published(done, {"slim": ours}, connect=memory.connect)
    assert failure is not None
    assert f"one.example/acme/widget:latest resolves to {theirs}" in failure.message
    # edge was acknowledged and is not there: the registry lost it
    assert "one.example/acme/widget:edge is not there: the registry took its write and lost it" in (
        failure.message
    )
    assert "another run may have published" in (failure.hint or "")
    lost = read_back_published(done[2:], {"slim": ours}, connect=memory.connect)
    assert lost is not None
    assert lost.hint == "the registry did not keep what it took: run the same command again"


def test_a_tag_that_cannot_be_read_back_is_not_called_lost() -> None:
    from buildcache.core.publish.writes import TagResult
    from buildcache.registry.readback import read_back_published
    from tests.unit.registry.memory import MemoryRegistries

    memory = MemoryRegistries()
    image = ImageRef("one.example", "acme/widget")
    ours = memory.push_index(image)
    memory.tag_as(image, "1.0", ours)
    memory.faults = {"HEAD one.example/acme/widget/manifests/1.0": [500]}
    done = [TagResult("slim", image, "1.0", "done", None, 1)]
    failure = read_back_published(done, {"slim": ours}, connect=memory.connect)
    assert failure is not None
    assert "could not be read back" in failure.message
    assert failure.hint == (
        "the tags could not be read back: run the same command again, which reads them again"
    )


def test_an_image_s_labels_are_read_per_platform_from_its_configs() -> None:
    import pytest

    from buildcache.errors import RegistryError
    from buildcache.registry.readback import image_labels
    from tests.unit.registry.memory import MemoryRegistries

    memory = MemoryRegistries()
    version = {"org.opencontainers.image.version": "1.2.3"}
    index = memory.push_index(IMAGE, ("amd64", "arm64"), version)
    single = memory.push_image(IMAGE, "amd64", version)
    with memory.connect(IMAGE.registry) as client:
        data, _ = client.raw_manifest(IMAGE.repository, index)
        assert image_labels(client, IMAGE.repository, data) == {
            "linux/amd64": version,
            "linux/arm64": version,
        }
        data, _ = client.raw_manifest(IMAGE.repository, single)
        assert image_labels(client, IMAGE.repository, data) == {"": version}
        with pytest.raises(RegistryError, match="not JSON"):
            image_labels(client, IMAGE.repository, b"[")


def test_a_nightly_s_date_tag_holds_no_moving_tag() -> None:
    """A repository of releases and nightly dates (type=schedule,pattern={{date 'YYYYMMDD'}}):
    20261128 is no release higher than 1.2.4."""
    registry = Registry({"20261128": "sha256:n", "latest": "sha256:n", "1.2.3": "sha256:r"})
    assert _holds(registry, ["latest", "1.2", "1"], "1.2.4") == {}
