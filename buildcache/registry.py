"""The registry HTTP API, for what `docker buildx imagetools` cannot do: list tags, read a
manifest's annotations, delete a manifest.

Credentials are the ones docker already has: `~/.docker/config.json` (or $DOCKER_CONFIG), its
`auths`, and its credential helpers (`credsStore`, `credHelpers`). They are never asked for, never
printed, and never put on a command line (a helper gets the host on stdin).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from buildcache.core.publish import TagResult
from buildcache.core.reference import DOCKER_HUB, ImageRef
from buildcache.core.tags import release_key
from buildcache.errors import BuildFailed, RegistryError

DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_AUTH_KEYS = (
    "https://index.docker.io/v1/",
    "index.docker.io",
    "docker.io",
    "registry-1.docker.io",
)
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    return name in ("localhost", "[::1]") or name.startswith("127.")


def api_host(registry: str) -> str:
    return DOCKER_HUB_API if registry == DOCKER_HUB else registry


def docker_config_path(env: Mapping[str, str]) -> Path:
    return Path(env.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"


def credentials_for(registry: str, env: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(username, secret) for the registry from docker's config, or None."""
    path = docker_config_path(os.environ if env is None else env)
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    keys = (
        DOCKER_HUB_AUTH_KEYS
        if registry == DOCKER_HUB
        else (registry, f"https://{registry}", f"http://{registry}")
    )
    helper = next(
        (config.get("credHelpers", {}).get(k) for k in keys if k in config.get("credHelpers", {})),
        None,
    )
    helper = helper or config.get("credsStore")
    for key in keys:
        auth = config.get("auths", {}).get(key, {})
        if auth.get("auth"):
            user, _, secret = base64.b64decode(auth["auth"]).decode(errors="replace").partition(":")
            return user, secret
    if helper:
        for key in keys:
            found = _from_helper(helper, key)
            if found:
                return found
    return None


def has_credentials(registry: str, env: Mapping[str, str] | None = None) -> bool:
    return credentials_for(registry, env) is not None


def needs_login(registry: str) -> bool | None:
    """Whether the registry's API asks who is calling (401 at /v2/); None where it cannot be
    reached. Docker Hub and ghcr.io always ask: anonymous pushes are refused."""
    if registry in (DOCKER_HUB, "ghcr.io"):
        return True
    host = api_host(registry)
    scheme = "http" if is_loopback(host) else "https"
    try:
        response = httpx.get(f"{scheme}://{host}/v2/", timeout=TIMEOUT, follow_redirects=True)
    except httpx.HTTPError:
        return None
    return response.status_code in (401, 403)


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
    """Basic or bearer-token auth, as the registry's WWW-Authenticate challenge asks."""

    requires_response_body = True

    def __init__(self, credentials: tuple[str, str] | None) -> None:
        self.credentials = credentials
        self.token: str | None = None

    def _basic(self) -> str | None:
        if not self.credentials:
            return None
        user, secret = self.credentials
        return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.token:
            request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        if response.status_code != 401:
            return
        challenge = response.headers.get("WWW-Authenticate", "")
        scheme = challenge.split(" ", 1)[0].lower()
        params = dict(_CHALLENGE_PARAM.findall(challenge))
        if scheme == "basic":
            basic = self._basic()
            if basic:
                request.headers["Authorization"] = basic
                yield request
            return
        if scheme == "bearer" and params.get("realm"):
            query = {k: v for k, v in params.items() if k in ("service", "scope")}
            token_request = httpx.Request("GET", params["realm"], params=query)
            basic = self._basic()
            if basic:
                token_request.headers["Authorization"] = basic
            token_response = yield token_request
            if token_response.status_code != 200:
                return
            body = token_response.json()
            self.token = body.get("token") or body.get("access_token")
            if self.token:
                request.headers["Authorization"] = f"Bearer {self.token}"
                yield request


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
        host = api_host(registry)
        scheme = "http" if is_loopback(host) else "https"
        self.http = httpx.Client(
            base_url=f"{scheme}://{host}/v2/",
            auth=_RegistryAuth(credentials_for(registry, env)),
            timeout=TIMEOUT,
            transport=transport,
            follow_redirects=True,
        )

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise RegistryError(f"cannot reach {self.registry}: {error}") from None

    def _fail(self, response: httpx.Response, what: str) -> RegistryError:
        reason = response.reason_phrase
        try:
            errors = response.json().get("errors") or []
            if errors:
                reason = errors[0].get("message") or errors[0].get("code") or reason
        except ValueError:
            pass
        hint = None
        if response.status_code in (401, 403):
            hint = f"log in to {self.registry} (docker login {self.registry}) with an account that may do this"
        return RegistryError(
            f"{self.registry} refused to {what}: {response.status_code} {reason}",
            status=response.status_code,
            hint=hint,
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


def read_back(expected: Mapping[ImageRef, str]) -> list[str]:
    """Each tag read back on its registry (a HEAD each): a sentence for every one that does not
    resolve to the digest expected of it. Another run publishing at the same moment, or a
    registry that lost a write, shows here instead of in someone's pull."""
    wrong: list[str] = []
    by_registry: dict[str, list[ImageRef]] = {}
    for ref in expected:
        by_registry.setdefault(ref.registry, []).append(ref)
    for registry, refs in by_registry.items():
        with RegistryClient(registry) as client:
            for ref in refs:
                try:
                    found = client.digest(ref.repository, ref.tag or "")
                except RegistryError as error:
                    wrong.append(f"{ref} could not be read back ({error.message})")
                    continue
                if found != expected[ref]:
                    wrong.append(f"{ref} resolves to {found or 'nothing'}, not {expected[ref]}")
    return wrong


def higher_release_holds(
    image: ImageRef,
    tags: Sequence[str],
    version: str,
    suffix: str = "",
    connect: Callable[[str], RegistryClient] | None = None,
) -> dict[str, str]:
    """The floating `tags` (latest, a variant's alias, 1.2, 1) that must stay where they are, with
    why: each points at a release higher than `version` (found among the repository's tags that
    end in `suffix`, the variant's). The repository's tags are listed once, and each digest read
    once, for all of them; none is held where `version` is not comparable."""
    mine = release_key(version)
    if mine is None:
        return {}
    held: dict[str, str] = {}
    with (connect or RegistryClient)(image.registry) as client:
        digests: dict[str, str | None] = {}

        def digest(name: str) -> str | None:
            if name not in digests:
                digests[name] = client.digest(image.repository, name)
            return digests[name]

        currents = {tag: digest(tag) for tag in tags}
        if not any(currents.values()):
            return {}
        higher: list[tuple[tuple[int, ...], str]] = []
        for name in client.tags(image.repository):
            if suffix and not name.endswith(suffix):
                continue
            key = release_key(name.removesuffix(suffix) if suffix else name)
            if key is not None and key > mine:
                higher.append((key, name))
        newest_first = [name for _, name in sorted(higher, reverse=True)[:20]]
        for tag, current in currents.items():
            holder = next((n for n in newest_first if current and digest(n) == current), None)
            if holder is not None:
                held[tag] = f"it stays on {holder}, a higher release than {version}"
    return held


def read_back_published(
    published: Sequence[TagResult], metadata: Mapping[str, Any]
) -> BuildFailed | None:
    """Every tag a build published, read back: it must resolve to the digest the build made."""
    digests = {n: (m or {}).get("containerimage.digest") for n, m in metadata.items()}
    wrong = read_back({r.ref: str(digests.get(r.variant)) for r in published if r.status == "done"})
    if not wrong:
        return None
    return BuildFailed(
        "a tag does not point at what this run published: " + "; ".join(wrong[:5]),
        hint="another run may have published the same tags at the same moment: run again",
    )


def digests_of(refs: Mapping[str, ImageRef]) -> dict[str, str]:
    """The digest each reference resolves to, for those that exist (a HEAD each); one that cannot
    be read counts as absent: the push that follows says what is wrong with its registry."""
    found: dict[str, str] = {}
    for registry in {ref.registry for ref in refs.values()}:
        with RegistryClient(registry) as client:
            for key, ref in refs.items():
                if ref.registry != registry:
                    continue
                try:
                    digest = client.digest(ref.repository, ref.tag or "")
                except RegistryError:
                    continue
                if digest:
                    found[key] = digest
    return found
