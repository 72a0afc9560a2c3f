"""registry/client.py: registry calls side by side; what a registry's /v2/ says of a push."""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from buildcache.errors import RegistryError
from buildcache.registry.client import (
    COPY_CHUNK,
    REQUESTS_AT_ONCE,
    RegistryClient,
    at_once,
    probe_access,
)


def test_calls_at_once_come_back_in_order_and_overlap() -> None:
    # REQUESTS_AT_ONCE calls must be under way together for any of them to pass the barrier
    together = threading.Barrier(REQUESTS_AT_ONCE, timeout=10)
    in_flight, most = 0, 0
    lock = threading.Lock()

    def call(n: int) -> int:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        together.wait()
        with lock:
            in_flight -= 1
        return n * n

    assert at_once(call, list(range(2 * REQUESTS_AT_ONCE))) == [
        n * n for n in range(2 * REQUESTS_AT_ONCE)
    ]
    assert most == REQUESTS_AT_ONCE  # and never more


def test_the_first_error_comes_out_after_every_call_ended() -> None:
    ended: list[int] = []

    def call(n: int) -> int:
        time.sleep(0.01 * n)
        ended.append(n)
        if n == 1:
            raise RegistryError("503 Service Unavailable")
        return n

    with pytest.raises(RegistryError, match="503"):
        at_once(call, [0, 1, 2, 3])
    assert sorted(ended) == [0, 1, 2, 3]


# A registry that is down is not a missing password: /v2/ asked once, its answer classified


def _docker_config(folder: Path, registry: str | None) -> dict[str, str]:
    """An environment whose docker config has credentials for `registry` (None: for nothing)."""
    auths = {}
    if registry is not None:
        auths[registry] = {"auth": base64.b64encode(b"octocat:s3cr3t").decode()}
    (folder / "config.json").write_text(json.dumps({"auths": auths}))
    return {"DOCKER_CONFIG": str(folder)}


def _answering(status: int, *, basic: bool = True) -> httpx.MockTransport:
    """/v2/ answers `status` once a caller sends credentials (Basic), 401 asking for them before."""

    def handle(request: httpx.Request) -> httpx.Response:
        if basic and "Authorization" not in request.headers:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
        return httpx.Response(status)

    return httpx.MockTransport(handle)


def _failing(error: type[httpx.TransportError], message: str) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        raise error(message, request=request)

    return httpx.MockTransport(handle)


REGISTRY = "registry.example.com"


@pytest.mark.parametrize(
    ("transport", "state", "detail"),
    [
        (
            _failing(httpx.ConnectError, "[Errno 111] Connection refused"),
            "unreachable",
            "connection refused",
        ),
        (
            _failing(httpx.ConnectError, "[Errno -2] Name or service not known"),
            "unreachable",
            "no such host",
        ),
        (
            _failing(httpx.ConnectError, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify"),
            "unreachable",
            "TLS failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify",
        ),
        (_failing(httpx.ConnectTimeout, "timed out"), "unreachable", "timed out"),
        (_failing(httpx.ReadTimeout, "read timed out"), "unreachable", "timed out"),
        (_answering(401), "no credentials", "401 at /v2/"),
        (_answering(200, basic=False), "anonymous", "takes calls without a login"),
        (_answering(503, basic=False), "unexpected", "503 at /v2/"),
    ],
)
def test_a_registry_without_credentials_is_told_apart_from_one_that_is_down(
    tmp_path: Path, transport: httpx.MockTransport, state: str, detail: str
) -> None:
    found = probe_access(REGISTRY, _docker_config(tmp_path, None), transport)
    assert (found.state, found.detail) == (state, detail)


@pytest.mark.parametrize(
    ("transport", "state"),
    [
        (_answering(200), "ok"),
        (_answering(401), "refused"),
        (_answering(403), "refused"),
        (_failing(httpx.ConnectError, "[Errno 111] Connection refused"), "unreachable"),
    ],
)
def test_credentials_a_registry_refuses_are_told_apart_from_none(
    tmp_path: Path, transport: httpx.MockTransport, state: str
) -> None:
    found = probe_access(REGISTRY, _docker_config(tmp_path, REGISTRY), transport)
    assert found.state == state


def test_a_bearer_registry_that_gives_anyone_a_token_takes_anonymous_pushes(
    tmp_path: Path,
) -> None:
    # distribution's token auth as the local test registries answer: an anonymous token
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json={"token": "anonymous"})
        if request.headers.get("Authorization") != "Bearer anonymous":
            challenge = 'Bearer realm="https://auth.example.com/token",service="r"'
            return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        return httpx.Response(200)

    found = probe_access(REGISTRY, _docker_config(tmp_path, None), httpx.MockTransport(handle))
    assert found.state == "anonymous"


def test_docker_hub_without_credentials_is_no_credentials_without_asking(tmp_path: Path) -> None:
    # it gives anyone a token that opens /v2/, and refuses every anonymous push
    found = probe_access(
        "docker.io", _docker_config(tmp_path, None), _failing(httpx.ConnectError, "x")
    )
    assert (found.state, found.detail) == ("no credentials", "anonymous pushes are refused there")


# Bounded memory: a body is read from the socket only as far as it is needed


class _Counted(httpx.SyncByteStream):
    """A body of `size` bytes handed out 64 KiB at a time, counting what was taken from it."""

    def __init__(self, size: int) -> None:
        self.size, self.taken = size, 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        while self.taken < self.size:
            piece = min(1 << 16, self.size - self.taken)
            self.taken += piece
            yield b"x" * piece


def _bearer_registry(body: _Counted, *, length: bool) -> httpx.MockTransport:
    """A registry that asks for a bearer token first (the flow every real registry takes), then
    serves `body` for any blob."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json={"token": "t"})
        if request.headers.get("Authorization") != "Bearer t":
            challenge = 'Bearer realm="https://registry.example.com/token",service="r"'
            return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        headers = {"Content-Length": str(body.size)} if length else {}
        return httpx.Response(200, stream=body, headers=headers)

    return httpx.MockTransport(handle)


@pytest.mark.parametrize("length", [True, False], ids=["with a length", "chunked"])
def test_a_blob_past_its_limit_is_read_no_further_than_the_limit(
    tmp_path: Path, length: bool
) -> None:
    body = _Counted(200 << 20)  # 200 MB where a record of at most 1 MiB should be
    transport = _bearer_registry(body, length=length)
    env = _docker_config(tmp_path, None)
    with (
        RegistryClient(REGISTRY, env=env, transport=transport) as c,
        pytest.raises(RegistryError, match="larger than 1048576 bytes: not read"),
    ):
        c.blob("team/app", "sha256:" + "a" * 64, limit=1 << 20)
    assert body.taken <= (1 << 20) + (1 << 16)  # the limit and one piece past it, at most


def test_a_copied_blob_is_streamed_with_its_length_never_held_whole(tmp_path: Path) -> None:
    body = _Counted(50 << 20)
    received: list[int] = []
    taken: list[int] = []
    largest = 0

    def target(request: httpx.Request) -> httpx.Response:
        nonlocal largest
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "/v2/team/app/blobs/uploads/u"})
        assert request.headers["Content-Length"] == str(body.size)
        assert "Transfer-Encoding" not in request.headers
        for piece in request.stream:  # type: ignore[union-attr]
            # what the source had handed out when this piece arrived: never the whole blob
            taken.append(body.taken)
            received.append(len(piece))
            largest = max(largest, len(piece))
        return httpx.Response(201)

    class Unread(httpx.BaseTransport):  # MockTransport would read the request body whole first
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return target(request)

    env = _docker_config(tmp_path, None)
    source_transport = _bearer_registry(body, length=True)
    with (
        RegistryClient("source.example.com", env=env, transport=source_transport) as source,
        RegistryClient(REGISTRY, env=env, transport=Unread()) as sink,
    ):
        sink.stream_blob_from(source, "team/app", "team/app", "sha256:" + "b" * 64, body.size)
    assert sum(received) == body.size
    assert largest <= COPY_CHUNK
    assert taken[0] < 2 * COPY_CHUNK


def _manifest_puts(
    answers: list[httpx.Response], *, kept: bool = True
) -> tuple[httpx.MockTransport, list[str]]:
    """A registry whose manifest PUTs get `answers` in order (then 201), counting the PUTs; a
    tag read after its write is there (`kept`) or not."""
    puts: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            return httpx.Response(200 if kept else 404, headers={"Docker-Content-Digest": "d"})
        puts.append(request.url.path)
        return answers.pop(0) if answers else httpx.Response(201)

    return httpx.MockTransport(handle), puts


DIGEST_INVALID = {
    "errors": [{"code": "DIGEST_INVALID", "message": "provided digest did not match"}]
}


def test_a_digest_invalid_on_a_tag_write_is_sent_again_once(tmp_path: Path) -> None:
    env = _docker_config(tmp_path, None)
    transport, puts = _manifest_puts([httpx.Response(400, json=DIGEST_INVALID)])
    with RegistryClient(REGISTRY, env=env, transport=transport) as client:
        client.put_raw_manifest("team/app", "1.0.0", b"{}", "application/json")
    assert len(puts) == 2
    # twice in a row is the registry's answer: one sentence, no third PUT
    transport, puts = _manifest_puts([httpx.Response(400, json=DIGEST_INVALID)] * 2)
    with (
        RegistryClient(REGISTRY, env=env, transport=transport) as client,
        pytest.raises(
            RegistryError, match=r"refused to write team/app:1\.0\.0: 400 provided digest"
        ),
    ):
        client.put_raw_manifest("team/app", "1.0.0", b"{}", "application/json")
    assert len(puts) == 2
    # another 400 is not sent again
    invalid = {"errors": [{"code": "MANIFEST_INVALID", "message": "manifest invalid"}]}
    transport, puts = _manifest_puts([httpx.Response(400, json=invalid)])
    with (
        RegistryClient(REGISTRY, env=env, transport=transport) as client,
        pytest.raises(RegistryError, match="400 manifest invalid"),
    ):
        client.put_manifest("team/app", "1.0.0", {"mediaType": "application/json"})
    assert len(puts) == 1


def test_a_tag_write_the_registry_answered_and_did_not_keep_is_an_error(tmp_path: Path) -> None:
    """201, then the tag is not there: caught at the write, not by a pull."""
    transport, puts = _manifest_puts([], kept=False)
    with (
        RegistryClient(REGISTRY, env=_docker_config(tmp_path, None), transport=transport) as c,
        pytest.raises(RegistryError, match=r"took the write of team/app:1\.0\.0 and did not keep"),
    ):
        c.put_raw_manifest("team/app", "1.0.0", b"{}", "application/json")
    assert len(puts) == 1
    # by digest there is no tag to read
    transport, puts = _manifest_puts([], kept=False)
    with RegistryClient(REGISTRY, env=_docker_config(tmp_path, None), transport=transport) as c:
        c.put_raw_manifest("team/app", "sha256:" + "c" * 64, b"{}", "application/json")
