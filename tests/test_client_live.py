"""`agentgym.client` against the whole system: a trainer and the streamer in this event loop,
the API under uvicorn, all requiring an API key. `wait()` sees a session through to its end;
`watch()` hands on every update once, in order, across connections dropped for real (the
streamer's side of the socket aborted, or closed as at a shutdown), straight from the
streamer and through the API's relay."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

from agentgym.auth import hash_key, new_key
from agentgym.client import (
    AsyncClient,
    Client,
    NotFound,
    SessionEndedError,
    Snapshot,
    Unauthorized,
)
from agentgym.config import ApiSettings, StreamerSettings, TrainerSettings
from agentgym.messages import TrainingUpdate
from agentgym.nats_server import NatsServer
from functions.app import build
from functions.resources import Resources
from streamer.app import Streamer

from .inprocess import running_streamer, running_worker
from .servers import serve_asgi

KEY = new_key()
WAIT_S = 120.0
# Long enough that a drop after a few updates lands while it trains, with an update every
# 20 ms: several dozen frames in all.
LONG_EPISODES = 2000


@pytest.fixture
def urls(tmp_path: Path) -> Iterator[dict[str, Any]]:
    with NatsServer(tmp_path / "nats") as nats:
        yield {
            "data_dir": tmp_path,
            "nats_url": nats.url,
            "store_url": f"sqlite:///{tmp_path / 'agentgym.db'}",
            "artifacts_url": f"file://{tmp_path / 'artifacts'}",
            "auth": "apikey",
            "api_keys": f"acme:{hash_key(KEY)}",
        }


@pytest.fixture
async def system(urls: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """A trainer, the streamer, and the API relaying /ws/* to that streamer."""
    trainer = TrainerSettings(**urls, update_interval_s=0.02, status_interval_s=0.2)
    async with (
        running_worker(trainer),
        running_streamer(StreamerSettings(**urls)) as (ws, streamer),
    ):
        with serve_asgi(build(Resources(ApiSettings(**urls, streamer_url=ws)))) as api:
            async with AsyncClient(api, KEY) as client:
                yield {"api": api, "ws": ws, "streamer": streamer, "client": client}


async def drop(streamer: Streamer, how: str) -> set[ServerConnection]:
    """End every connection the streamer holds, from its side: `abort` resets the TCP
    connection (no close frame, as when a host or the network goes), `close` sends 1001 as a
    streamer that shuts down does. The connections dropped."""
    assert streamer.server is not None
    connections = set(streamer.server.connections)
    assert connections, "nothing to drop"
    for connection in connections:
        if how == "abort":
            connection.transport.abort()
    if how == "close":
        await asyncio.gather(*(c.close(1001, "going away") for c in connections))
    return connections


def assert_every_update_once_in_order(seqs: list[int], recorded: list[TrainingUpdate]) -> None:
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    assert seqs == [update.seq for update in recorded]  # what the session published, all of it


async def test_wait_sees_a_session_complete_and_refuses_another_ending(
    system: dict[str, Any],
) -> None:
    client: AsyncClient = system["client"]
    session_id = (await client.training.start("customer_support", max_episodes=300)).session_id
    done = await client.training.wait(session_id, "completed", timeout=WAIT_S, poll=0.05)
    assert done.status == "completed" and done.current_episode == 300 and done.model_id
    with pytest.raises(SessionEndedError) as ended:
        await client.training.wait(session_id, ["paused", "failed"], timeout=5)
    assert ended.value.status.status == "completed"
    scores = await client.models.evaluate(done.model_id)
    assert scores.model_id == done.model_id and scores.tasks > 0
    assert scores.confusion and scores.per_intent and scores.mean_calls > 0
    heldout = await client.training.episodes(session_id, split="heldout", limit=3)
    assert len(heldout.episodes) == 3 and {e.split for e in heldout.episodes} == {"heldout"}
    assert heldout.next == heldout.episodes[-1].seq
    first = heldout.episodes[0]
    assert await client.training.episode(session_id, first.seq) == first
    report = await client.training.evaluation(session_id)
    assert report.episode == 300 and report.tasks == scores.tasks
    decision = await client.models.act(done.model_id, first.text)
    assert decision.plan and decision.next == decision.plan[0]
    after = await client.models.act(done.model_id, first.text, [decision.next])
    assert after.plan == decision.plan[1:]

    def in_a_thread() -> str:  # the sync client, off this loop (the trainer runs on it)
        with Client(system["api"], KEY) as sync:
            return str(sync.training.wait(session_id, "completed", timeout=5).status)

    assert await asyncio.to_thread(in_a_thread) == "completed"


@pytest.mark.parametrize("how", ["abort", "close"])
async def test_async_watch_yields_every_update_once_across_dropped_connections(
    system: dict[str, Any], how: str
) -> None:
    client: AsyncClient = system["client"]
    session_id = (
        await client.training.start("customer_support", max_episodes=LONG_EPISODES)
    ).session_id
    frames: list[Snapshot | TrainingUpdate] = []
    dropped: list[set[ServerConnection]] = []
    async with contextlib.aclosing(client.training.watch(session_id, url=system["ws"])) as feed:
        async for frame in feed:
            frames.append(frame)
            if isinstance(frame, TrainingUpdate) and frame.seq in (3, 6):
                assert frame.data.status == "running"  # mid-way, not at the end
                dropped.append(await drop(system["streamer"], how))
    assert isinstance(frames[0], Snapshot) and frames[0].session_id == session_id
    assert not any(isinstance(f, Snapshot) for f in frames[1:])  # not one per reconnection
    updates = [f for f in frames if isinstance(f, TrainingUpdate)]
    assert updates[-1].data.status == "completed" and updates[-1].seq > 6
    assert_every_update_once_in_order(
        [u.seq for u in updates], await client.training.updates(session_id)
    )
    assert len(dropped) == 2 and not dropped[0] & dropped[1]  # the second was a new connection


async def test_sync_watch_through_the_api_relay_reconnects_without_a_gap(
    system: dict[str, Any],
) -> None:
    client: AsyncClient = system["client"]
    session_id = (
        await client.training.start("customer_support", max_episodes=LONG_EPISODES)
    ).session_id
    at_third, dropped = threading.Event(), threading.Event()

    def watch() -> list[Snapshot | TrainingUpdate]:
        frames: list[Snapshot | TrainingUpdate] = []
        with Client(system["api"], KEY) as sync:  # no url: the API's port relays the feed
            for frame in sync.training.watch(session_id):
                frames.append(frame)
                if isinstance(frame, TrainingUpdate) and frame.seq == 3:
                    at_third.set()
                    assert dropped.wait(WAIT_S)  # the rest comes over a new connection
        return frames

    watching = asyncio.create_task(asyncio.to_thread(watch))
    assert await asyncio.to_thread(at_third.wait, WAIT_S)
    status = await client.training.status(session_id)
    assert status.status == "running"
    await drop(system["streamer"], "abort")  # the relay's upstream: it closes ours with 1013
    dropped.set()
    frames = await asyncio.wait_for(watching, WAIT_S)
    assert isinstance(frames[0], Snapshot)
    updates = [f for f in frames if isinstance(f, TrainingUpdate)]
    assert updates[-1].data.status == "completed"
    assert_every_update_once_in_order(
        [u.seq for u in updates], await client.training.updates(session_id)
    )


async def test_watch_of_an_ended_session_replays_it_and_stops(system: dict[str, Any]) -> None:
    client: AsyncClient = system["client"]
    session_id = (await client.training.start("customer_support", max_episodes=300)).session_id
    await client.training.wait(session_id, "completed", timeout=WAIT_S, poll=0.05)
    recorded = await client.training.updates(session_id)
    frames = [frame async for frame in client.training.watch(session_id, url=system["ws"])]
    assert isinstance(frames[0], Snapshot) and frames[0].data.status == "completed"
    assert frames[1:] == recorded
    later = [f async for f in client.training.watch(session_id, since=recorded[-1].seq)]
    assert len(later) == 1 and isinstance(later[0], Snapshot)  # nothing after: done at once


async def test_watch_refusals_raise_and_are_not_retried(system: dict[str, Any]) -> None:
    client: AsyncClient = system["client"]
    session_id = (await client.training.start("customer_support", max_episodes=300)).session_id
    async with AsyncClient(system["api"], "agk_wrong") as stranger:
        with pytest.raises(Unauthorized) as refused:
            async for _ in stranger.training.watch(session_id, url=system["ws"]):
                pass
    assert refused.value.status == 401
    with pytest.raises(NotFound):
        async for _ in client.training.watch("session_" + "0" * 24, url=system["ws"]):
            pass
