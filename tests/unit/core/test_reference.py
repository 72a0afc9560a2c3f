from __future__ import annotations

import pytest

from buildcache.core.reference import (
    CacheSpec,
    ImageRef,
    ReferenceError,
    cache_source,
    parse_image_name,
)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("acme/widget", "docker.io/acme/widget"),
        ("widget", "docker.io/library/widget"),
        ("GHCR.io/Acme/Widget", "ghcr.io/acme/widget"),
        ("localhost/app", "localhost/app"),
        # Docker Hub under its other names is one image (docker's own normalisation)
        ("index.docker.io/library/x", "docker.io/library/x"),
        ("registry-1.docker.io/acme/widget", "docker.io/acme/widget"),
        ("docker.io/x", "docker.io/library/x"),
        ("docker.io/library/x", "docker.io/library/x"),
        ("127.0.0.1:5000/acme/app", "127.0.0.1:5000/acme/app"),
    ],
)
def test_image_names_are_lowercased_and_short_hub_names_spelled_out(
    image: str, expected: str
) -> None:
    assert str(parse_image_name(image)) == expected


def test_a_reference_parses_into_its_parts_and_prints_back() -> None:
    ref = ImageRef.parse("127.0.0.1:5000/acme/app:1.2@sha256:" + "a" * 64)
    assert (ref.registry, ref.repository, ref.tag) == ("127.0.0.1:5000", "acme/app", "1.2")
    assert ref.digest == "sha256:" + "a" * 64
    assert str(ref) == "127.0.0.1:5000/acme/app:1.2@sha256:" + "a" * 64
    assert str(ref.bare()) == ref.name == "127.0.0.1:5000/acme/app"
    assert str(ref.with_tag("latest")) == "127.0.0.1:5000/acme/app:latest"
    assert ImageRef.parse("python:3.12-slim") == ImageRef(
        "docker.io", "library/python", "3.12-slim"
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "valid image name"),
        ("acme/app\n", "valid image name"),
        ("acme/app:-x", "not a valid tag"),
        ("acme/app:" + "t" * 129, "not a valid tag"),
        ("acme/app@sha256:12", "not a digest"),
        ("acme//app", "not a valid image name"),
        ("acme/" + "a" * 260, "longer than the 255 characters"),
        ("bad_host.io:x/app", "not a registry host name"),
    ],
)
def test_what_is_not_a_reference_is_refused_with_the_reason(text: str, words: str) -> None:
    with pytest.raises(ReferenceError, match=words):
        ImageRef.parse(text)


def test_an_image_name_carries_no_tag_or_digest() -> None:
    with pytest.raises(ReferenceError, match="without a tag or digest"):
        parse_image_name("ghcr.io/acme/app:1")


def test_cache_options_are_written_once_here() -> None:
    ref = ImageRef("ghcr.io", "acme/app", "buildcache-slim")
    assert cache_source(ref) == "type=registry,ref=ghcr.io/acme/app:buildcache-slim"
    spec = CacheSpec(ref, "max", {"image-manifest": "true"})
    assert spec.to_option() == (
        "type=registry,ref=ghcr.io/acme/app:buildcache-slim,mode=max,image-manifest=true,ignore-error=true"
    )


def test_an_index_s_platform_images_leave_out_buildkit_s_attestations() -> None:
    from buildcache.core.reference import platform_images

    index = {
        "manifests": [
            {"digest": "sha256:a", "platform": {"os": "linux", "architecture": "amd64"}},
            {
                "digest": "sha256:b",
                "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
            },
            {"digest": "sha256:c", "platform": {"os": "unknown", "architecture": "unknown"}},
        ]
    }
    assert platform_images(index) == {"linux/amd64": "sha256:a", "linux/arm64/v8": "sha256:b"}
    assert platform_images({"layers": []}) == {}  # one image, no index
