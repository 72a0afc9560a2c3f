"""Registries in memory behind httpx's MockTransport: manifests (by tag and by digest) and blobs
per repository, tag lists, blob mounts and uploads, and every call made, with faults to inject.
What the registry/ modules are tested against without a network."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import httpx

from buildcache.core.reference import ImageRef
from buildcache.registry.client import RegistryClient

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class MemoryRegistries:
    def __init__(self) -> None:
        self.manifests: dict[tuple[str, str, str], tuple[bytes, str]] = {}
        self.blobs: dict[tuple[str, str], dict[str, bytes]] = {}
        self.calls: list[str] = []
        # "METHOD host/path-fragment" -> statuses to answer, in order, before letting it through
        self.faults: dict[str, list[int]] = {}

    def handle(self, request: httpx.Request) -> httpx.Response:
        host, path = request.url.netloc.decode(), request.url.path.removeprefix("/v2/")
        call = f"{request.method} {host}/{path}"
        self.calls.append(f"{call}?{request.url.query.decode()}")
        for fragment, statuses in self.faults.items():
            if statuses and fragment in call:
                return httpx.Response(statuses.pop(0))
        if "/blobs/uploads/" in path:
            return self._upload(request, host, path)
        if path.endswith("/tags/list"):
            repo = path.removesuffix("/tags/list")
            tags = sorted(
                ref for (h, r, ref) in self.manifests if (h, r) == (host, repo) and ":" not in ref
            )
            return httpx.Response(200, json={"name": repo, "tags": tags})
        repo, kind, reference = path.rsplit("/", 2)
        if kind == "blobs":
            blob = self.blobs.get((host, repo), {}).get(reference)
            if blob is None:
                return httpx.Response(404)
            return httpx.Response(200, content=b"" if request.method == "HEAD" else blob)
        if request.method == "PUT":
            data = request.read()
            entry = (data, request.headers["Content-Type"])
            self.manifests[(host, repo, reference)] = entry
            self.manifests[(host, repo, digest_of(data))] = entry
            return httpx.Response(201, headers={"Docker-Content-Digest": digest_of(data)})
        found = self.manifests.get((host, repo, reference))
        if found is None:
            return httpx.Response(404)
        headers = {"Content-Type": found[1], "Docker-Content-Digest": digest_of(found[0])}
        return httpx.Response(
            200, content=b"" if request.method == "HEAD" else found[0], headers=headers
        )

    def _upload(self, request: httpx.Request, host: str, path: str) -> httpx.Response:
        repo = path.split("/blobs/uploads/")[0]
        if request.method == "POST" and "mount" in request.url.params:
            source = self.blobs.get((host, request.url.params["from"]), {})
            digest = request.url.params["mount"]
            if digest in source:
                self.blobs.setdefault((host, repo), {})[digest] = source[digest]
                return httpx.Response(201)
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": f"/v2/{repo}/blobs/uploads/u"})
        self.blobs.setdefault((host, repo), {})[request.url.params["digest"]] = request.read()
        return httpx.Response(201)

    def connect(self, host: str) -> RegistryClient:
        return RegistryClient(host, transport=httpx.MockTransport(self.handle))

    def put(self, image: ImageRef, reference: str, body: dict[str, Any]) -> str:
        data = json.dumps(body, indent=3).encode()  # not how json.dumps would write it again
        entry = (data, str(body["mediaType"]))
        self.manifests[(image.registry, image.repository, reference)] = entry
        self.manifests[(image.registry, image.repository, digest_of(data))] = entry
        return digest_of(data)

    def push_image(
        self, image: ImageRef, platform: str = "amd64", labels: Mapping[str, str] | None = None
    ) -> str:
        """A one-platform image by digest (config, with `labels`, and a layer), as a bake's push
        leaves it."""
        config, layer = (
            json.dumps({"architecture": platform, "config": {"Labels": labels}}).encode(),
            f"{platform} layer".encode(),
        )
        self.blobs.setdefault((image.registry, image.repository), {}).update(
            {digest_of(config): config, digest_of(layer): layer}
        )
        body = {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {"digest": digest_of(config), "size": len(config)},
            "layers": [{"digest": digest_of(layer), "size": len(layer)}],
        }
        data = json.dumps(body, indent=3).encode()
        self.manifests[(image.registry, image.repository, digest_of(data))] = (data, MANIFEST)
        return digest_of(data)

    def push_index(
        self,
        image: ImageRef,
        platforms: tuple[str, ...] = ("amd64", "arm64"),
        labels: Mapping[str, str] | None = None,
    ) -> str:
        children = [self.push_image(image, p, labels) for p in platforms]
        body = {
            "schemaVersion": 2,
            "mediaType": INDEX,
            "manifests": [
                {
                    "mediaType": MANIFEST,
                    "digest": d,
                    "size": 1,
                    "platform": {"os": "linux", "architecture": p},
                }
                for d, p in zip(children, platforms, strict=True)
            ],
        }
        data = json.dumps(body).encode()
        self.manifests[(image.registry, image.repository, digest_of(data))] = (data, INDEX)
        return digest_of(data)

    def tag(self, image: ImageRef, tag: str) -> str | None:
        """The digest a tag points at, or None."""
        found = self.manifests.get((image.registry, image.repository, tag))
        return digest_of(found[0]) if found else None

    def tag_as(self, image: ImageRef, tag: str, digest: str) -> None:
        self.manifests[(image.registry, image.repository, tag)] = self.manifests[
            (image.registry, image.repository, digest)
        ]
