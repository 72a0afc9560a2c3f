"""An image copied by digest through the registry API, from one repository to another, its
digest unchanged: the one place publishing moves bytes between registries.

Only where something must really be copied: a release an earlier run published, resumed on a
registry that does not hold it (one added to `images` since, or a release written by an older
buildcache), `merge` of runner results whose images are not on every registry, and a variant
the docker driver pushed under its staging tag where a registry lacks its digest. A build's
own images reach every registry in the bake itself.
"""

from __future__ import annotations

import json
from typing import Any

from buildcache.errors import RegistryError
from buildcache.registry.client import INDEX_TYPES, RegistryClient


def copy_image(
    origin: RegistryClient, source_repo: str, digest: str, target: RegistryClient, repo: str
) -> None:
    """The manifest `digest` of `source_repo` and everything it lists (platform manifests,
    attestations, their blobs) into `repo` by digest; what `repo` holds already is not sent
    again. Blobs are linked on the same registry, streamed from another. Raises RegistryError."""
    if target.digest(repo, digest) == digest:
        return
    data, media_type = origin.raw_manifest(source_repo, digest)
    body: dict[str, Any] = json.loads(data)
    if media_type in INDEX_TYPES or body.get("mediaType") in INDEX_TYPES:
        for child in body.get("manifests") or []:
            copy_image(origin, source_repo, str(child["digest"]), target, repo)
    else:
        _copy_blobs(origin, source_repo, target, repo, body)
    target.put_raw_manifest(repo, digest, data, media_type)


def _copy_blobs(
    origin: RegistryClient,
    source_repo: str,
    target: RegistryClient,
    repo: str,
    manifest: dict[str, Any],
) -> None:
    config = manifest.get("config")
    layers = manifest.get("layers")
    if not isinstance(config, dict) or not isinstance(layers, list):
        raise RegistryError(f"{source_repo} holds neither an image index nor an image manifest")
    for blob in [config, *layers]:
        digest = str(blob["digest"])
        if target.has_blob(repo, digest):
            continue
        same_registry = target.registry == origin.registry
        if same_registry and target.mount_blob(repo, digest, source_repo):
            continue
        target.stream_blob_from(origin, source_repo, repo, digest, int(blob["size"]))
