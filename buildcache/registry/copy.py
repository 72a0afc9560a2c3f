"""Tags copied by digest through the registry API, the manifest as it is (its digest unchanged):
`docker buildx imagetools create` always writes an index, so a single-platform image pushed
without attestations (a plain manifest) would get another digest on every tag it copies to.

A plain manifest is copied anywhere: its blobs are linked (same registry) or streamed (another
registry), then its bytes are put under each tag. An index is put as it is under tags of its own
repository, whose registry already has every manifest it lists (a moving tag: one PUT, no
process); an index for another repository is left to imagetools, which copies what it lists.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from buildcache.core.reference import ImageRef
from buildcache.errors import RegistryError
from buildcache.registry.client import INDEX_TYPES, Connect, RegistryClient


def copy_by_registry(
    source: ImageRef, targets: Sequence[ImageRef], connect: Connect = RegistryClient
) -> list[ImageRef]:
    """Copy `source` (by digest) to what of `targets` the registry API can take as is; the
    targets left for imagetools. Raises RegistryError."""
    assert source.digest is not None
    with connect(source.registry) as origin:
        data, media_type = origin.raw_manifest(source.repository, source.digest)
        manifest = json.loads(data)
        index = media_type in INDEX_TYPES or manifest.get("mediaType") in INDEX_TYPES
        left = []
        for target in targets:
            same_repository = target.name == source.name
            if index and not same_repository:
                left.append(target)
                continue
            with connect(target.registry) as client:
                if not same_repository:
                    _copy_blobs(origin, source, client, target, manifest)
                assert target.tag is not None
                client.put_raw_manifest(target.repository, target.tag, data, media_type)
    return left


def _copy_blobs(
    origin: RegistryClient,
    source: ImageRef,
    client: RegistryClient,
    target: ImageRef,
    manifest: dict[str, object],
) -> None:
    config = manifest.get("config")
    layers = manifest.get("layers")
    if not isinstance(config, dict) or not isinstance(layers, list):
        raise RegistryError(f"{source} is neither an image index nor an image manifest")
    for blob in [config, *layers]:
        digest = str(blob["digest"])
        if client.has_blob(target.repository, digest):
            continue
        if target.registry == source.registry and client.mount_blob(
            target.repository, digest, source.repository
        ):
            continue
        client.stream_blob_from(origin, source.repository, target.repository, digest)
