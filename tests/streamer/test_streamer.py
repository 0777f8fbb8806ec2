"""The WebSocket feed: snapshot, history, live tail, no gap, no duplicate, slow-client safety."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import time
from urllib.parse import urlsplit

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from agentgym.nats_server import NatsServer
from agentgym.state import SessionStatus
from streamer.app import GC_YOUNG_THRESHOLD

from .conftest import StreamerFactory, Trainer


async def receive(ws: ClientConnection, count: int, timeout: float = 10) -> list[bytes]:
    frames = []
    async with asyncio.timeout(timeout):
        while len(frames) < count:
            frame = await ws.recv(decode=False)
            frames.append(frame)
    return frames


def seqs(frames: list[bytes]) -> list[int]:
    return [json.loads(f)["seq"] for f in frames]


async def test_an_unknown_session_is_closed_with_4404(streamers: StreamerFactory) -> None:
    async with streamers() as (url, _), connect(f"{url}/ws/training/session_nope") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4404 and "session_nope" in closed.value.rcvd.reason


async def test_snapshot_then_history_then_live_each_once_in_order(
    streamers: StreamerFactory, trainer: Trainer
) -> None:
    await trainer.publish(5)
    async with streamers() as (url, _), connect(f"{url}/ws/training/{trainer.session_id}") as ws:
        snapshot = json.loads(await ws.recv())
        assert (
            snapshot["type"] == "snapshot" and snapshot["data"]["session_id"] == trainer.session_id
        )
        history = await receive(ws, 5)
        await trainer.publish(5)
        live = await receive(ws, 5)
        assert history + live == trainer.sent  # byte for byte, as published
        with pytest.raises(TimeoutError):
            await receive(ws, 1, timeout=0.3)  # and nothing twice


async def test_since_resumes_after_a_reconnect_with_no_gap_and_no_duplicate(
    streamers: StreamerFactory, trainer: Trainer
) -> None:
    await trainer.publish(8)
    async with (
        streamers() as (url, _),
        connect(f"{url}/ws/training/{trainer.session_id}?since=6") as ws,
    ):
        await ws.recv()  # the snapshot
        await trainer.publish(2)
        assert seqs(await receive(ws, 4)) == [7, 8, 9, 10]


async def test_episodes_come_to_those_who_ask_replayed_then_live_in_order(
    streamers: StreamerFactory, trainer: Trainer
) -> None:
    await trainer.publish(3)
    await trainer.episodes(5)
    session = f"ws/training/{trainer.session_id}"
    async with (
        streamers() as (url, _),
        connect(f"{url}/{session}?since=1&episodes=1&episodes_since=2") as asked,
        connect(f"{url}/{session}") as plain,
    ):
        await asked.recv(), await plain.recv()  # the snapshots
        replayed = [json.loads(f) for f in await receive(asked, 5)]
        assert [(f["type"], f["seq"]) for f in replayed] == [
            ("training_update", 2), ("training_update", 3),
            ("episode", 3), ("episode", 4), ("episode", 5),
        ]  # fmt: skip
        await trainer.episodes(2)
        await trainer.publish(1)
        live = [json.loads(f) for f in await receive(asked, 3)]
        assert [(f["type"], f["seq"]) for f in live] == [
            ("episode", 6), ("episode", 7), ("training_update", 4),
        ]  # fmt: skip
        assert live[0]["data"] == {"episode": 6, "split": "train"}
        assert seqs(await receive(plain, 4)) == [1, 2, 3, 4]  # updates only
        with pytest.raises(TimeoutError):
            await receive(plain, 1, timeout=0.3)


async def test_a_bad_episodes_since_is_closed_with_4400(
    streamers: StreamerFactory, trainer: Trainer
) -> None:
    url_path = f"ws/training/{trainer.session_id}?episodes=1&episodes_since=-1"
    async with streamers() as (url, _), connect(f"{url}/{url_path}") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


async def test_updates_published_while_a_client_joins_are_neither_lost_nor_repeated(
    streamers: StreamerFactory, trainer: Trainer
) -> None:
    async with streamers() as (url, _):
        publishing = asyncio.create_task(trainer.publish(300))
        async with connect(f"{url}/ws/training/{trainer.session_id}") as ws:
            await ws.recv()
            await publishing
            frames = await receive(ws, 300)
    assert seqs(frames) == list(range(1, 301))


async def test_one_nats_subscription_per_watched_session_however_many_browsers(
    streamers: StreamerFactory, trainer: Trainer
) -> None:
    async with streamers() as (url, streamer):
        sockets = [await connect(f"{url}/ws/training/{trainer.session_id}") for _ in range(5)]
        for ws in sockets:
            await ws.recv()
        assert list(streamer.hub.sessions) == [trainer.session_id]
        assert streamer.metrics.sessions_watched == 1 and streamer.metrics.connections == 5
        await trainer.publish(3)
        for ws in sockets:
            assert seqs(await receive(ws, 3)) == [1, 2, 3]
        for ws in sockets:
            await ws.close()
        async with asyncio.timeout(5):
            while streamer.hub.sessions or streamer.metrics.connections:
                await asyncio.sleep(0.01)  # the streamer has no event for this: look again
        assert streamer.metrics.sessions_watched == 0


def stuck_client(url: str, path: str) -> socket.socket:
    """A browser that completes the handshake, then never reads again."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    assert sock.recv(4096).startswith(b"HTTP/1.1 101")
    return sock


async def test_a_client_that_stops_reading_does_not_delay_the_others(
    streamers: StreamerFactory, trainer: Trainer
) -> None:
    async with streamers() as (url, streamer):
        stuck = await asyncio.to_thread(stuck_client, url, f"/ws/training/{trainer.session_id}")
        try:
            async with connect(f"{url}/ws/training/{trainer.session_id}") as fast:
                await fast.recv()
                worst = 0.0
                for _ in range(40):  # ~40 x 16 KiB: far more than the stuck socket holds
                    sent = time.perf_counter()
                    await trainer.publish(1, padding=16 * 1024)
                    await fast.recv()
                    worst = max(worst, time.perf_counter() - sent)
                assert worst < 0.5  # the fast client never waits for the stuck one
                async with asyncio.timeout(20):  # until the kernel's buffers are full too
                    while streamer.metrics.slow_disconnects == 0:
                        await trainer.publish(1, padding=60 * 1024)
                        await fast.recv()
            assert streamer.metrics.drops > 0  # its backlog was conflated before it was closed
        finally:
            stuck.close()


async def test_a_client_left_behind_is_closed_even_when_the_session_goes_quiet(
    streamers: StreamerFactory, trainer: Trainer
) -> None:
    async with streamers(slow_client_timeout_s=0.5) as (url, streamer):
        stuck = await asyncio.to_thread(stuck_client, url, f"/ws/training/{trainer.session_id}")
        try:
            async with asyncio.timeout(20):  # until its frames queue: the kernel's buffers are full
                while trainer.session_id not in streamer.hub.sessions:
                    await asyncio.sleep(0.01)  # no event for a watch beginning: look again
                while not any(c.queue for c in streamer.hub.sessions[trainer.session_id].clients):
                    await trainer.publish(1, padding=60 * 1024)
            behind = time.perf_counter()  # nothing more is published
            async with asyncio.timeout(5):
                while streamer.metrics.slow_disconnects == 0:
                    await asyncio.sleep(0.05)  # no event for a disconnect: look again
            assert time.perf_counter() - behind >= 0.4  # it had its time to catch up
        finally:
            stuck.close()


async def test_status_changes_survive_conflation(
    streamers: StreamerFactory, trainer: Trainer
) -> None:
    """A slow client loses plain updates to conflation, never a status change."""
    async with streamers(queue_size=4, slow_client_timeout_s=30) as (url, streamer):
        parts = urlsplit(url)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)  # fills after a few frames
        sock.connect((parts.hostname, parts.port))
        async with connect(
            f"{url}/ws/training/{trainer.session_id}", sock=sock, max_queue=None
        ) as ws:
            await ws.recv()
            ws.transport.pause_reading()  # the browser stops reading for a while
            async with asyncio.timeout(30):
                while streamer.metrics.drops == 0:  # until the kernel's buffers are full too
                    await trainer.publish(1, padding=60 * 1024)
            await trainer.publish(1, status=SessionStatus.PAUSED)
            await trainer.publish(20, padding=60 * 1024)
            ws.transport.resume_reading()
            got = [json.loads(f) for f in await receive(ws, 1)]
            while got[-1]["seq"] < trainer.seq:
                got += [json.loads(f) for f in await receive(ws, 1)]
    received = [u["seq"] for u in got]
    assert received == sorted(received) and len(received) < trainer.seq  # conflated, in order
    assert "paused" in [u["data"]["status"] for u in got]  # the status change got through


async def test_the_dashboard_gets_every_session_then_every_status_change(
    streamers: StreamerFactory, trainer: Trainer
) -> None:
    async with streamers() as (url, _), connect(f"{url}/ws/training") as ws:
        sessions = json.loads(await ws.recv())
        assert sessions["type"] == "sessions"
        assert trainer.session_id in [s["session_id"] for s in sessions["data"]]
        event = await trainer.event(SessionStatus.COMPLETED)
        assert await ws.recv(decode=False) == event


async def test_the_collector_runs_rarely_while_serving_and_as_before_after(
    streamers: StreamerFactory,
) -> None:
    before = gc.get_threshold()
    async with streamers():
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
    assert gc.get_threshold() == before  # tests and embedders share the process


async def test_two_streamers_give_the_same_stream(
    streamers: StreamerFactory, trainer: Trainer
) -> None:
    await trainer.publish(3)
    async with (
        streamers() as (first, _),
        streamers() as (second, _),
        connect(f"{first}/ws/training/{trainer.session_id}") as a,
        connect(f"{second}/ws/training/{trainer.session_id}") as b,
    ):
        await a.recv()
        await b.recv()
        await trainer.publish(3)
        assert await receive(a, 6) == await receive(b, 6) == trainer.sent


async def test_a_nats_restart_keeps_browsers_connected_and_loses_no_update(
    streamers: StreamerFactory, trainer: Trainer, nats: NatsServer
) -> None:
    async with (
        streamers() as (url, streamer),
        connect(f"{url}/ws/training/{trainer.session_id}") as ws,
    ):
        await ws.recv()
        await trainer.publish(3)
        assert seqs(await receive(ws, 3)) == [1, 2, 3]
        nats.stop()
        nats.start()
        # Publish at once on a fresh connection, before the streamer is back: it must read
        # these back from JetStream when it reconnects.
        from agentgym import nats_client

        fresh = await nats_client.connect(nats.url, "test-fresh")
        trainer.js = fresh.jetstream()
        await trainer.publish(4)
        frames = await receive(ws, 4, timeout=20)
        await trainer.publish(2)
        frames += await receive(ws, 2)
        await fresh.close()
    assert seqs(frames) == [4, 5, 6, 7, 8, 9]
    assert streamer.metrics.gap_fills >= 1
