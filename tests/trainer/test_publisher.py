"""Recorded episodes sent together: stored once each, in the order of their seqs, also when
NATS goes away in the middle of a batch (a real nats-server, stopped and started again)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from agentgym import history, nats_client, retries, subjects
from agentgym.nats_server import NatsServer
from trainer import publisher as publisher_module
from trainer.publisher import Publisher

SESSION = "session_batch"


def episode(number: int) -> bytes:
    return json.dumps({"episode": number, "split": "heldout"}).encode()


async def stored_seqs(js: object) -> list[int]:
    found, _, _ = await history.read_episodes(js, SESSION)  # type: ignore[arg-type]
    return [json.loads(message)["seq"] for message in found]


async def test_a_batch_is_stored_in_order_and_once(
    nats: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publisher_module, "BATCH", 4)  # several batches
    client = await nats_client.connect(nats.url, "test-publisher")
    try:
        js = client.jetstream()
        await subjects.ensure_streams(js)
        publisher = Publisher(js)
        await publisher.episode(SESSION, 1, episode(1))  # stored before: not stored again
        await publisher.episodes(SESSION, 1, [episode(n) for n in range(1, 11)])
        assert await stored_seqs(js) == list(range(1, 11))
        assert await publisher.last_episode(SESSION) == (10, 10)
        await publisher.episodes(SESSION, 11, [])  # nothing to store: nothing stored
        assert await publisher.last_episode(SESSION) == (10, 10)
    finally:
        await client.close()


async def test_a_batch_nats_did_not_confirm_is_sent_again_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publisher_module, "CONFIRM_S", 0.5)
    bound = retries.Bound(
        attempts=None, timeout_s=30, wait_initial_s=0.05, wait_max_s=0.2, wait_jitter_s=0.0
    )
    with NatsServer(tmp_path / "nats") as server:
        client = await nats_client.connect(server.url, "test-publisher")
        try:
            js = client.jetstream()
            await subjects.ensure_streams(js)
            publisher = Publisher(js, bound)
            await publisher.episodes(SESSION, 1, [episode(n) for n in range(1, 4)])
            server.stop()  # the next batch goes out to no one, and is not confirmed
            storing = asyncio.create_task(
                publisher.episodes(SESSION, 4, [episode(n) for n in range(4, 30)])
            )
            await asyncio.sleep(1.0)  # the batch times out; reading the stream waits for it
            assert not storing.done()
            server.start()
            await asyncio.wait_for(storing, 30)
            assert await stored_seqs(js) == list(range(1, 30))
        finally:
            await client.close()
