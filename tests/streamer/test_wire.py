"""`write_frame`, the streamer's one write past websockets' `send()`, against the installed
websockets: real server and client connections, no app, no NATS.

If an upgrade of websockets changes what `write_frame` relies on (see its docstring), these
are the tests that say so, before a browser sees a corrupt stream.
"""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import websockets
from packaging.requirements import Requirement
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

from streamer.metrics import Metrics
from streamer.subscriber import WEBSOCKETS_MAJOR, Frame, Subscriber, write_frame

ROOT = Path(__file__).resolve().parents[2]
Handler = Callable[[ServerConnection], Awaitable[None]]


@asynccontextmanager
async def served(handler: Handler, **options: Any) -> AsyncIterator[str]:
    """A bare websockets server on a free port (no compression, as the streamer's) running
    `handler`, whose failure fails the test."""
    failures: list[BaseException] = []

    async def guarded(connection: ServerConnection) -> None:
        try:
            await handler(connection)
        except BaseException as exc:
            failures.append(exc)
            raise

    settings: dict[str, Any] = {"compression": None} | options
    async with serve(guarded, "127.0.0.1", 0, **settings) as server:
        yield f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    if failures:
        raise failures[0]


def raw(connection: ServerConnection, text: str) -> None:
    """Write `text` as the streamer does, checking first that websockets has nothing of its
    own pending: what `write_frame` relies on to never land inside another frame."""
    assert connection.protocol.writes == []
    assert write_frame(connection, Frame(text.encode()).wire)


async def received(ws: ClientConnection, count: int) -> list[str | bytes]:
    async with asyncio.timeout(10):
        return [await ws.recv() for _ in range(count)]


def test_the_installed_websockets_is_the_release_write_frame_was_written_for() -> None:
    assert int(websockets.version.version.split(".")[0]) == WEBSOCKETS_MAJOR
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (pin,) = [r for r in map(Requirement, project["dependencies"]) if r.name == "websockets"]
    # The pin admits this major release and no other, so no install can move it on unseen.
    assert f"{WEBSOCKETS_MAJOR}.0" in pin.specifier
    assert f"{WEBSOCKETS_MAJOR}.999" in pin.specifier
    assert f"{WEBSOCKETS_MAJOR - 1}.999" not in pin.specifier
    assert f"{WEBSOCKETS_MAJOR + 1}.0" not in pin.specifier


async def test_raw_frames_arrive_as_the_exact_messages_in_order_with_sent_ones_and_pings() -> None:
    big, medium, accented = (
        "x" * 70_000,
        "m" * 300,
        '{"note": "café ✓ 🚀"}',
    )  # 64-, 16-, 7-bit lengths

    async def handler(connection: ServerConnection) -> None:
        raw(connection, "raw 1")
        await connection.send("sent 1")
        raw(connection, big)
        pong = await connection.ping(b"server ping")  # the ping is in the socket on return
        raw(connection, medium)
        await asyncio.wait_for(pong, 10)  # the client read the ping between raw frames
        raw(connection, accented)
        await connection.send(b"sent 2 (binary)")
        raw(connection, "raw last")
        await connection.close(4000, "done")
        assert not write_frame(connection, Frame(b"after close").wire)  # nothing follows a close

    async with served(handler) as url, connect(url, compression=None) as ws:
        messages = await received(ws, 7)
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert messages == [
        "raw 1", "sent 1", big, medium, accented, b"sent 2 (binary)", "raw last",
    ]  # fmt: skip
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4000, "done")


async def test_raw_frames_and_websockets_own_pings_and_pongs_share_the_socket_intact() -> None:
    async def handler(connection: ServerConnection) -> None:
        pinged = asyncio.create_task(connection.recv())  # the client's pings were answered
        number = 0
        while not pinged.done() or connection.latency == 0:  # and a keepalive ping of ours
            raw(connection, f"update {number}")
            number += 1
            if number % 10 == 0:  # let keepalive pings out and the client's pings in
                await asyncio.sleep(0)
        assert await pinged == "pinged"
        raw(connection, "end")
        await connection.close()

    async with (
        served(handler, ping_interval=0.001, ping_timeout=10) as url,
        connect(url, compression=None, ping_interval=None) as ws,
    ):

        async def pinging() -> None:
            for _ in range(5):
                await asyncio.wait_for(await ws.ping(), 10)  # each pong came among raw frames
            await ws.send("pinged")

        pings = asyncio.create_task(pinging())
        messages = []
        async with asyncio.timeout(20):
            while (message := await ws.recv()) != "end":
                messages.append(message)
            await pings
        with pytest.raises(ConnectionClosedOK):
            await ws.recv()
    assert len(messages) > 10 and messages == [f"update {n}" for n in range(len(messages))]


async def test_a_client_refuses_a_connection_that_negotiated_compression() -> None:
    refused: list[str] = []

    async def handler(connection: ServerConnection) -> None:
        try:
            Subscriber(connection, Metrics(), queue_size=1, slow_timeout_s=1.0)
        except ValueError as exc:  # the frames written raw would not be compressed
            refused.append(str(exc))

    async with (
        served(handler, compression="deflate") as url,
        connect(url, compression="deflate") as ws,
    ):
        assert ws.protocol.extensions  # deflate was negotiated
        with pytest.raises(ConnectionClosedOK):
            await ws.recv()
    assert refused and "compression=None" in refused[0]
