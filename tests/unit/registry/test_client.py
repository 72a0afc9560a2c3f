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
from buildcache.registry.client import REQUESTS_AT_ONCE, at_once, probe_access


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
