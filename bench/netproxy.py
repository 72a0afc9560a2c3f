"""Registries across a network: a TCP proxy on loopback that adds latency and caps bandwidth.

    python -m bench.netproxy --latency-ms 30 --mbit 100 [--count FILE] LISTEN_PORT=HOST:PORT [...]

Every byte forwarded, either way, arrives half the round-trip latency after it was read, and
every direction shares one bandwidth cap across all connections and listeners (a runner's one
link to the internet). It speaks no HTTP: docker, BuildKit and buildcache see a registry at
127.0.0.1:LISTEN_PORT, plain HTTP as docker treats loopback registries. Prints `ready` on stdout
when it listens; runs until killed. With --count, FILE holds the bytes it has carried so far
(both directions, every connection), rewritten ten times a second: what a run sent over the
link is the difference before and after it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time

CHUNK = 64 * 1024


class Link:
    """One direction of the network: a bandwidth cap shared by every connection on it."""

    def __init__(self, bits_per_second: float) -> None:
        self.rate = bits_per_second / 8
        self.free_at = 0.0  # when the link has sent everything queued so far
        self.carried = 0  # bytes, since the start

    def transmit_until(self, size: int) -> float:
        """When a chunk of `size` bytes, queued now, has gone through."""
        self.free_at = max(self.free_at, time.monotonic()) + size / self.rate
        self.carried += size
        return self.free_at


async def _pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: Link, delay: float
) -> None:
    """Forward one direction: read at once, deliver each chunk once it has crossed the link and
    its latency has passed, in order (a queue, so latency does not cap throughput)."""
    # bounded: reading stops a few chunks ahead of what the link carries (back-pressure)
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(maxsize=16)

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            if not data:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()

    delivering = asyncio.create_task(deliver())
    try:
        while data := await reader.read(CHUNK):
            await queue.put((link.transmit_until(len(data)) + delay, data))
    except ConnectionError:
        pass
    await queue.put((0.0, b""))
    with contextlib.suppress(ConnectionError):
        await delivering


async def _serve(port: int, target: tuple[str, int], up: Link, down: Link, delay: float) -> None:
    async def connection(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*target)
        except OSError:
            client_w.close()
            return
        await asyncio.sleep(delay * 2)  # the TCP handshake's round trip
        await asyncio.gather(
            _pump(client_r, server_w, up, delay),
            _pump(server_r, client_w, down, delay),
            return_exceptions=True,
        )
        for writer in (client_w, server_w):
            writer.close()

    server = await asyncio.start_server(connection, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


async def _count(path: str, links: tuple[Link, Link]) -> None:
    written = -1
    while True:
        carried = sum(link.carried for link in links)
        if carried != written:
            with open(path, "w") as counter:  # a few bytes, ten times a second
                counter.write(f"{carried}\n")
            written = carried
        await asyncio.sleep(0.1)


async def _main(
    routes: list[tuple[int, tuple[str, int]]], latency: float, mbit: float, count: str | None
) -> None:
    up, down = Link(mbit * 1e6), Link(mbit * 1e6)
    servers = [_serve(port, target, up, down, latency / 2) for port, target in routes]
    tasks = [asyncio.create_task(s) for s in servers]
    if count:
        tasks.append(asyncio.create_task(_count(count, (up, down))))
    await asyncio.sleep(0.2)
    print("ready", flush=True)
    await asyncio.gather(*tasks)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.netproxy", description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=30.0, help="round-trip latency")
    parser.add_argument("--mbit", type=float, default=100.0, help="bandwidth each way, Mbit/s")
    parser.add_argument("--count", metavar="FILE", help="keep the bytes carried in this file")
    parser.add_argument("routes", nargs="+", metavar="LISTEN_PORT=HOST:PORT")
    args = parser.parse_args()
    routes = []
    for route in args.routes:
        port, _, target = route.partition("=")
        host, _, target_port = target.rpartition(":")
        routes.append((int(port), (host, int(target_port))))
    try:
        asyncio.run(_main(routes, args.latency_ms / 1000, args.mbit, args.count))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
