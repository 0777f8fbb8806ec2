"""Many WebSocket clients in one process, driven from another: the harness of streamer_fanout.

`start_clients(urls)` spawns a process that opens one connection per URL (websockets' asyncio
client, no compression, no pings), waits for every connection's first frame (the streamer's
snapshot, or the bare server's hello), then reads frames until told to close. Each frame is
counted; while recording, a frame carrying `"error":"<time.time_ns()>"` (what the publisher
embeds) also gives a latency sample: receive time minus that time, on the same machine clock.

The parent drives it with `Clients.call(command)` over a pipe:
- ("record", bool): start or stop taking latency samples;
- ("latencies",): the samples so far (nanoseconds, an `array('q')`), then forget them;
- ("mark",): (frames received so far, perf_counter, this process's CPU seconds, closed);
- ("close",): close every connection and exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import resource
import socket
import time
from array import array
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlsplit

MARKER = b'"error":"'
CONNECT_CONCURRENCY = 64


def raise_fd_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        wanted = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Pipe:
    """A multiprocessing pipe end, read from an asyncio loop without a thread."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        asyncio.get_running_loop().add_reader(conn.fileno(), self._readable)

    def _readable(self) -> None:
        while self.conn.poll():
            try:
                self.inbox.put_nowait(self.conn.recv())
            except EOFError:
                asyncio.get_running_loop().remove_reader(self.conn.fileno())
                self.inbox.put_nowait(("eof",))
                return

    async def get(self, timeout: float | None = None) -> Any:
        return await asyncio.wait_for(self.inbox.get(), timeout)

    def send(self, message: Any) -> None:
        self.conn.send(message)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(self.conn.fileno())


# --- the client process -------------------------------------------------------------------------


@dataclass
class State:
    recording: bool = False
    greeted: int = 0  # connections that got their first frame
    frames: int = 0
    closed: int = 0
    close_codes: dict[int, int] = field(default_factory=dict)
    latencies: array[int] = field(default_factory=lambda: array("q"))


async def _read(ws: Any, state: State, first: asyncio.Event) -> None:
    from websockets.exceptions import ConnectionClosed

    recv = ws.recv
    try:
        try:
            await recv(decode=False)
            state.greeted += 1
        finally:
            first.set()  # greeted, or refused (closed before any frame)
        while True:
            raw = await recv(decode=False)
            now = time.time_ns()
            state.frames += 1
            if state.recording:
                start = raw.find(MARKER)
                if start >= 0:
                    start += len(MARKER)
                    end = raw.find(b'"', start)
                    with contextlib.suppress(ValueError):
                        state.latencies.append(now - int(raw[start:end]))
    except ConnectionClosed as closed:
        state.closed += 1
        code = closed.rcvd.code if closed.rcvd is not None else 1006
        state.close_codes[code] = state.close_codes.get(code, 0) + 1


async def _socket(url: str, rcvbuf: int) -> socket.socket:
    """A connected TCP socket whose receive buffer is `rcvbuf` bytes (set before connecting,
    so the window is fixed and the kernel does not autotune it)."""
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
    except BaseException:
        sock.close()
        raise
    return sock


async def _clients(conn: Connection, urls: list[str], rcvbuf: int) -> None:
    from websockets.asyncio.client import connect

    from streamer.app import GC_YOUNG_THRESHOLD

    pipe = Pipe(conn)
    state = State()
    connections: list[Any] = []
    readers: list[asyncio.Task[None]] = []
    firsts: list[asyncio.Event] = []
    failures: dict[str, int] = {}
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    started = time.perf_counter()

    async def open_one(url: str) -> None:
        async with gate:
            try:
                sock = await _socket(url, rcvbuf) if rcvbuf else None
                ws = await connect(
                    url,
                    sock=sock,
                    compression=None,
                    ping_interval=None,
                    max_size=1 << 20,
                    open_timeout=60,
                    close_timeout=2,
                )
            except Exception as exc:  # counted and reported, not fatal
                failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
                return
            first = asyncio.Event()
            connections.append(ws)
            firsts.append(first)
            readers.append(asyncio.create_task(_read(ws, state, first)))

    await asyncio.gather(*(open_one(url) for url in urls))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(f.wait() for f in firsts)), 60)
    for code, count in state.close_codes.items():  # refused after the handshake
        failures[f"closed {code}"] = count
    # As in the streamer: the collector's passes over these thousands of connections would
    # show up as the latency of whichever server's turn they hit.
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD)
    pipe.send(("ready", state.greeted, failures, time.perf_counter() - started))

    while True:
        command = await pipe.get()
        if command[0] == "record":
            state.recording = bool(command[1])
            pipe.send(("ok",))
        elif command[0] == "latencies":
            pipe.send(("latencies", state.latencies))
            state.latencies = array("q")
        elif command[0] == "mark":
            cpu = os.times()
            pipe.send(
                (
                    "mark",
                    state.frames,
                    time.perf_counter(),
                    cpu.user + cpu.system,
                    state.closed,
                    dict(state.close_codes),
                )
            )
        elif command[0] in ("close", "eof"):
            break
    await asyncio.gather(*(ws.close() for ws in connections), return_exceptions=True)
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    pipe.close()
    with contextlib.suppress(Exception):
        conn.send(("closed",))


def client_process(conn: Connection, urls: list[str], rcvbuf: int) -> None:
    raise_fd_limit()
    asyncio.run(_clients(conn, urls, rcvbuf))


# --- the parent's handle ------------------------------------------------------------------------


class Child:
    """A helper process driven from the parent's asyncio loop over a pipe: it sends
    ("ready", ...) once up, then answers each command; ("close",) ends it."""

    def __init__(self, target: Any, args: tuple[Any, ...], name: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.parent, child = context.Pipe()
        self.process = context.Process(target=target, args=(child, *args), name=name, daemon=True)
        self.process.start()
        child.close()
        self.pipe: Pipe | None = None

    async def started(self, timeout: float) -> tuple[Any, ...]:
        """What the child's "ready" carried."""
        self.pipe = Pipe(self.parent)
        reply = await self.pipe.get(timeout)
        if reply[0] != "ready":
            raise RuntimeError(f"{self.process.name} process: {reply!r}")
        return tuple(reply[1:])

    async def call(self, *command: Any, timeout: float = 120) -> Any:
        assert self.pipe is not None
        self.pipe.send(command)
        return await self.pipe.get(timeout)

    async def close(self) -> None:
        if self.pipe is not None:
            with contextlib.suppress(Exception):
                self.pipe.send(("close",))
                await self.pipe.get(30)  # its answer, or the end of the pipe
            self.pipe.close()
        await asyncio.to_thread(self.process.join, 30)
        if self.process.is_alive():
            self.process.terminate()  # our own child, by its handle
            await asyncio.to_thread(self.process.join, 10)


class Clients(Child):
    """The client process, seen from the parent (whose asyncio loop runs the server)."""

    def __init__(self, urls: list[str], rcvbuf: int = 0) -> None:
        """`rcvbuf`: each connection's SO_RCVBUF in bytes (0: the kernel's autotuning)."""
        super().__init__(client_process, (urls, rcvbuf), "ws-clients")

    async def ready(self, timeout: float = 180) -> tuple[int, dict[str, int], float]:
        ready, failures, seconds = await self.started(timeout)
        return ready, failures, seconds
