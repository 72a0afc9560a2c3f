"""The registry HTTP API, for what `docker buildx imagetools` cannot do: list tags, read a
manifest's annotations, delete a manifest.

Credentials are the ones docker already has: `~/.docker/config.json` (or $DOCKER_CONFIG), its
`auths`, and its credential helpers (`credsStore`, `credHelpers`). They are never asked for, never
printed, and never put on a command line (a helper gets the host on stdin).
"""

from __future__ import annotations

import base64
import email.utils
import json
import os
import re
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from buildcache.core.publish.preflight import Access, AccessState
from buildcache.core.reference import DOCKER_HUB, content_digest
from buildcache.errors import RegistryError

# httpx imports its own command-line client (click, pygments, rich.progress: ~60 ms) whenever
# click is installed, and buildcache never runs it; with this entry that import fails and httpx
# puts its stub in place (the fallback in httpx/__init__.py)
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx  # noqa: E402

T = TypeVar("T")
R = TypeVar("R")
REQUESTS_AT_ONCE = 8  # registry calls in flight at once, over every registry
COPY_CHUNK = 1 << 20  # a copied blob passes through in pieces of this size


def at_once(call: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """`call` of each item, REQUESTS_AT_ONCE at a time: a registry round trip each, not their
    sum. The results in the order of `items`; the first error raised once all have ended."""
    if len(items) < 2:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(REQUESTS_AT_ONCE, len(items))) as pool:
        return list(pool.map(call, items))


DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_AUTH_KEYS = (
    "https://index.docker.io/v1/",
    "index.docker.io",
    "docker.io",
    "registry-1.docker.io",
)
INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MANIFEST_TYPES = (
    *INDEX_TYPES,
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
USER_AGENT = f"buildcache python-httpx/{httpx.__version__}"


def _timeout() -> httpx.Timeout:
    """30 s a request (10 to connect); BUILDCACHE_REGISTRY_TIMEOUT sets another (seconds), for a
    registry that is slow, or a test that stalls one."""
    try:
        seconds = float(os.environ.get("BUILDCACHE_REGISTRY_TIMEOUT") or 30.0)
    except ValueError:
        seconds = 30.0
    return httpx.Timeout(seconds, connect=min(10.0, seconds))


TIMEOUT = _timeout()


_tls_lock = threading.Lock()


@cache
def _tls_once() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def _tls(scheme: str = "https") -> ssl.SSLContext:
    """One TLS context for every client of the run: building one reads the whole CA bundle
    (30-90 ms), and a plan opens a client per registry in each of its threads at once. A
    loopback registry speaks plain HTTP: its client gets a context that trusts nothing, made in
    no time (a redirect to HTTPS fails rather than go unchecked)."""
    if scheme == "http":
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    with _tls_lock:
        return _tls_once()


def retry_after_header(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header in seconds: a number of seconds, or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# a token is a few kilobytes; a token server's answer far past that is not read
TOKEN_LIMIT = 1 << 20
# what a blob read into memory may weigh at most (an image's config: kilobytes)
BLOB_LIMIT = 16 << 20


def _bounded(chunks: Iterator[bytes], limit: int, what: str) -> bytes:
    """At most `limit` bytes of a streamed body: past it, a RegistryError, and no more read from
    the socket (the response is closed unread)."""
    read = bytearray()
    for chunk in chunks:
        read += chunk
        if len(read) > limit:
            raise RegistryError(f"{what} is larger than {limit} bytes: not read")
    return bytes(read)


def is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    return name in ("localhost", "[::1]") or name.startswith("127.")


def credentials_for(registry: str, env: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(username, secret) for the registry from docker's config, or None."""
    env = os.environ if env is None else env
    path = Path(env.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    keys = (
        DOCKER_HUB_AUTH_KEYS
        if registry == DOCKER_HUB
        else (registry, f"https://{registry}", f"http://{registry}")
    )
    return _from_auths(config.get("auths", {}), keys) or _from_helpers(config, keys)


def _from_auths(auths: Mapping[str, Any], keys: Sequence[str]) -> tuple[str, str] | None:
    """`auths.<registry>.auth`: base64 of user:secret, as `docker login` writes it."""
    for key in keys:
        auth = auths.get(key, {})
        if auth.get("auth"):
            user, _, secret = base64.b64decode(auth["auth"]).decode(errors="replace").partition(":")
            return user, secret
    return None


def _from_helpers(config: Mapping[str, Any], keys: Sequence[str]) -> tuple[str, str] | None:
    """The registry's credential helper (`credHelpers`), else the store (`credsStore`)."""
    helpers = config.get("credHelpers", {})
    helper = next((helpers[k] for k in keys if k in helpers), None) or config.get("credsStore")
    if not helper:
        return None
    return next((found for key in keys if (found := _from_helper(helper, key))), None)


def has_credentials(registry: str, env: Mapping[str, str] | None = None) -> bool:
    return credentials_for(registry, env) is not None


# Docker Hub and ghcr.io give anyone a token that opens /v2/, yet refuse anonymous pushes
ANONYMOUS_PUSH_REFUSED = (DOCKER_HUB, "ghcr.io")


def probe_access(
    registry: str,
    env: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Access:
    """Whether a push could reach the registry and write there: one GET of /v2/ (the token
    exchange of its challenge included) with docker's credentials, as `docker login` checks
    them. Never raises: what went wrong is the answer."""
    with RegistryClient(registry, env=env, transport=transport) as client:
        if not client.has_login and registry in ANONYMOUS_PUSH_REFUSED:
            return Access(registry, "no credentials", "anonymous pushes are refused there")
        try:
            response = client.http.get("")
        except httpx.HTTPError as error:
            return Access(registry, "unreachable", unreachable_reason(error))
        except ValueError:  # a token server that answered with no JSON
            return Access(registry, "unexpected", "its token server answered with no token")
    return access_of(registry, response.status_code, has_login=client.has_login)


def access_of(registry: str, status: int, *, has_login: bool) -> Access:
    """What /v2/'s answer (after the credentials were offered) says of a push there."""
    if status in (401, 403):
        state: AccessState = "refused" if has_login else "no credentials"
        return Access(registry, state, f"{status} at /v2/")
    if status != 200:
        return Access(registry, "unexpected", f"{status} at /v2/")
    if has_login:
        return Access(registry, "ok", "credentials accepted")
    return Access(registry, "anonymous", "takes calls without a login")


def unreachable_reason(error: httpx.HTTPError) -> str:
    """Why a registry could not be reached, in a few words: connection refused, no such host,
    a TLS failure, a timeout."""
    text = str(error)
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    lowered = text.lower()
    if any(word in lowered for word in ("certificate", "ssl", "tls")):
        return "TLS failed: " + " ".join(text.split())[:160]
    for words, reason in _UNREACHABLE_REASONS:
        if any(word in lowered for word in words):
            return reason
    return " ".join(text.split())[:200] or type(error).__name__


_UNREACHABLE_REASONS = (
    (("connection refused",), "connection refused"),
    (
        ("name or service not known", "nodename nor servname", "temporary failure in name"),
        "no such host",
    ),
    (("network is unreachable", "no route to host"), "no route to it"),
)


def _from_helper(helper: str, server: str) -> tuple[str, str] | None:
    try:
        result = subprocess.run(
            [f"docker-credential-{helper}", "get"],
            input=server,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    try:
        data = json.loads(result.stdout)
    except ValueError:
        return None
    if not data.get("Secret"):
        return None
    return str(data.get("Username", "")), str(data["Secret"])


_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


class _RegistryAuth(httpx.Auth):
    """Basic or bearer-token auth, as the registry's WWW-Authenticate challenge asks; once
    answered, the credential goes with every later request, so a streamed upload's body is sent
    once (a 401 cannot replay it)."""

    # httpx would read every response whole before handing it on (a multi-GB blob into memory):
    # only the token server's answer is read here, and it is small
    requires_response_body = False

    def __init__(self, credentials: tuple[str, str] | None) -> None:
        self.credentials = credentials
        self.header: str | None = None  # the Authorization header the registry last accepted

    def _basic(self) -> str | None:
        if not self.credentials:
            return None
        user, secret = self.credentials
        return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.header:
            request.headers["Authorization"] = self.header
        response = yield request
        if response.status_code != 401:
            return
        challenge = response.headers.get("WWW-Authenticate", "")
        scheme = challenge.split(" ", 1)[0].lower()
        params = dict(_CHALLENGE_PARAM.findall(challenge))
        basic = self._basic()
        if scheme == "basic" and basic:
            self.header = request.headers["Authorization"] = basic
            yield request
        elif scheme == "bearer" and params.get("realm"):
            token_response = yield _token_request(params, basic)
            token = _token(token_response)
            if token:
                self.header = request.headers["Authorization"] = f"Bearer {token}"
                yield request


def _token_request(params: Mapping[str, str], basic: str | None) -> httpx.Request:
    """The token server's request of a Bearer challenge (realm, service, scope)."""
    query = {k: v for k, v in params.items() if k in ("service", "scope")}
    request = httpx.Request("GET", params["realm"], params=query)
    if basic:
        request.headers["Authorization"] = basic
    return request


def _token(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return None
    # read whole here (httpx reads it again after the flow): a length past the limit is refused
    if int(response.headers.get("Content-Length") or 0) > TOKEN_LIMIT:
        raise RegistryError(
            f"the token server's answer is larger than {TOKEN_LIMIT} bytes: not read"
        )
    body = json.loads(response.read())
    return body.get("token") or body.get("access_token")  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ManifestInfo:
    digest: str
    media_type: str
    body: dict[str, Any]


class RegistryClient:
    """One registry host. Loopback registries speak plain HTTP, as docker treats them as insecure."""

    def __init__(
        self,
        registry: str,
        *,
        env: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.registry = registry
        host = DOCKER_HUB_API if registry == DOCKER_HUB else registry
        scheme = "http" if is_loopback(host) else "https"
        credentials = credentials_for(registry, env)
        self.has_login = credentials is not None  # docker's config has credentials for it
        self.http = httpx.Client(
            base_url=f"{scheme}://{host}/v2/",
            auth=_RegistryAuth(credentials),
            timeout=TIMEOUT,
            transport=transport,
            follow_redirects=True,
            verify=_tls(scheme),
            headers={"User-Agent": USER_AGENT},
        )

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise RegistryError(
                f"cannot reach {self.registry}: {unreachable_reason(error)}"
            ) from None

    def _fail(self, response: httpx.Response, what: str) -> RegistryError:
        """The registry's refusal in one sentence (its error body read, a streamed one up to
        TOKEN_LIMIT bytes)."""
        reason = response.reason_phrase
        try:
            try:
                body = response.content
            except httpx.ResponseNotRead:
                body = _bounded(response.iter_bytes(), TOKEN_LIMIT, "an error")
            errors = json.loads(body).get("errors") or []
            if errors:
                reason = errors[0].get("message") or errors[0].get("code") or reason
        except (ValueError, AttributeError, RegistryError):
            pass
        hint = None
        if response.status_code in (401, 403):
            hint = f"log in to {self.registry} (docker login {self.registry}) with an account that may do this"
        return RegistryError(
            f"{self.registry} refused to {what}: {response.status_code} {reason}",
            status=response.status_code,
            hint=hint,
            retry_after=retry_after_header(response.headers.get("Retry-After")),
        )

    def tags(self, repo: str) -> list[str]:
        tags: list[str] = []
        path: str | None = f"{repo}/tags/list?n=1000"
        while path:
            response = self._request("GET", path)
            if response.status_code == 404:
                return tags
            if response.status_code != 200:
                raise self._fail(response, f"list the tags of {repo}")
            tags += response.json().get("tags") or []
            link = response.headers.get("Link", "")
            match = re.match(r"<([^>]+)>", link)
            path = match.group(1).removeprefix("/v2/") if match else None
        return tags

    def manifest(self, repo: str, reference: str) -> ManifestInfo | None:
        response = self._request(
            "GET", f"{repo}/manifests/{reference}", headers={"Accept": ", ".join(MANIFEST_TYPES)}
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._fail(response, f"read {repo}:{reference}")
        body = response.json()
        digest = response.headers.get("Docker-Content-Digest", "")
        return ManifestInfo(digest=digest, media_type=body.get("mediaType", ""), body=body)

    def digest(self, repo: str, reference: str) -> str | None:
        """The digest a tag points at (a HEAD request: no body), None where there is none."""
        response = self._request(
            "HEAD", f"{repo}/manifests/{reference}", headers={"Accept": ", ".join(MANIFEST_TYPES)}
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._fail(response, f"read {repo}:{reference}")
        return response.headers.get("Docker-Content-Digest") or None

    def delete_manifest(self, repo: str, digest: str) -> None:
        response = self._request("DELETE", f"{repo}/manifests/{digest}")
        if response.status_code not in (200, 202):
            raise self._fail(response, f"delete {repo}@{digest[:19]}")

    def blob(self, repo: str, digest: str, limit: int = BLOB_LIMIT) -> bytes:
        """A blob's bytes: a RegistryError past `limit` bytes, and no more read from the socket
        (a config or a record is kilobytes; something else under its digest may be gigabytes)."""
        what = f"{repo}@{digest[:19]}"
        try:
            with self.http.stream("GET", f"{repo}/blobs/{digest}") as response:
                if response.status_code != 200:
                    raise self._fail(response, f"read {what}")
                if int(response.headers.get("Content-Length") or 0) > limit:
                    raise RegistryError(f"{what} is larger than {limit} bytes: not read")
                return _bounded(response.iter_bytes(), limit, what)
        except httpx.HTTPError as error:
            raise RegistryError(
                f"cannot reach {self.registry}: {unreachable_reason(error)}"
            ) from None

    def put_blob(self, repo: str, data: bytes) -> str:
        """Upload a blob (monolithic: a POST for the location, then one PUT); its digest."""
        digest = content_digest(data)
        self._upload(repo, digest, data, len(data))
        return digest

    def _upload(self, repo: str, digest: str, content: bytes | Iterator[bytes], size: int) -> None:
        """The distribution spec's monolithic upload: a POST for the location, then one PUT of
        the bytes with their length (a streamed body is sent as it is read, never held whole;
        the registry checks the digest)."""
        started = self._request("POST", f"{repo}/blobs/uploads/")
        if started.status_code not in (201, 202):
            raise self._fail(started, f"upload to {repo}")
        # the Location is absolute, or a path on this host (not to be joined under /v2/ again)
        location = self.http.base_url.join(started.headers.get("Location", ""))
        done = self._request(
            "PUT",
            str(location.copy_merge_params({"digest": digest})),
            content=content,
            # a length, not chunked transfer: every registry takes it (httpx then streams the body)
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        )
        if done.status_code not in (201, 204):
            raise self._fail(done, f"upload to {repo}")

    def raw_manifest(self, repo: str, reference: str) -> tuple[bytes, str]:
        """A manifest's bytes as stored (its digest is theirs) and its media type."""
        response = self._request(
            "GET", f"{repo}/manifests/{reference}", headers={"Accept": ", ".join(MANIFEST_TYPES)}
        )
        if response.status_code != 200:
            raise self._fail(response, f"read {repo}@{reference[:19]}")
        return response.content, response.headers.get("Content-Type", "")

    def put_raw_manifest(self, repo: str, tag: str, data: bytes, media_type: str) -> None:
        self._put_manifest(repo, tag, data, media_type)

    def _put_manifest(self, repo: str, tag: str, data: bytes, media_type: str) -> httpx.Response:
        """One manifest PUT; a `400 DIGEST_INVALID` sent again once: a registry answers it
        under concurrency (another PUT of the same repository in flight) for bytes that are
        right, and a PUT of the same bytes is idempotent. A tag written is read once: a
        registry that answered 201 and kept nothing is caught here, before a moving tag is
        written on the word of a version tag that is not there."""
        for attempt in (1, 2):
            response = self._request(
                "PUT", f"{repo}/manifests/{tag}", content=data, headers={"Content-Type": media_type}
            )
            if response.status_code in (200, 201):
                if not tag.startswith("sha256:") and self.digest(repo, tag) is None:
                    raise RegistryError(
                        f"{self.registry} took the write of {repo}:{tag} and did not keep it "
                        "(not there when read right after)"
                    )
                return response
            if attempt == 1 and _is_digest_invalid(response):
                continue
            raise self._fail(response, f"write {repo}:{tag}")
        raise AssertionError("unreachable")  # pragma: no cover

    def has_blob(self, repo: str, digest: str) -> bool:
        return self._request("HEAD", f"{repo}/blobs/{digest}").status_code == 200

    def mount_blob(self, repo: str, digest: str, source_repo: str) -> bool:
        """Link a blob from another repository of this registry (no bytes move); False where
        the registry declines and an upload is needed."""
        path = f"{repo}/blobs/uploads/?mount={digest}&from={source_repo}"
        return self._request("POST", path).status_code == 201

    def stream_blob_from(
        self, source: RegistryClient, source_repo: str, repo: str, digest: str, size: int
    ) -> None:
        """Copy one blob of `size` bytes from another registry, streamed: a layer can be
        gigabytes, and no more than a chunk of it is held at once."""
        try:
            with source.http.stream("GET", f"{source_repo}/blobs/{digest}") as download:
                if download.status_code != 200:
                    raise source._fail(download, f"read {source_repo}@{digest[:19]}")
                self._upload(repo, digest, download.iter_bytes(COPY_CHUNK), size)
        except (httpx.HTTPError, httpx.StreamError) as error:
            raise RegistryError(
                f"cannot copy {digest[:19]} from {source.registry}: {error}"
            ) from None

    def put_manifest(self, repo: str, tag: str, body: Mapping[str, Any]) -> str:
        data = json.dumps(body, separators=(",", ":")).encode()
        response = self._put_manifest(repo, tag, data, str(body["mediaType"]))
        return response.headers.get("Docker-Content-Digest") or content_digest(data)


def _is_digest_invalid(response: httpx.Response) -> bool:
    """A 400 whose error code is DIGEST_INVALID (the distribution spec's errors body)."""
    if response.status_code != 400:
        return False
    try:
        errors = json.loads(response.content).get("errors") or []
        return any(error.get("code") == "DIGEST_INVALID" for error in errors)
    except (ValueError, AttributeError):
        return False


# how a module reaches a registry host; tests pass one with an in-memory transport
Connect = Callable[[str], RegistryClient]
