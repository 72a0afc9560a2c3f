"""What a build published, read back from the registries: every tag must resolve to the digest
this run made, a floating tag stays on a higher release, and what a re-run finds published."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

from buildcache.core.plan.tags import release_key
from buildcache.core.publish.writes import ReleaseShape, Retrier, RetryPolicy, TagResult
from buildcache.core.reference import ImageRef, platform_images
from buildcache.errors import BuildFailed, PublishError, RegistryError
from buildcache.registry.client import Connect, RegistryClient, at_once

T = TypeVar("T")


@dataclass(frozen=True)
class Mismatch:
    """A tag read back that is not what this run wrote: `found` is the digest it resolves to
    (None: no such tag, a write the registry acknowledged and lost), or why it cannot be read."""

    ref: ImageRef
    expected: str
    found: str | None
    unread: str | None = None

    def __str__(self) -> str:
        if self.unread is not None:
            return f"{self.ref} could not be read back ({self.unread})"
        if self.found is None:
            return f"{self.ref} is not there: the registry took its write and lost it"
        return f"{self.ref} resolves to {self.found}, not {self.expected}"


def read_back(
    expected: Mapping[ImageRef, str],
    policy: RetryPolicy | None = None,
    connect: Connect = RegistryClient,
) -> list[Mismatch]:
    """Each tag read back on its registry (a HEAD each, tried again after a transient error as
    `policy` says): every one that does not resolve to the digest expected of it. Another run
    publishing at the same moment, or a registry that lost a write, shows here instead of in
    someone's pull. The reads run at once (a round trip each, not their sum)."""

    def check(client: RegistryClient, ref: ImageRef) -> Mismatch | None:
        try:
            found = _digest(client, ref, policy or RetryPolicy(attempts=1))
        except RegistryError as error:
            return Mismatch(ref, expected[ref], None, unread=error.message)
        return None if found == expected[ref] else Mismatch(ref, expected[ref], found)

    return [wrong for wrong in _each_at_once(list(expected), check, connect) if wrong is not None]


def _each_at_once(
    refs: Sequence[ImageRef],
    read: Callable[[RegistryClient, ImageRef], T],
    connect: Connect = RegistryClient,
) -> list[T]:
    """`read` of every reference at once, with one client per registry; the results in the
    order of `refs`."""
    with ExitStack() as stack:
        registries = {ref.registry for ref in refs}
        clients = {r: stack.enter_context(connect(r)) for r in registries}
        return at_once(lambda ref: read(clients[ref.registry], ref), refs)


def _digest(client: RegistryClient, ref: ImageRef, policy: RetryPolicy) -> str | None:
    """The digest a tag points at, read again after a transient error; the registry's last
    error, as it said it, where it could not be read."""
    found: str | None = None
    last: RegistryError | None = None

    def read() -> None:
        nonlocal found, last
        try:
            found = client.digest(ref.repository, ref.tag or "")
        except RegistryError as error:
            last = error
            raise PublishError.of(error) from None

    reason, _ = Retrier(policy, time.sleep).retried(read, str(ref))
    if reason is not None and last is not None:
        raise last
    return found


@dataclass(frozen=True)
class Held:
    """A moving tag a higher release holds: the highest release of its series (the tag it
    belongs on) and why, for the publish table."""

    by: str
    why: str


def higher_release_holds(
    client: RegistryClient, repository: str, tags: Sequence[str], shape: ReleaseShape
) -> dict[str, Held]:
    """The floating `tags` (latest, a variant's alias, 1.2, 1) that must stay where they are: a
    release higher than the shape's version in the tag's series (any, for latest and an alias;
    1.2.x for `1.2`) is published in the repository, among the tags of the variant's shape (its
    prefix and suffix: v1.3.0-alpine-full). Whether the tag points at it yet or not: a release
    published at the same moment writes its version tags before it moves any tag, so the lower
    one sees it and stays back. The repository's tags are listed once, and each digest read
    once; none is held where the version is not comparable."""
    higher = _higher_releases(client.tags(repository), shape)
    if not higher:
        return {}
    digests: dict[str, str | None] = {}

    def digest(name: str) -> str | None:
        if name not in digests:
            digests[name] = client.digest(repository, name)
        return digests[name]

    held: dict[str, Held] = {}
    for tag in tags:
        # the higher releases in the series the tag carries (all of them for latest or an
        # alias, a tag of no series)
        carried = _carried(tag, shape)
        series = _series(carried) if carried is not None else ()
        mates = [name for key, name in higher if key[: len(series)] == series]
        if not mates:
            continue
        top, version, current = mates[0], shape.version, digest(tag)
        holder = next((n for n in mates if current and digest(n) == current), None)
        if holder is not None:
            held[tag] = Held(top, f"it stays on {holder}, a higher release than {version}")
        else:
            held[tag] = Held(
                top, f"{top}, a higher release than {version}, is published: it takes {tag}"
            )
    return held


def _carried(tag: str, shape: ReleaseShape) -> str | None:
    """What a tag of the shape carries between its prefix and suffix (1.2 of v1.2-alpine); None
    for a tag of another shape."""
    if not (tag.startswith(shape.prefix) and tag.endswith(shape.suffix)):
        return None
    return tag[len(shape.prefix) : len(tag) - len(shape.suffix)]


def _higher_releases(
    names: Sequence[str], shape: ReleaseShape
) -> list[tuple[tuple[int, ...], str]]:
    """The repository's releases higher than the shape's version among its tags of the shape,
    the newest 20 first; none where the version is not comparable."""
    mine = release_key(shape.version)
    if mine is None:
        return []
    carried = ((_carried(name, shape), name) for name in names)
    keys = ((release_key(c) if c is not None else None, name) for c, name in carried)
    higher = [(key, name) for key, name in keys if key is not None and key > mine]
    return sorted(higher, reverse=True)[:20]


def _series(tag: str) -> tuple[int, ...]:
    """The releases a floating tag follows: `1.2` -> (1, 2), `1` -> (1,), latest or an alias ->
    () (every release)."""
    match = re.fullmatch(r"v?(\d+)(?:\.(\d+))?", tag)
    if match is None:
        return ()
    return tuple(int(part) for part in match.groups() if part is not None)


def read_back_published(
    published: Sequence[TagResult],
    digests: Mapping[str, str | None],
    policy: RetryPolicy | None = None,
    connect: Connect = RegistryClient,
) -> BuildFailed | None:
    """Every tag a build published, read back: it must resolve to the digest the build made."""
    expected = {r.ref: str(digests.get(r.variant)) for r in published if r.status == "done"}
    wrong = read_back(expected, policy, connect)
    if not wrong:
        return None
    return BuildFailed(
        "a tag does not point at what this run published: " + "; ".join(map(str, wrong[:5])),
        hint=_read_back_hint(wrong),
    )


def _read_back_hint(wrong: Sequence[Mismatch]) -> str:
    """A tag at another image is another run's write; one that is not there, the registry's
    own doing; one that cannot be read says nothing of either."""
    if any(w.found is not None for w in wrong):
        return "another run may have published the same tags at the same moment: run again"
    if any(w.unread is None for w in wrong):
        return "the registry did not keep what it took: run the same command again"
    return "the tags could not be read back: run the same command again, which reads them again"


def digests_of(
    refs: Mapping[str, ImageRef],
    policy: RetryPolicy | None = None,
    connect: Connect = RegistryClient,
) -> dict[str, str]:
    """The digest each reference resolves to, for those that exist (a HEAD each, tried again
    after a transient error, all at once). One that cannot be read stops the run: whether a
    release is published decides whether it is built, and a guess could replace it."""

    def read(client: RegistryClient, ref: ImageRef) -> str | None:
        try:
            return _digest(client, ref, policy or RetryPolicy(attempts=1))
        except RegistryError as error:
            raise BuildFailed(
                f"cannot tell whether {ref} is published already: {error.message}",
                hint=error.hint or "nothing was built or tagged: run the same command again",
            ) from None

    keys = list(refs)
    found = _each_at_once([refs[key] for key in keys], read, connect)
    return {key: digest for key, digest in zip(keys, found, strict=True) if digest}


# an image config is a few KiB; one larger than this is no image config of buildx's
CONFIG_LIMIT = 1 << 20


def image_labels(client: RegistryClient, repository: str, data: bytes) -> dict[str, dict[str, str]]:
    """Each platform's image config labels (platform -> labels) of the index or manifest `data`
    in `repository`: what the image says it was built from, read from the image itself (a plain
    manifest's platform is ""). Raises RegistryError."""
    body = _json(data, repository)
    children = platform_images(body)
    if not children and "config" not in body:
        raise RegistryError(f"{repository} holds neither an image index nor an image manifest")
    manifests = (
        {p: _json(client.raw_manifest(repository, d)[0], repository) for p, d in children.items()}
        if children
        else {"": body}
    )
    found = {}
    for platform, manifest in manifests.items():
        digest = str((manifest.get("config") or {}).get("digest", ""))
        config = _json(client.blob(repository, digest, CONFIG_LIMIT), repository)
        labels = (config.get("config") or {}).get("Labels") or {}
        found[platform] = {str(k): str(v) for k, v in labels.items()}
    return found


def _json(data: bytes, repository: str) -> dict[str, Any]:
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise RegistryError(f"{repository} holds a manifest or config that is not JSON")
    return body


def labels_of(
    refs: Mapping[str, ImageRef], connect: Connect = RegistryClient
) -> dict[str, dict[str, dict[str, str]]]:
    """Each reference's image config labels, per platform (image_labels), all at once. One
    that cannot be read stops the run (BuildFailed): whether a published release is this
    release decides whether it is kept."""

    def read(client: RegistryClient, ref: ImageRef) -> dict[str, dict[str, str]]:
        try:
            data, _ = client.raw_manifest(ref.repository, ref.digest or ref.tag or "")
            return image_labels(client, ref.repository, data)
        except RegistryError as error:
            raise BuildFailed(
                f"cannot read what {ref} was built from: {error.message}",
                hint="nothing was built or tagged: run the same command again",
            ) from None

    keys = list(refs)
    found = _each_at_once([refs[key] for key in keys], read, connect)
    return dict(zip(keys, found, strict=True))
