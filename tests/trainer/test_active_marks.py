"""A trainer clears a session's active mark when the session leaves it paused or ended."""

from __future__ import annotations

from typing import Any

from agentgym.records import Keys
from agentgym.store import open_store

from .conftest import WorkerFactory
from .test_worker import start, wait_for


async def test_a_completed_session_no_longer_counts_as_active(
    api: Any, workers: WorkerFactory, urls: dict[str, str]
) -> None:
    async with workers():
        session_id = await start(api, max_episodes=100, seed=1)
        await wait_for(api, session_id, lambda s: s["status"] == "completed")
    store = await open_store(urls["store_url"])
    try:
        assert await store.list(Keys().active) == []
    finally:
        await store.close()
