from __future__ import annotations

import os
import random
import signal
import threading
import time
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from buildcache.core.config.load import parse_config
from buildcache.core.publish.writes import (
    Publisher,
    PublishInterrupted,
    PublishStep,
    Retrier,
    RetryPolicy,
    is_transient,
    is_unreachable,
    publish_steps,
    retry_after,
)
from buildcache.errors import PublishError, RegistryError
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


# A registry that is not there at all, as BuildKit's push words it (Go's net and crypto/tls)
UNREACHABLE = [
    'failed to do request: Head "http://127.0.0.1:9/v2/acme/widget/blobs/sha256:1e56": dial tcp 127.0.0.1:9: connect: connection refused',
    'failed to do request: Head "https://nowhere.example/v2/": dial tcp: lookup nowhere.example on 127.0.0.53:53: no such host',
    'failed to do request: Head "https://10.0.0.1/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority',
    'failed to do request: Head "https://10.9.9.9/v2/": dial tcp 10.9.9.9:443: connect: network is unreachable',
]


@pytest.mark.parametrize("text", UNREACHABLE)
def test_a_registry_that_is_not_there_is_told_apart(text: str) -> None:
    assert is_unreachable(text)


@pytest.mark.parametrize("text", [t for t in TRANSIENT if "connection refused" not in t])
def test_a_registrys_bad_moment_is_not_unreachable(text: str) -> None:
    assert not is_unreachable(text)


def test_retry_after_is_a_floor_and_backoff_doubles_with_jitter() -> None:
    policy = RetryPolicy(attempts=5, backoff=1.0, max_wait=60)
    rng = random.Random(1)
    waits = [policy.wait(n, None, rng) for n in (1, 2, 3, 4)]
    for n, wait in enumerate(waits):
        assert 0.5 * 2**n <= wait <= 1.5 * 2**n
    # BuildKit's words for a bake's push: the header only as text
    assert retry_after("429 Too Many Requests; Retry-After: 30") == 30
    assert policy.wait(1, 30, rng) == 30
    assert policy.wait(1, 3000, rng) == 60


def test_a_registry_s_retry_after_header_is_the_next_try_s_wait_and_said() -> None:
    """429 with Retry-After: 10 through the registry client: the next try waits 10 s (not the
    policy's 0.05 s backoff), and the retry's line says the registry asked for it."""
    import httpx

    from buildcache.registry.client import RegistryClient

    # the 429, the 201, and the tag read right after its write (registry/client)
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "10"}),
            httpx.Response(201),
            httpx.Response(200, headers={"Docker-Content-Digest": "sha256:1"}),
        ]
    )
    transport = httpx.MockTransport(lambda request: next(answers))
    slept: list[float] = []
    said: list[str] = []
    retrier = Retrier(RetryPolicy(attempts=3, backoff=0.05), slept.append, said.append)
    with RegistryClient("127.0.0.1:5999", transport=transport) as client:

        def put() -> None:
            try:
                client.put_raw_manifest("acme/w", "1.0", b"{}", "application/json")
            except RegistryError as error:
                raise PublishError.of(error) from None

        assert retrier.retried(put, "ghcr 1.0") == (None, 2)
    assert slept == [10.0]
    assert "as the registry asked (Retry-After: 10s)" in said[0]


CONFIG = """\
images = ["ghcr.io/acme/widget", "acme/widget", "quay.io/acme/widget"]
[variants.slim]
default = true
[variants.full]
"""


def _plan():
    config = parse_config(tomllib.loads(CONFIG), {}, path=Path("/r/b.toml"), root=Path("/r"))
    return make_plan(config, version="1.2", push=True, extra_tags=["edge"])


def test_the_bake_pushes_to_every_registry_and_writes_no_tag() -> None:
    plan = _plan()
    assert [str(n) for n in plan.variants[1].push_names] == [
        "ghcr.io/acme/widget",
        "docker.io/acme/widget",
        "quay.io/acme/widget",
    ]
    assert str(plan.variants[1].pushed_image) == "ghcr.io/acme/widget"


def test_version_tags_go_everywhere_before_any_moving_tag() -> None:
    steps = publish_steps(_plan().variants)
    described = [(s.variant, str(s.image), s.tags, s.moving) for s in steps]
    assert described == [
        ("slim", "ghcr.io/acme/widget", ("1.2", "edge"), False),
        ("slim", "docker.io/acme/widget", ("1.2", "edge"), False),
        ("slim", "quay.io/acme/widget", ("1.2", "edge"), False),
        ("full", "ghcr.io/acme/widget", ("1.2-full", "edge-full"), False),
        ("full", "docker.io/acme/widget", ("1.2-full", "edge-full"), False),
        ("full", "quay.io/acme/widget", ("1.2-full", "edge-full"), False),
        ("slim", "ghcr.io/acme/widget", ("latest",), True),
        ("slim", "docker.io/acme/widget", ("latest",), True),
        ("slim", "quay.io/acme/widget", ("latest",), True),
        ("full", "ghcr.io/acme/widget", ("full",), True),
        ("full", "docker.io/acme/widget", ("full",), True),
        ("full", "quay.io/acme/widget", ("full",), True),
    ]


class FakeRegistry:
    """Fails tag writes to some images a number of times, with a given error text."""

    def __init__(self, failures: dict[str, list[str]]) -> None:
        self.failures = failures  # image -> the errors each write to it meets before it passes
        self.pending: dict[str, list[str]] = {}
        self.written: list[str] = []

    def put(self, step: PublishStep) -> None:
        # each step meets the errors on its own: steps run in parallel
        pending = self.pending.setdefault(
            str(step.targets[0]), list(self.failures.get(step.image.name, []))
        )
        if pending:
            raise PublishError(pending.pop(0))
        self.written += map(str, step.targets)


def test_transient_failures_are_retried_until_they_pass() -> None:
    registry = FakeRegistry(
        {"docker.io/acme/widget": ["503 Service Unavailable", "429 Too Many Requests"]}
    )
    slept: list[float] = []
    results = Publisher(
        put=registry.put, retrier=Retrier(RetryPolicy(attempts=4, backoff=1), sleep=slept.append)
    ).run(publish_steps(_plan().variants))
    assert all(r.status == "done" for r in results)
    assert len(slept) == 8  # four writes to docker.io (version and moving tags), two errors each
    hub = [r for r in results if str(r.image) == "docker.io/acme/widget" and r.tag == "1.2"]
    assert hub[0].attempts == 3


def test_a_registry_that_stays_down_fails_its_tags_and_no_moving_tag_moves() -> None:
    down = ["dial tcp: connection refused"] * 10
    registry = FakeRegistry({"docker.io/acme/widget": list(down)})
    results = Publisher(put=registry.put, retrier=Retrier(RetryPolicy(attempts=3, backoff=0))).run(
        publish_steps(_plan().variants)
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
    assert not any(t.endswith((":latest", ":full")) for t in registry.written)


def test_an_auth_error_is_not_retried() -> None:
    registry = FakeRegistry({"quay.io/acme/widget": ["401 Unauthorized"] * 5})
    slept: list[float] = []
    results = Publisher(
        put=registry.put, retrier=Retrier(RetryPolicy(attempts=4), sleep=slept.append)
    ).run(publish_steps(_plan().variants))
    quay = [
        r
        for r in results
        if str(r.image) == "quay.io/acme/widget" and not r.tag.endswith(("latest", "full"))
    ]
    assert {(r.status, r.attempts) for r in quay} == {("failed", 1)}
    assert slept == []


def test_a_moving_tag_a_higher_release_holds_is_kept_not_failed() -> None:
    registry = FakeRegistry({})
    steps = publish_steps(_plan().variants)
    results = Publisher(
        put=registry.put,
        hold=lambda variant, tags: dict.fromkeys(
            tags, "it stays on 1.3, a higher release than 1.2"
        ),
    ).run(steps)
    moving = [r for r in results if r.tag in ("latest", "full")]
    assert {r.status for r in moving} == {"kept"}
    assert all("higher release" in (r.reason or "") for r in moving)
    assert not any(t.endswith((":latest", ":full")) for t in registry.written)


@pytest.fixture
def ctrl_c() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt, also where the shell that started the tests ignores
    SIGINT (a job started with `&` by a script)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.mark.usefixtures("ctrl_c")
def test_a_signal_while_writing_waits_for_the_writes_under_way_and_moves_no_tag() -> None:
    copied: list[str] = []
    under_way = threading.Barrier(6)  # the six version-tag writes run at once

    def put(step: PublishStep) -> None:
        if under_way.wait() == 0:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, delivered to the main thread
        time.sleep(0.2)  # a write under way is waited for, not abandoned
        copied.extend(map(str, step.targets))

    steps = publish_steps(_plan().variants)
    with pytest.raises(PublishInterrupted) as stopped:
        Publisher(put=put).run(steps)
    results = stopped.value.results
    assert [(str(r.image), r.tag) for r in results] == [
        (str(s.image), tag) for s in steps for tag in s.tags
    ]
    version = [r for r in results if r.tag not in ("latest", "full")]
    assert {r.status for r in version} == {"done"}
    moving = [r for r in results if r.tag in ("latest", "full")]
    assert {(r.status, r.reason) for r in moving} == {
        ("skipped", "interrupted before it was written")
    }
    assert not any(t.endswith((":latest", ":full")) for t in copied)


@pytest.mark.usefixtures("ctrl_c")
def test_a_signal_during_a_lone_write_lets_it_finish_and_starts_nothing_after_it() -> None:
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
    copied: list[str] = []

    def put(step: PublishStep) -> None:
        if str(step.image) == "quay.io/acme/w":
            os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        copied.extend(map(str, step.targets))

    with pytest.raises(PublishInterrupted) as stopped:
        Publisher(put=put, workers=1).run(publish_steps(plan.variants))
    by_tag = {(str(r.image), r.tag): r.status for r in stopped.value.results}
    assert by_tag == {
        ("ghcr.io/acme/w", "2.0"): "done",
        ("quay.io/acme/w", "2.0"): "done",
        ("ghcr.io/acme/w", "latest"): "skipped",
        ("quay.io/acme/w", "latest"): "skipped",
    }
    assert copied == ["ghcr.io/acme/w:2.0", "quay.io/acme/w:2.0"]


@pytest.mark.usefixtures("ctrl_c")
def test_a_signal_while_moving_tags_are_written_reports_those_written_as_written() -> None:
    """SIGTERM while `latest` and `full` are written: each moving tag whose write was under
    way (and finished) is `done` in the results, never "skipped: interrupted before it was
    written" while the registry holds it moved; the hold's `kept` tags stay `kept`."""
    copied: list[str] = []
    under_way = threading.Barrier(3)  # latest, on each of the three registries

    def put(step: PublishStep) -> None:
        if step.moving and step.variant == "slim":
            if under_way.wait() == 0:
                os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)
        copied.extend(map(str, step.targets))

    def hold(variant: str, tags: Sequence[str]) -> dict[str, str]:
        return {}

    steps = publish_steps(_plan().variants)
    with pytest.raises(PublishInterrupted) as stopped:
        Publisher(put=put, hold=hold).run(steps)
    results = stopped.value.results
    assert [(str(r.image), r.tag) for r in results] == [
        (str(s.image), tag) for s in steps for tag in s.tags
    ]
    for result in results:
        written = str(result.ref) in copied
        assert (result.status == "done") == written, (str(result.ref), result.status, copied)
        if not written:
            assert result.reason == "interrupted before it was written"
    assert any(r.tag == "latest" and r.status == "done" for r in results)


def test_the_hold_is_decided_once_per_variant_and_applied_on_every_registry() -> None:
    asked: list[tuple[str, tuple[str, ...]]] = []

    def hold(variant: str, tags: Sequence[str]) -> dict[str, str]:
        asked.append((variant, tuple(tags)))
        return {"full": "1.3.0-full, a higher release than 1.2, is published: it takes full"}

    registry = FakeRegistry({})
    results = Publisher(put=registry.put, hold=hold).run(publish_steps(_plan().variants))
    assert sorted(asked) == [("full", ("full",)), ("slim", ("latest",))]
    full = {str(r.image): r.status for r in results if r.tag == "full"}
    assert full == dict.fromkeys(
        ["ghcr.io/acme/widget", "docker.io/acme/widget", "quay.io/acme/widget"], "kept"
    )


def test_a_hold_that_cannot_be_decided_is_retried_then_fails_the_moving_tags_only() -> None:
    def hold(variant: str, tags: Sequence[str]) -> dict[str, str]:
        raise PublishError(
            "ghcr.io refused to list the tags of acme/widget: 503 Service Unavailable"
        )

    registry = FakeRegistry({})
    results = Publisher(put=registry.put, hold=hold, retrier=Retrier(RetryPolicy(attempts=2))).run(
        publish_steps(_plan().variants)
    )
    moving = [r for r in results if r.tag in ("latest", "full")]
    assert {r.status for r in moving} == {"failed"}
    assert all("cannot tell whether a higher release holds it" in (r.reason or "") for r in moving)
    assert {r.status for r in results if r not in moving} == {"done"}
    assert not any(t.endswith((":latest", ":full")) for t in registry.written)


@pytest.mark.parametrize(
    ("rules", "version"),
    [(False, "v1.2.3"), (True, "1.2.3")],  # the shorthand keeps the tag as it is written
    ids=["shorthand", "rules"],
)
def test_an_earlier_run_of_a_release_is_found_by_its_own_version_tag(
    rules: bool, version: str
) -> None:
    """What `build --push` reads before it builds: with the shorthand or with metadata-action's
    rules alike, each variant's exact release tag on its first registry (never a series tag,
    which a higher release may hold)."""
    from buildcache.core.publish.writes import version_refs
    from tests.unit.plans import rules_config, tag_build

    images = ("ghcr.io/acme/widget", "acme/widget")
    shorthand = parse_config(tomllib.loads(CONFIG), {}, path=Path("/r/b.toml"), root=Path("/r"))
    plan = tag_build(rules_config(*images) if rules else shorthand, "v1.2.3")
    refs = {name: [str(ref) for ref in own] for name, own in version_refs(plan).items()}
    # every registry is asked, the first registry's first
    registries = [str(image) for image in plan.variants[0].images]
    assert refs == {
        "slim": [f"{image}:{version}" for image in registries],
        "full": [f"{image}:{version}-full" for image in registries],
    }
    assert registries[0] == "ghcr.io/acme/widget"


def test_an_image_is_this_run_s_only_where_every_platform_carries_its_labels() -> None:
    from buildcache.core.publish.writes import foreign_image, run_labels

    own = run_labels(
        {
            "org.opencontainers.image.version": "1.2.3",
            "org.opencontainers.image.revision": "a" * 40,
            "org.opencontainers.image.created": "2026-12-08T03:00:00Z",
            "org.opencontainers.image.title": "widget",  # the same for every run: no proof
        }
    )
    assert set(own) == {f"org.opencontainers.image.{k}" for k in ("version", "revision", "created")}
    assert foreign_image(own, {"linux/amd64": own, "linux/arm64": own}) is None
    other = {**own, "org.opencontainers.image.created": "2026-12-08T03:00:01Z"}
    assert foreign_image(own, {"linux/amd64": own, "linux/arm64": other}) == (
        "its image (linux/arm64) says created 2026-12-08T03:00:01Z, not 2026-12-08T03:00:00Z"
    )
    assert foreign_image(own, {"": {}}) == "its image says version nothing, not 1.2.3"
    assert foreign_image(own, {}) == "it lists no platform's image"
