"""registry/copy.py against registries in memory (httpx's MockTransport): a plain manifest copied
as it is, its blobs linked or streamed; an index put only under its own repository."""

from __future__ import annotations

import hashlib
import json

import httpx

from buildcache.core.reference import ImageRef
from buildcache.registry.client import RegistryClient
from buildcache.registry.copy import copy_by_registry

MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX = "application/vnd.oci.image.index.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Registries:
    """Several registry hosts: raw manifests and blobs per repository, and what was asked."""

    def __init__(self) -> None:
        self.manifests: dict[tuple[str, str, str], tuple[bytes, str]] = {}
        self.blobs: dict[tuple[str, str], dict[str, bytes]] = {}
        self.calls: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        host, path = request.url.netloc.decode(), request.url.path.removeprefix("/v2/")
        self.calls.append(f"{request.method} {host}/{path}?{request.url.query.decode()}")
        if "/blobs/uploads/" in path:
            repo = path.split("/blobs/uploads/")[0]
            if request.method == "POST" and "mount" in request.url.params:
                source = self.blobs.get((host, request.url.params["from"]), {})
                digest = request.url.params["mount"]
                if digest in source:
                    self.blobs.setdefault((host, repo), {})[digest] = source[digest]
                    return httpx.Response(201)
                return httpx.Response(202, headers={"Location": f"/v2/{repo}/blobs/uploads/u"})
            if request.method == "POST":
                return httpx.Response(202, headers={"Location": f"/v2/{repo}/blobs/uploads/u"})
            data = request.read()
            self.blobs.setdefault((host, repo), {})[request.url.params["digest"]] = data
            return httpx.Response(201)
        repo, kind, reference = path.rsplit("/", 2)
        if kind == "blobs":
            blob = self.blobs.get((host, repo), {}).get(reference)
            if blob is None:
                return httpx.Response(404)
            return httpx.Response(200, content=b"" if request.method == "HEAD" else blob)
        if request.method == "PUT":
            data = request.read()
            entry = (data, request.headers["Content-Type"])
            self.manifests[(host, repo, reference)] = self.manifests[
                (host, repo, _digest(data))
            ] = entry
            return httpx.Response(201, headers={"Docker-Content-Digest": _digest(data)})
        found = self.manifests.get((host, repo, reference))
        if found is None:
            return httpx.Response(404)
        return httpx.Response(200, content=found[0], headers={"Content-Type": found[1]})

    def connect(self, host: str) -> RegistryClient:
        return RegistryClient(host, transport=httpx.MockTransport(self.handle))

    def push_image(self, host: str, repo: str) -> ImageRef:
        config, layer = b'{"architecture":"amd64"}', b"layer bytes"
        self.blobs[(host, repo)] = {_digest(config): config, _digest(layer): layer}
        body = {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {"digest": _digest(config), "size": len(config)},
            "layers": [{"digest": _digest(layer), "size": len(layer)}],
        }
        data = json.dumps(body, indent=3).encode()  # not how json.dumps would write it again
        self.manifests[(host, repo, _digest(data))] = (data, MANIFEST)
        return ImageRef(host, repo, digest=_digest(data))


def test_a_plain_manifest_keeps_its_digest_under_every_tag_on_every_registry() -> None:
    registries = Registries()
    source = registries.push_image("one.example", "acme/widget")
    targets = [
        ImageRef("one.example", "acme/widget", tag="latest"),
        ImageRef("one.example", "acme/widget-copy", tag="1.0"),
        ImageRef("two.example", "acme/widget", tag="1.0"),
    ]
    left = copy_by_registry(source, targets, registries.connect)
    assert left == []
    for target in targets:
        data, media_type = registries.manifests[
            (target.registry, target.repository, str(target.tag))
        ]
        assert (_digest(data), media_type) == (source.digest, MANIFEST)
    # the same registry links the blobs; another registry gets them uploaded
    assert any("mount=" in call for call in registries.calls)
    assert (
        registries.blobs[("two.example", "acme/widget")]
        == registries.blobs[("one.example", "acme/widget")]
    )
    # what a registry has already is not sent again
    before = len(registries.calls)
    copy_by_registry(source, targets[2:], registries.connect)
    assert not [c for c in registries.calls[before:] if "uploads" in c]


def test_an_index_is_put_only_under_its_own_repository() -> None:
    registries = Registries()
    data = json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": []}).encode()
    registries.manifests[("one.example", "acme/widget", _digest(data))] = (data, INDEX)
    source = ImageRef("one.example", "acme/widget", digest=_digest(data))
    moving = ImageRef("one.example", "acme/widget", tag="latest")
    elsewhere = ImageRef("two.example", "acme/widget", tag="latest")
    assert copy_by_registry(source, [moving, elsewhere], registries.connect) == [elsewhere]
    assert registries.manifests[("one.example", "acme/widget", "latest")] == (data, INDEX)
