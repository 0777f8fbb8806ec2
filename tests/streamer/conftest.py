"""A streamer on a free port over a real nats-server and SQLite, and a trainer's publisher."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client as Nats

from agentgym import nats_client, subjects
from agentgym.config import StreamerSettings
from agentgym.messages import StatusEvent, TrainingUpdate
from agentgym.nats_server import NatsServer
from agentgym.records import Keys, SessionRecord
from agentgym.state import SessionStatus
from agentgym.store import KeyValueStore, open_store
from streamer.app import Streamer
from trainer.publisher import Publisher

from ..inprocess import running_streamer


@pytest.fixture
def settings(tmp_path: Path, nats: NatsServer) -> StreamerSettings:
    return StreamerSettings(
        data_dir=tmp_path,
        nats_url=nats.url,
        store_url=f"sqlite:///{tmp_path / 'agentgym.db'}",
        queue_size=32,
        slow_client_timeout_s=1.0,
    )


@pytest.fixture
async def store(settings: StreamerSettings) -> AsyncIterator[KeyValueStore]:
    opened = await open_store(settings.store_url)
    yield opened
    await opened.close()


StreamerFactory = Callable[..., Any]


@pytest.fixture
def streamers(settings: StreamerSettings) -> StreamerFactory:
    """`async with streamers() as url:` a streamer serving at ws://127.0.0.1:<port>."""

    def start(**overrides: Any) -> AbstractAsyncContextManager[tuple[str, Streamer]]:
        return running_streamer(settings.model_copy(update=overrides))

    return start


class Trainer:
    """Publishes as a trainer does: the session record, numbered updates, status events."""

    def __init__(self, nats: Nats, store: KeyValueStore, session_id: str) -> None:
        self.nats = nats
        self.js = nats.jetstream()
        self.store = store
        self.session_id = session_id
        self.seq = 0
        self.record = SessionRecord(
            session_id=session_id, scenario_id="customer_support", framework="LangChain",
            status="running", max_episodes=1000, learning_rate=0.001, seed=1,
        )  # fmt: skip
        self.sent: list[bytes] = []
        self.episode_seq = 0

    async def register(self) -> None:
        await self.store.put(Keys().session(self.session_id), self.record.dump())

    def next_update(self, status: SessionStatus | None = None, padding: int = 0) -> bytes:
        self.seq += 1
        self.record.current_episode += 1
        if status is not None:
            self.record.status = status
        data = self.record.status_view()
        if padding:
            data.error = "x" * padding  # a bigger frame, to fill slow sockets quickly
        payload = TrainingUpdate(session_id=self.session_id, seq=self.seq, data=data).encode()
        self.sent.append(payload)
        return payload

    async def publish(
        self, count: int = 1, status: SessionStatus | None = None, padding: int = 0
    ) -> None:
        for _ in range(count):
            payload = self.next_update(status, padding)
            await self.js.publish(subjects.metrics_subject(self.session_id), payload)

    async def episodes(self, count: int) -> None:
        """Record `count` episodes, as a trainer's publisher does."""
        publisher = Publisher(self.js)
        for _ in range(count):
            self.episode_seq += 1
            data = json.dumps({"episode": self.episode_seq, "split": "train"}).encode()
            await publisher.episode(self.session_id, self.episode_seq, data)

    async def event(self, status: SessionStatus) -> bytes:
        payload = StatusEvent(session_id=self.session_id, status=status).encode()
        await self.js.publish(subjects.events_subject(self.session_id), payload)
        return payload


@pytest.fixture
async def trainer_nats(nats: NatsServer) -> AsyncIterator[Nats]:
    client = await nats_client.connect(nats.url, "test-trainer")
    await subjects.ensure_streams(client.jetstream())
    yield client
    await client.close()


@pytest.fixture
async def trainer(trainer_nats: Nats, store: KeyValueStore, unique: str) -> Trainer:
    trainer = Trainer(trainer_nats, store, f"session_{unique}")
    await trainer.register()
    return trainer
