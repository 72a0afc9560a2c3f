from __future__ import annotations

import os
import random
import signal
import threading
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path

import pytest

from buildcache.core.config.load import parse_config
from buildcache.core.publish import (
    Publisher,
    PublishInterrupted,
    RetryPolicy,
    is_transient,
    publish_steps,
    retry_after,
)
from buildcache.core.reference import ImageRef
from buildcache.errors import CopyError
from tests.unit.plans import make_plan

# Error texts as buildx imagetools and registries word them.
TRANSIENT = [
    "ERROR: unexpected status from HEAD request to http://127.0.0.1:5001/v2/acme/widget/manifests/1: 429 Too Many Requests",
    "ERROR: failed commit on ref: unexpected status: 503 Service Unavailable",
    "ERROR: unexpected status from PUT request to https://registry-1.docker.io/v2/acme/widget/manifests/1: 502 Bad Gateway",
    'ERROR: failed to do request: Head "http://127.0.0.1:5001/v2/": dial tcp 127.0.0.1:5001: connect: connection refused',
    "ERROR: read tcp 10.1.0.4:52000->140.82.112.33:443: read: connection reset by peer",
    "ERROR: net/http: TLS handshake timeout",
    "ERROR: You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    "ERROR: toomanyrequests: You have reached your pull rate limit.",
    "ERROR: context deadline exceeded",
    "ERROR: unexpected EOF",
]
PERMANENT = [
    "ERROR: unexpected status from HEAD request to https://ghcr.io/v2/acme/widget/manifests/1: 401 Unauthorized",
    "ERROR: denied: requested access to the resource is denied",
    "ERROR: unexpected status: 403 Forbidden",
    "ERROR: unauthorized: authentication required",
    "ERROR: denied: installation not allowed to Write organization package",
    "ERROR: failed to push: name unknown: repository name not known to registry",
    "ERROR: insufficient_scope: authorization failed",
]


@pytest.mark.parametrize("text", TRANSIENT)
def test_transient_errors_are_retried(text: str) -> None:
    assert is_transient(text)


@pytest.mark.parametrize("text", PERMANENT)
def test_auth_permission_and_unknown_errors_are_not(text: str) -> None:
    assert not is_transient(text)


def test_retry_after_is_a_floor_and_backoff_doubles_with_jitter() -> None:
    policy = RetryPolicy(attempts=5, backoff=1.0, max_wait=60)
    rng = random.Random(1)
    waits = [policy.wait(n, "503", rng) for n in (1, 2, 3, 4)]
    for n, wait in enumerate(waits):
        assert 0.5 * 2**n <= wait <= 1.5 * 2**n
    assert retry_after("429 Too Many Requests; Retry-After: 30") == 30
    assert policy.wait(1, "429 Too Many Requests; Retry-After: 30", rng) == 30
    assert policy.wait(1, "Retry-After: 3000", rng) == 60


CONFIG = """\
images = ["ghcr.io/acme/widget", "acme/widget", "quay.io/acme/widget"]
[variants.slim]
default = true
[variants.full]
"""


def _plan():
    config = parse_config(tomllib.loads(CONFIG), {}, path=Path("/r/b.toml"), root=Path("/r"))
    return make_plan(config, version="1.2", push=True, extra_tags=["edge"])


SOURCES = {
    "slim": [
        ImageRef.parse(
            "ghcr.io/acme/widget@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        )
    ],
    "full": [
        ImageRef.parse(
            "ghcr.io/acme/widget@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
        )
    ],
}


def test_the_build_pushes_version_tags_to_the_first_image_only() -> None:
    plan = _plan()
    assert tuple(map(str, plan.variants[0].push_tags)) == (
        "ghcr.io/acme/widget:1.2",
        "ghcr.io/acme/widget:edge",
    )
    assert tuple(map(str, plan.variants[1].push_tags)) == (
        "ghcr.io/acme/widget:1.2-full",
        "ghcr.io/acme/widget:edge-full",
    )


def test_version_tags_go_everywhere_by_digest_before_any_moving_tag() -> None:
    steps = publish_steps(_plan().variants, SOURCES, first_done=True)
    described = [(s.variant, str(s.image), s.tags, s.moving) for s in steps]
    assert described == [
        ("slim", "docker.io/acme/widget", ("1.2", "edge"), False),
        ("slim", "quay.io/acme/widget", ("1.2", "edge"), False),
        ("full", "docker.io/acme/widget", ("1.2-full", "edge-full"), False),
        ("full", "quay.io/acme/widget", ("1.2-full", "edge-full"), False),
        ("slim", "ghcr.io/acme/widget", ("latest",), True),
        ("slim", "docker.io/acme/widget", ("latest",), True),
        ("slim", "quay.io/acme/widget", ("latest",), True),
        ("full", "ghcr.io/acme/widget", ("full",), True),
        ("full", "docker.io/acme/widget", ("full",), True),
        ("full", "quay.io/acme/widget", ("full",), True),
    ]
    assert all(s.sources == tuple(SOURCES[s.variant]) for s in steps)


class FakeRegistry:
    """Fails copies to some images a number of times, with a given error text."""

    def __init__(self, failures: dict[str, list[str]]) -> None:
        self.failures = failures  # image -> the errors each copy to it meets before it passes
        self.pending: dict[str, list[str]] = {}
        self.copies: list[tuple[tuple[str, ...], tuple[str, ...]]] = []

    def copy(self, sources: Sequence[ImageRef], targets: Sequence[ImageRef]) -> None:
        image = targets[0].name
        # each copy meets the errors on its own: copies run in parallel
        pending = self.pending.setdefault(str(targets[0]), list(self.failures.get(image, [])))
        if pending:
            raise CopyError(pending.pop(0))
        self.copies.append((tuple(map(str, sources)), tuple(map(str, targets))))


def test_transient_failures_are_retried_until_they_pass() -> None:
    registry = FakeRegistry(
        {"docker.io/acme/widget": ["503 Service Unavailable", "429 Too Many Requests"]}
    )
    slept: list[float] = []
    results = Publisher(
        copy=registry.copy, policy=RetryPolicy(attempts=4, backoff=1), sleep=slept.append
    ).run(publish_steps(_plan().variants, SOURCES, first_done=True))
    assert all(r.status == "done" for r in results)
    assert len(slept) == 8  # four copies to docker.io (version and moving tags), two errors each
    hub = [r for r in results if str(r.image) == "docker.io/acme/widget" and r.tag == "1.2"]
    assert hub[0].attempts == 3


def test_a_registry_that_stays_down_fails_its_tags_and_no_moving_tag_moves() -> None:
    down = ["dial tcp: connection refused"] * 10
    registry = FakeRegistry({"docker.io/acme/widget": list(down)})
    results = Publisher(copy=registry.copy, policy=RetryPolicy(attempts=3, backoff=0)).run(
        publish_steps(_plan().variants, SOURCES, first_done=True)
    )
    by_key = {(str(r.image), r.tag): r for r in results}
    assert by_key[("quay.io/acme/widget", "1.2")].status == "done"
    failed = by_key[("docker.io/acme/widget", "1.2")]
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert "connection refused (after 3 tries)" in (failed.reason or "")
    for image in ("ghcr.io/acme/widget", "docker.io/acme/widget", "quay.io/acme/widget"):
        assert by_key[(image, "latest")].status == "skipped"
        assert by_key[(image, "full")].status == "skipped"
    assert "docker.io/acme/widget:1.2" in (by_key[("ghcr.io/acme/widget", "latest")].reason or "")
    # nothing moving was written anywhere
    assert not any(
        "latest" in t or t.endswith(":full") for _, targets in registry.copies for t in targets
    )


def test_an_auth_error_is_not_retried() -> None:
    registry = FakeRegistry({"quay.io/acme/widget": ["401 Unauthorized"] * 5})
    slept: list[float] = []
    results = Publisher(copy=registry.copy, policy=RetryPolicy(attempts=4), sleep=slept.append).run(
        publish_steps(_plan().variants, SOURCES, first_done=True)
    )
    quay = [
        r
        for r in results
        if str(r.image) == "quay.io/acme/widget" and not r.tag.endswith(("latest", "full"))
    ]
    assert {(r.status, r.attempts) for r in quay} == {("failed", 1)}
    assert slept == []


def test_a_moving_tag_a_higher_release_holds_is_kept_not_failed() -> None:
    registry = FakeRegistry({})
    steps = publish_steps(_plan().variants, SOURCES, first_done=True)
    results = Publisher(
        copy=registry.copy,
        hold=lambda step: dict.fromkeys(step.tags, "it stays on 1.3, a higher release than 1.2"),
    ).run(steps)
    moving = [r for r in results if r.tag in ("latest", "full")]
    assert {r.status for r in moving} == {"kept"}
    assert all("higher release" in (r.reason or "") for r in moving)
    assert not any(
        t.endswith((":latest", ":full")) for _, targets in registry.copies for t in targets
    )


def test_a_signal_while_copying_waits_for_the_copies_under_way_and_moves_no_tag() -> None:
    copied: list[str] = []
    under_way = threading.Barrier(4)  # the four version-tag copies run at once

    def copy(sources: Sequence[ImageRef], targets: Sequence[ImageRef]) -> None:
        if under_way.wait() == 0:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, delivered to the main thread
        time.sleep(0.2)  # a copy under way is waited for, not abandoned
        copied.extend(map(str, targets))

    steps = publish_steps(_plan().variants, SOURCES, first_done=True)
    with pytest.raises(PublishInterrupted) as stopped:
        Publisher(copy=copy).run(steps)
    results = stopped.value.results
    assert [(str(r.image), r.tag) for r in results] == [
        (str(s.image), tag) for s in steps for tag in s.tags
    ]
    version = [r for r in results if r.tag not in ("latest", "full")]
    assert {r.status for r in version} == {"done"}
    moving = [r for r in results if r.tag in ("latest", "full")]
    assert {(r.status, r.reason) for r in moving} == {
        ("skipped", "interrupted before it was copied")
    }
    assert not any(t.endswith((":latest", ":full")) for t in copied)


def test_a_signal_during_a_lone_copy_lets_it_finish_and_starts_nothing_after_it() -> None:
    plan = make_plan(
        parse_config(
            tomllib.loads('images = ["ghcr.io/acme/w", "quay.io/acme/w"]\n'),
            {},
            path=Path("/r/b.toml"),
            root=Path("/r"),
        ),
        version="2.0",
        push=True,
    )
    sources = {plan.variants[0].name: [SOURCES["slim"][0]]}
    copied: list[str] = []

    def copy(sources: Sequence[ImageRef], targets: Sequence[ImageRef]) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        copied.extend(map(str, targets))

    with pytest.raises(PublishInterrupted) as stopped:
        Publisher(copy=copy).run(publish_steps(plan.variants, sources, first_done=True))
    by_tag = {(str(r.image), r.tag): r.status for r in stopped.value.results}
    assert by_tag == {
        ("quay.io/acme/w", "2.0"): "done",
        ("ghcr.io/acme/w", "latest"): "skipped",
        ("quay.io/acme/w", "latest"): "skipped",
    }
    assert copied == ["quay.io/acme/w:2.0"]
