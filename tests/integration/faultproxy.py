"""An HTTP proxy in front of a test registry that answers with faults before it lets requests
through: what a registry under load (429 with Retry-After, 503), one whose token expired (401)
or a slow one (a delay) looks like to a client. Faults come from a list (in order, to one class
of request) or from a seed (`SeededFaults`: any class of request, any fault, reproducibly)."""

from __future__ import annotations

import hashlib
import random
import re
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
}


# what a seeded fault can be: a status to answer, a connection reset, or a stall (no answer
# until the client's timeout has passed, then the connection closed)
Fault = int | str
SEEDED_FAULTS: tuple[Fault, ...] = (500, 503, 429, 400, 401, "reset", "stall")
# faults that look like success, for buildcache's own requests: a tag PUT answered 201 and not
# kept ("lost"), a read of a tag this run wrote answered 404 as if it were lost ("lie"), and a
# registry's 400 DIGEST_INVALID on a tag PUT (what one answers under concurrency)
LOOKS_LIKE_SUCCESS: tuple[Fault, ...] = ("lost", "lie", "digest-invalid")
TRANSIENT: tuple[Fault, ...] = (500, 503, 429, "reset", "stall")


def request_class(method: str, path: str) -> str:
    """The class of a registry request: blob HEAD/GET/POST/PUT/PATCH, manifest PUT by digest,
    manifest PUT by tag, manifest GET/HEAD, tag list, or other (the /v2/ ping)."""
    if path.split("?")[0].endswith("/tags/list"):
        return "tag list"
    if "/blobs/" in path:
        return f"blob {method}"
    if "/manifests/" in path:
        reference = path.split("?")[0].rsplit("/", 1)[1]
        if method == "PUT":
            return (
                "manifest PUT by digest"
                if reference.startswith("sha256:")
                else "manifest PUT by tag"
            )
        return f"manifest {method}"
    return "other"


# the classes a seed picks its faults among
REQUEST_CLASSES = (
    "blob HEAD",
    "blob POST",
    "blob PUT",
    "blob PATCH",
    "blob GET",
    "manifest PUT by digest",
    "manifest PUT by tag",
    "manifest GET",
    "manifest HEAD",
    "tag list",
)


@dataclass(frozen=True)
class MetFault:
    registry: str  # the proxy's name: which registry met it
    kind: str  # the request's class
    path: str
    fault: Fault
    ours: bool  # buildcache's own request (its httpx client), or the engine's (buildx, containerd)

    def __str__(self) -> str:
        whose = "buildcache" if self.ours else "engine"
        return f"{self.registry} {whose} {self.kind} {self.fault}"


class SeededFaults:
    """Faults from a seed, over every registry behind a proxy: the seed picks which registries
    meet random faults, and on each four classes of request; a request of those classes meets a
    fault with probability `rate`, of a kind the seed picks. Besides, one request of buildcache's
    own always meets a fault: its `forced_at`-th request to the registry `forced_on` (counted
    from 0; `forced` chooses them), so that a seed leaves buildcache's registry calls untouched
    only where the run ended before that request. At most one fault for
    the engine's push (a second fails most bakes for good, and nothing is left to publish) and
    `limit` for buildcache's requests. A stall only for buildcache's requests (a client with a
    short timeout), never for the engine's, whose push would hang."""

    def __init__(
        self,
        seed: int,
        registries: Sequence[str],
        *,
        rate: float = 0.2,
        limit: int = 4,
        agent: str = "buildcache",
        forced: tuple[str, int] | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.rate, self.limit, self.agent = rate, limit, agent
        faulty = self.rng.sample(list(registries), k=self.rng.randint(1, len(registries)))
        self.classes = {r: set(self.rng.sample(REQUEST_CLASSES, k=4)) for r in faulty}
        self.forced_on = self.rng.choice(list(registries))
        self.forced_at = self.rng.randrange(0, 16)
        if forced is not None:  # a registry and an index the caller chose
            self.forced_on, self.forced_at = forced
        self.forced_fault: Fault = self.rng.choice(SEEDED_FAULTS)
        # the faults that look like success, drawn apart: a seed's other draws stay as they were
        self.sly = random.Random(seed * 7919 + 1)
        self.sly_met = False
        self.ours_seen: dict[str, int] = {}  # registry -> buildcache's requests to it so far
        self.log: list[MetFault] = []
        self.lock = threading.Lock()

    def __call__(
        self, registry: str, method: str, path: str, agent: str, written: bool = False
    ) -> Fault | None:
        """The fault for a request, if any; `written`: the request reads a tag that buildcache
        wrote through this proxy in this run (a read-back)."""
        kind = request_class(method, path)
        ours = self.agent in agent
        with self.lock:
            fault = self._fault(registry, kind, ours)
            # at most one a run, where the seed draws a fault or, for a read-back, now and then
            chance = 0.35 if fault is not None else 0.1
            if ours and not self.sly_met and (fault is not None or written):
                sly = self._sly(kind, written) if self.sly.random() < chance else None
                if sly is not None:
                    fault, self.sly_met = sly, True
            if fault is not None:
                self.log.append(MetFault(registry, kind, path, fault, ours))
            return fault

    def _fault(self, registry: str, kind: str, ours: bool) -> Fault | None:
        if ours:
            seen = self.ours_seen.get(registry, 0)
            self.ours_seen[registry] = seen + 1
            if registry == self.forced_on and seen == self.forced_at:
                return self.forced_fault
        spent = sum(1 for met in self.log if met.ours == ours)
        if spent >= (self.limit if ours else 1):
            return None
        if kind not in self.classes.get(registry, ()) or self.rng.random() > self.rate:
            return None
        fault = self.rng.choice(SEEDED_FAULTS)
        return 503 if fault == "stall" and not ours else fault

    def _sly(self, kind: str, written: bool) -> Fault | None:
        """A fault that looks like success, where it fits the request: a tag PUT lost or
        answered DIGEST_INVALID, a read of a tag this run wrote answered 404."""
        if kind == "manifest PUT by tag":
            return self.sly.choice(("lost", "digest-invalid"))
        if kind in ("manifest HEAD", "manifest GET") and written:
            return "lie"
        return None

    @property
    def met(self) -> list[str]:
        """Each fault met, in short: which registry, whose request, its class, the fault."""
        return [str(met) for met in self.log]

    @property
    def ours_met(self) -> int:
        """The faults buildcache's own requests met."""
        return sum(1 for met in self.log if met.ours)


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        faults: list[int],
        when: str = "/manifests/",
        method: str = "PUT",
        delay: float = 0.0,
        agent: str = "",
    ) -> None:
        self.upstream = upstream  # 127.0.0.1:PORT
        # statuses to answer, in order, to `method` requests whose path has `when` (by default the
        # manifest writes, which a client cannot step around as it can a failed HEAD)
        self.faults: list[Fault] = list(faults)
        self.when = when
        self.method = method
        self.delay = delay  # seconds every such request waits before it goes through
        self.agent = agent  # only requests whose User-Agent has this (buildcache's, not BuildKit's)
        self.seeded: Callable[[str, str, str, bool], Fault | None] | None = None
        # the tags buildcache wrote through this proxy (paths, query dropped), for "lie"
        self.ours_written: set[str] = set()
        # a write "lost" (but a release's own tag): path -> the digest the next read of it says
        # (once), as a registry whose replica has not caught up says; later reads see the truth
        self.lost_once: dict[str, str] = {}
        self.stall = 3.0  # seconds a stall holds a request (past the client's timeout)
        self.retry_after = "1"  # the Retry-After header of a 429, in seconds
        self.seen = threading.Event()  # set by the first such request
        # the paths of the requests held by `delay` so far, and a condition to wait on them
        self.held: list[str] = []
        self.held_changed = threading.Condition()
        self.answered: list[tuple[str, str, int]] = []
        # the manifests the engine wrote under a tag, as the registry took them: (path, digest of
        # the bytes); what a push made, known without buildcache's word for it
        self.engine_tagged: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.client = httpx.Client(base_url=f"http://{upstream}", timeout=60)

    def next_fault(self, method: str, path: str, agent: str) -> Fault | None:
        if self.seeded is not None:
            written = method in ("GET", "HEAD") and path.split("?")[0] in self.ours_written
            return self.seeded(method, path, agent, written)
        if method != self.method or self.when not in path or self.agent not in agent:
            return None
        self.seen.set()
        with self.lock:
            if self.faults:
                return self.faults.pop(0)
        if self.delay:
            with self.held_changed:
                self.held.append(path.split("?")[0])
                self.held_changed.notify_all()
        time.sleep(self.delay)
        return None

    def wait_held(self, count: int, timeout: float) -> bool:
        """Until `count` requests are held by `delay` (under way), or `timeout` seconds."""
        with self.held_changed:
            return self.held_changed.wait_for(lambda: len(self.held) >= count, timeout)


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            return

        def handle(self) -> None:
            # A client that tries TLS first (BuildKit's push to an insecure registry) falls back
            # to plain HTTP only on "server gave HTTP response to HTTPS client", which Go's TLS
            # reports when the answer starts with "HTTP/": answer as a Go server does.
            if self.rfile.peek(1)[:1] == b"\x16":  # a TLS handshake record
                self.wfile.write(
                    b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
                )
                self.close_connection = True
                return
            super().handle()

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _handle(self) -> None:
            body = self._body()
            fault = proxy.next_fault(self.command, self.path, self.headers.get("User-Agent", ""))
            if fault is not None:
                proxy.answered.append((self.command, self.path, fault))
            path = self.path.split("?")[0]
            if fault is None and self.command in ("GET", "HEAD") and path in proxy.lost_once:
                headers = {"Docker-Content-Digest": proxy.lost_once.pop(path)}
                self._answer(200, b"{}", headers)  # the lie that follows a lost write, once
                return
            if fault == "lost":  # taken, answered as written, never kept
                if not _release_tag(path.rsplit("/", 1)[1]):
                    proxy.lost_once[path] = _digest(body)
                self._answer(201, b"", {"Docker-Content-Digest": _digest(body)})
                return
            if fault == "lie":  # a tag this run wrote, said not to be there
                self._answer(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"lie"}]}')
                return
            if fault == "digest-invalid":
                payload = b'{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]}'
                self._answer(400, payload)
                return
            if isinstance(fault, str):
                self._break(fault)
                return
            if fault is not None:
                payload = b'{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}'
                self.send_response(fault)
                if fault == 429:
                    self.send_header("Retry-After", proxy.retry_after)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
                return
            # every header as sent, repeated ones too (docker sends one Accept per media type)
            headers = [
                (k, v)
                for k, v in self.headers.items()
                if k.lower() not in HOP_BY_HOP | {"content-length"}
            ]
            # the Host the client used, so the registry's Location headers point back at the proxy
            response = proxy.client.request(self.command, self.path, content=body, headers=headers)
            proxy.answered.append((self.command, self.path, response.status_code))
            agent = self.headers.get("User-Agent", "")
            kind = request_class(self.command, self.path)
            if (
                kind == "manifest PUT by tag"
                and response.status_code == 201
                and "buildcache" not in agent
            ):
                proxy.engine_tagged.append((self.path, _digest(body)))
            if (
                kind == "manifest PUT by tag"
                and response.status_code == 201
                and "buildcache" in agent
            ):
                proxy.ours_written.add(self.path.split("?")[0])
            self.send_response(response.status_code)
            for key, value in response.headers.items():
                if key.lower() not in HOP_BY_HOP | {"content-length", "content-encoding"}:
                    self.send_header(key, value)
            content = response.content
            # a HEAD answer's length is the manifest's size, which clients read as such
            length = (
                response.headers.get("Content-Length", "0")
                if self.command == "HEAD"
                else len(content)
            )
            self.send_header("Content-Length", str(length))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)

        def _answer(
            self, status: int, payload: bytes, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def _break(self, fault: str) -> None:
            """A connection reset (RST, no answer), or a stall: nothing until the client has
            given up, then the connection closed."""
            if fault == "stall":
                time.sleep(proxy.stall)
            else:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            self.close_connection = True
            self.connection.close()

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle

    return Handler


def _release_tag(tag: str) -> bool:
    """A release's own tag (1.2.3, 1.2.3-full): the moving tags are written on its word, so
    its loss is told honestly (a registry that lied here would fool any client)."""
    return re.fullmatch(r"\d+\.\d+\.\d+(-full)?", tag) is not None


def _digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up on a reset or a stall the proxy injected is the fault working, not
    an error to print a traceback for."""

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError | OSError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextmanager
def fault_proxy(
    upstream: str,
    faults: list[int],
    when: str = "/manifests/",
    delay: float = 0.0,
    agent: str = "",
) -> Iterator[tuple[str, FaultProxy]]:
    proxy = FaultProxy(upstream, faults, when, delay=delay, agent=agent)
    server = _QuietServer(("127.0.0.1", 0), _handler(proxy))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", proxy
    finally:
        server.shutdown()
        server.server_close()
        proxy.client.close()
        # what the engine kept of the pushes through the proxy, under its address
        from tests.integration.conftest import remove_local_images

        remove_local_images([f"127.0.0.1:{server.server_address[1]}/"])
