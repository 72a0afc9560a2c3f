"""registry/copy.py against registries in memory: an image copied by digest, as it is, its blobs
linked on the same registry and streamed from another; what is there already is not sent."""

from __future__ import annotations

from buildcache.core.reference import ImageRef
from buildcache.registry.copy import copy_image
from tests.unit.registry.memory import MemoryRegistries

ONE = ImageRef("one.example", "acme/widget")


def test_an_index_is_copied_with_its_manifests_and_blobs_its_digest_unchanged() -> None:
    registries = MemoryRegistries()
    digest = registries.push_index(ONE)
    with registries.connect("one.example") as origin, registries.connect("two.example") as two:
        copy_image(origin, ONE.repository, digest, two, "acme/widget")
        assert (
            registries.manifests[("two.example", "acme/widget", digest)]
            == (registries.manifests[("one.example", "acme/widget", digest)])
        )
        assert (
            registries.blobs[("two.example", "acme/widget")]
            == registries.blobs[("one.example", "acme/widget")]
        )
        # no tag is written by a copy
        assert not [k for k in registries.manifests if k[0] == "two.example" and ":" not in k[2]]
        before = len(registries.calls)
        copy_image(origin, ONE.repository, digest, two, "acme/widget")
        assert len(registries.calls) == before + 1  # one HEAD: it is there


def test_the_same_registry_links_blobs_instead_of_uploading_them() -> None:
    registries = MemoryRegistries()
    digest = registries.push_image(ONE)
    with registries.connect("one.example") as origin:
        copy_image(origin, ONE.repository, digest, origin, "acme/widget-copy")
    assert any("mount=" in call for call in registries.calls)
    assert not [c for c in registries.calls if c.startswith("PUT") and "/blobs/" in c]
