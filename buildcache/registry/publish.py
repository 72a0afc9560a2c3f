"""Publishing through the registry API, once every registry holds each variant's image by
digest: each tag one PUT of the variant's index (the same bytes everywhere, read once), the
holds of higher releases decided over every registry, and two releases at once settled on the
higher one. The order and the retries are core/publish/writes.py's; this is what talks to registries."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from buildcache.core.plan.model import BuildPlan
from buildcache.core.plan.tags import release_key
from buildcache.core.publish.writes import (
    PublishStep,
    ReleaseShape,
    RetryPolicy,
    TagResult,
    images_of,
    moving_tags,
    published_note,
    release_shape,
    version_refs,
)
from buildcache.core.reference import ImageRef, content_digest
from buildcache.errors import BuildFailed, PublishError, RegistryError
from buildcache.registry.client import Connect, RegistryClient, at_once
from buildcache.registry.copy import copy_image
from buildcache.registry.readback import Held, digests_of, higher_release_holds


class Registries:
    """One client per registry and repository for a whole publish (a registry's token is
    scoped to one repository), made on first use, closed together."""

    def __init__(self, connect: Connect = RegistryClient) -> None:
        self.connect = connect
        self.clients: dict[ImageRef, RegistryClient] = {}
        self.lock = threading.Lock()

    def __enter__(self) -> Registries:
        return self

    def __exit__(self, *_: object) -> None:
        for client in self.clients.values():
            client.http.close()

    def client(self, image: ImageRef) -> RegistryClient:
        with self.lock:
            if image.bare() not in self.clients:
                self.clients[image.bare()] = self.connect(image.registry)
            return self.clients[image.bare()]


@dataclass(frozen=True)
class Manifest:
    """A variant's index (or manifest) as stored: the bytes every tag is written with."""

    data: bytes
    media_type: str
    digest: str


def read_manifest(registries: Registries, image: ImageRef, digest: str) -> Manifest:
    data, media_type = registries.client(image).raw_manifest(image.repository, digest)
    return Manifest(data, media_type, digest)


def copy_where_missing(
    registries: Registries, source: ImageRef, images: Sequence[ImageRef]
) -> ImageRef:
    """The image `source` (by digest) onto every image's repository that does not hold it,
    copied through the API (registry/copy.py) as it is, from the first that does (`source`'s
    own first): that image, by digest. Raises RegistryError when none holds it."""
    digest = str(source.digest)
    candidates = [source.bare(), *images]

    def holds(image: ImageRef) -> bool:
        try:
            return registries.client(image).digest(image.repository, digest) == digest
        except RegistryError:
            return False  # the copy onto it says what is wrong, if it comes to that

    held = at_once(holds, candidates)
    origin = next(
        (image.with_digest(digest) for image, has in zip(candidates, held, strict=True) if has),
        None,
    )
    if origin is None:
        raise RegistryError(f"no registry holds {digest}: {source.bare()} and the others lack it")
    for image in images:
        if image.bare() != origin.bare():
            copy_image(
                registries.client(origin),
                origin.repository,
                digest,
                registries.client(image),
                image.repository,
            )
    return origin


@dataclass
class TagWriter:
    """The registry calls of one publish: a step's tags written, a variant's holds decided."""

    registries: Registries
    manifests: Mapping[str, Manifest]  # variant -> what its tags are written with
    images: Mapping[str, Sequence[ImageRef]]  # variant -> every registry's image
    shapes: Mapping[str, ReleaseShape]  # variant -> where its tags carry the release's version

    def put(self, step: PublishStep) -> None:
        """Each tag of the step, one PUT of the variant's index. Raises PublishError."""
        manifest = self.manifests[step.variant]
        client = self.registries.client(step.image)
        try:
            for tag in step.tags:
                client.put_raw_manifest(
                    step.image.repository, tag, manifest.data, manifest.media_type
                )
        except RegistryError as error:
            raise PublishError.of(error) from None

    def hold(self, variant: str, tags: Sequence[str]) -> dict[str, str]:
        """The moving tags a higher release holds on any registry, with why: one decision,
        applied on every registry. Raises PublishError."""
        try:
            return {tag: held.why for tag, held in self.holders(variant, tags).items()}
        except RegistryError as error:
            raise PublishError.of(error) from None

    def holders(self, variant: str, tags: Sequence[str]) -> dict[str, Held]:
        """The moving tags a higher release holds on any of the variant's registries (asked at
        once); where several do, the first registry's word."""
        return holds_over(self.registries, self.images[variant], tags, self.shapes[variant])

    def settle(
        self, results: Sequence[TagResult], moving: Mapping[str, frozenset[str]]
    ) -> list[TagResult]:
        """Two releases publishing at once: the moving tags this run wrote are decided again
        after it wrote them. One that a higher release now holds is handed to it (the higher
        release's index put back under it; `kept`); one that no longer reads back as this run's
        index, with no higher release published, is written again (a lower release wrote it
        after this one did). What cannot be read here is left to the read-back."""
        settled = list(results)
        written = {
            variant: [
                n
                for n, r in enumerate(settled)
                if r.variant == variant and r.tag in tags and r.status == "done"
            ]
            for variant, tags in moving.items()
        }
        at_once(
            lambda variant: self._settle_variant(variant, settled, written[variant]),
            [variant for variant, places in written.items() if places],
        )
        return settled

    def _settle_variant(self, variant: str, settled: list[TagResult], written: list[int]) -> None:
        """The moving tags of one variant (at `written` in `settled`), settled in place."""
        try:
            held = self.holders(variant, sorted({settled[n].tag for n in written}))
        except RegistryError:
            return  # left to the read-back

        def settle_one(n: int) -> TagResult:
            try:
                return self._settle_one(settled[n], held.get(settled[n].tag))
            except RegistryError:
                return settled[n]  # left to the read-back

        for n, one in zip(written, at_once(settle_one, written), strict=True):
            settled[n] = one

    def _settle_one(self, result: TagResult, held: Held | None) -> TagResult:
        client = self.registries.client(result.image)
        repository = result.image.repository
        if held is not None:
            data, media_type = client.raw_manifest(repository, held.by)
            client.put_raw_manifest(repository, result.tag, data, media_type)
            why = f"{held.by}, a higher release published at the same moment, took it"
            return TagResult(result.variant, result.image, result.tag, "kept", why, result.attempts)
        manifest = self.manifests[result.variant]
        for _ in range(3):
            if client.digest(repository, result.tag) == manifest.digest:
                break
            client.put_raw_manifest(repository, result.tag, manifest.data, manifest.media_type)
        return result


def holds_over(
    registries: Registries, images: Sequence[ImageRef], tags: Sequence[str], shape: ReleaseShape
) -> dict[str, Held]:
    """The moving tags a higher release holds on any of `images` (asked at once); where several
    do, the first registry's word. Raises RegistryError."""

    def held_on(image: ImageRef) -> dict[str, Held]:
        return higher_release_holds(registries.client(image), image.repository, tags, shape)

    found: dict[str, Held] = {}
    for held in at_once(held_on, images):
        found = {**held, **found}
    return found


def planned_holds(
    plan: BuildPlan, connect: Connect = RegistryClient
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """What `build --push` of a release plan would keep where it is, decided as the build
    decides it (`holds_over`, the same words): per variant, its moving tags a higher release
    holds. A registry that cannot be read is a note: the build decides again, and writes no
    moving tag on a guess."""
    holds: dict[str, dict[str, str]] = {}
    notes: list[str] = []
    with Registries(connect) as registries:
        for variant in plan.variants:
            tags, shape = sorted(moving_tags(variant)), release_shape(variant, plan.version)
            if not tags or release_key(shape.version) is None:
                continue  # nothing follows the releases, or no release to compare
            try:
                held = holds_over(registries, images_of(variant), tags, shape)
            except RegistryError as error:
                notes.append(
                    f"{variant.name}: cannot tell yet whether a higher release holds "
                    f"{', '.join(tags)} ({error.message}); the build decides it"
                )
                continue
            holds[variant.name] = {tag: found.why for tag, found in held.items()}
    return holds, notes


def planned_published(plan: BuildPlan, connect: Connect = RegistryClient) -> list[str]:
    """What `build --push` of a release plan would say of an earlier run of it: each variant
    whose release tag a registry holds already (not built again; its image completed where it
    is missing), in the build's words. A registry that cannot be read is a note."""

    refs = version_refs(plan)
    keyed = {str(ref): ref for own in refs.values() for ref in own}
    try:
        digests = digests_of(keyed, RetryPolicy(attempts=1), connect)
    except BuildFailed as error:
        return [f"{error.message}; the build asks again"]
    notes = []
    for name, own in refs.items():
        held = [(ref, digests[str(ref)]) for ref in own if str(ref) in digests]
        if held:
            notes.append(published_note(name, plan.version, own, held))
    return notes


def put_by_digest(
    registries: Registries, images: Sequence[ImageRef], data: bytes, media_type: str
) -> str:
    """An index (whose manifests every image's repository holds) put by its digest on every
    image's repository, no tag: its digest."""
    digest = content_digest(data)
    for image in images:
        registries.client(image).put_raw_manifest(image.repository, digest, data, media_type)
    return digest
