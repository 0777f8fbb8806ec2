"""A worker leaves nothing open: whatever fails at start, every NATS connection it opened is
closed; and at a stop it drains and returns promptly, well within NATS' drain timeout."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client
from nats.js.errors import APIError

from agentgym import nats_client
from agentgym.config import TrainerSettings
from agentgym.errors import InvalidURLError
from trainer.worker import Worker

from ..inprocess import start_worker, stop_worker
from .conftest import TRAINER_DEFAULTS


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Client]:
    """Every NATS client a worker opens (through the one way every process connects)."""
    clients: list[Client] = []
    connect = nats_client.connect

    async def spy(*args: Any, **kwargs: Any) -> Client:
        client = await connect(*args, **kwargs)
        clients.append(client)
        return client

    monkeypatch.setattr(nats_client, "connect", spy)
    return clients


def settings(urls: dict[str, str], tmp_path: Path, **overrides: Any) -> TrainerSettings:
    return TrainerSettings(data_dir=tmp_path, **(urls | TRAINER_DEFAULTS | overrides))


async def test_a_worker_whose_store_cannot_open_leaves_no_nats_connection(
    urls: dict[str, str], tmp_path: Path, opened: list[Client]
) -> None:
    worker = Worker(settings(urls, tmp_path, store_url="bogus://nowhere"))
    with pytest.raises(InvalidURLError):
        await worker.run(asyncio.Event())
    assert all(client.is_closed for client in opened), opened


async def test_a_worker_that_fails_after_connecting_closes_its_connection(
    urls: dict[str, str], tmp_path: Path, opened: list[Client]
) -> None:
    # Three copies of a stream on a single server: the stream setup fails after connecting.
    worker = Worker(settings(urls, tmp_path, nats_replicas=3))
    with pytest.raises(APIError, match="replicas"):
        await worker.run(asyncio.Event())
    assert opened and all(client.is_closed for client in opened), opened


async def test_a_stopped_worker_drains_and_returns_promptly(
    urls: dict[str, str], tmp_path: Path, opened: list[Client]
) -> None:
    worker = Worker(settings(urls, tmp_path))
    stop = asyncio.Event()
    running = await start_worker(worker, stop)
    # Kept: time is the point. Idle for a while, it has made a few empty fetches (one waits
    # up to FETCH_WAIT_S), and one is in flight when the stop comes.
    await asyncio.sleep(2.5)
    began = time.monotonic()
    await stop_worker(worker, stop, running)
    assert time.monotonic() - began < nats_client.DRAIN_TIMEOUT_S / 2
    assert opened and all(client.is_closed for client in opened), opened
