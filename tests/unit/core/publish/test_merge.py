from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from buildcache.core.publish.merge import RunnerImage, check_platforms, merged_index, read_results
from buildcache.core.reference import ImageRef
from buildcache.errors import UsageError

A, B, C = "sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "c" * 64


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
                        "floating": ["latest"],
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
            _result(tmp_path / "a.json", "linux/amd64", A),
            _result(tmp_path / "b.json", "linux/arm64", B),
        ]
    )
    assert {k: [str(r) for r in v] for k, v in merged.sources.items()} == {
        "slim": [f"docker.io/r1/a@{A}", f"docker.io/r1/a@{B}"]
    }
    assert merged.platforms == {"slim": ["linux/amd64", "linux/arm64"]}
    assert merged.runner_platforms == {"slim": [("linux/amd64",), ("linux/arm64",)]}


MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"


def test_the_index_lists_every_runner_s_manifests_and_attestations_as_they_are() -> None:
    amd64 = {
        "mediaType": MANIFEST,
        "digest": A,
        "size": 10,
        "platform": {"os": "linux", "architecture": "amd64"},
    }
    attestation = {
        "mediaType": MANIFEST,
        "digest": C,
        "size": 12,
        "platform": {"os": "unknown", "architecture": "unknown"},
        "annotations": {
            "vnd.docker.reference.type": "attestation-manifest",
            "vnd.docker.reference.digest": A,
        },
    }
    indexed = json.dumps(
        {"schemaVersion": 2, "mediaType": INDEX, "manifests": [amd64, attestation]}
    ).encode()
    plain = json.dumps(
        {"schemaVersion": 2, "mediaType": MANIFEST, "config": {}, "layers": []}
    ).encode()
    data, media_type = merged_index(
        [
            RunnerImage(indexed, INDEX, ("linux/amd64",)),
            RunnerImage(plain, MANIFEST, ("linux/arm64/v8",)),
        ]
    )
    index = json.loads(data)
    assert media_type == INDEX == index["mediaType"]
    assert index["manifests"][:2] == [amd64, attestation]
    assert index["manifests"][2] == {
        "mediaType": MANIFEST,
        "digest": "sha256:" + hashlib.sha256(plain).hexdigest(),
        "size": len(plain),
        "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"},
    }


def test_merge_refuses_mixed_results(tmp_path: Path) -> None:
    a = _result(tmp_path / "a.json", "linux/amd64", A)
    with pytest.raises(UsageError, match=r"built version 2\.0, the others 1\.0"):
        read_results([a, _result(tmp_path / "b.json", "linux/arm64", B, version="2.0")])
    with pytest.raises(UsageError, match="is in two results"):
        read_results([a, _result(tmp_path / "c.json", "linux/amd64", C)])
    (tmp_path / "d.json").write_text("not json")
    with pytest.raises(UsageError, match="is not the JSON"):
        read_results([a, tmp_path / "d.json"])


def test_merge_keeps_the_tags_that_only_move_forward(tmp_path: Path) -> None:
    """A series' tag (1, 1.2, a variant's own latest-full) is written last, and never over a
    higher release, in merge as in build: the runners' results say which tags those are."""
    from buildcache.core.publish.writes import ReleaseShape, release_shape, split_tags

    path = _result(tmp_path / "a.json", "linux/amd64", A)
    data = json.loads(path.read_text())
    data["variants"][0]["tags"] += ["r1/a:1", "r2/a:1"]
    data["variants"][0]["floating"] = ["1", "latest"]
    data["variants"][0]["release_tags"] = {"1.0": "1.0"}
    path.write_text(json.dumps(data))
    merged = read_results([path])
    [variant] = merged.variants
    assert release_shape(variant, merged.version) == ReleaseShape("1.0", "", "")
    version, moving = split_tags(variant)
    assert [(i.repository, t) for i, t in version.items()] == [("r1/a", ["1.0"]), ("r2/a", ["1.0"])]
    assert [(i.repository, t) for i, t in moving.items()] == [
        ("r1/a", ["latest", "1"]),
        ("r2/a", ["latest", "1"]),
    ]


@pytest.mark.parametrize(
    "text",
    ["[]", '{"version": "1.0", "push_by_digest": true, "ok": true, "variants": "slim"}',
     '{"version": 1, "push_by_digest": true, "ok": true, "variants": [{"name": "slim", "digest_ref": "r1/a@sha256:1"}]}'],
)  # fmt: skip
def test_a_result_of_another_shape_is_a_usage_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "r.json").write_text(text)
    with pytest.raises(UsageError, match="is not the JSON of `buildcache build --json`"):
        read_results([tmp_path / "r.json"])


def test_a_result_naming_images_the_config_does_not_have_is_refused(tmp_path: Path) -> None:
    result = _result(tmp_path / "a.json", "linux/amd64", A)
    ours = (ImageRef.parse("r1/a"), ImageRef.parse("r2/a"))
    assert read_results([result], ours).sources["slim"]
    with pytest.raises(UsageError, match=r"names docker\.io/r2/a, not an image of this project"):
        read_results([result], ours[:1])


def _manifest(config: str = A) -> bytes:
    return json.dumps({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"digest": config}}).encode()  # fmt: skip


def test_an_image_must_be_of_the_platforms_its_result_names() -> None:
    source = ImageRef.parse("r1/a@" + A)
    amd64 = json.dumps({"os": "linux", "architecture": "amd64"}).encode()
    manifest = "application/vnd.oci.image.manifest.v1+json"
    check_platforms(source, RunnerImage(_manifest(), manifest, ("linux/amd64",)), amd64)
    with pytest.raises(UsageError, match="names linux/arm64, but the image is linux/amd64"):
        check_platforms(source, RunnerImage(_manifest(), manifest, ("linux/arm64",)), amd64)
    index = json.dumps({"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"digest": B, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"digest": C, "platform": {"os": "unknown", "architecture": "unknown"}},
    ]}).encode()  # fmt: skip
    media = "application/vnd.oci.image.index.v1+json"
    check_platforms(source, RunnerImage(index, media, ("linux/arm64",)), None)
    with pytest.raises(UsageError, match="but the image is linux/arm64/v8"):
        check_platforms(source, RunnerImage(index, media, ("linux/amd64",)), None)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("default", False, "slim is not the default variant, but is in the first result"),
        ("tags", ["r1/a:1.0", "r2/a:1.0", "r1/a:edge"], "slim's tags are not those of the first"),
    ],
)
def test_results_that_disagree_on_a_variant_s_tags_or_the_default_are_refused(
    tmp_path: Path, field: str, value: object, words: str
) -> None:
    """Two runners' results of one version whose variant gets other tags, or is the default in
    one only: one would publish under tags the other never planned. Refused, naming the
    result."""
    first = _result(tmp_path / "amd64.json", "linux/amd64", A)
    other = _result(tmp_path / "arm64.json", "linux/arm64", B)
    data = json.loads(other.read_text())
    data["variants"][0][field] = value
    other.write_text(json.dumps(data))
    with pytest.raises(UsageError) as refused:
        read_results([first, other])
    assert refused.value.message.startswith(f"{other}: ")
    assert words in refused.value.message, refused.value.message
