"""The `store` fixture: every key-value backend, each over a real server or file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agentgym.store import KeyValueStore, open_store
from agentgym.store.memory import MemoryStore

BACKENDS = ["memory", "sqlite", "nats", "dynamodb", "redis"]


@dataclass
class StoreFactory:
    """Opens new connections to one backend, so tests can use several at once.

    memory:// has no connections: every "connection" is the one process-local map.
    """

    url: str
    _memory: MemoryStore = field(default_factory=MemoryStore)

    async def open(self) -> KeyValueStore:
        if self.url == "memory://":
            return self._memory
        return await open_store(self.url)


def _url(backend: str, request: pytest.FixtureRequest, tmp_path: Path, unique: str) -> str:
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    if backend == "nats":
        return f"{request.getfixturevalue('nats_url')}/{unique}"
    if backend == "dynamodb":
        endpoint = request.getfixturevalue("aws_endpoint")
        return f"dynamodb://{unique}?region=us-east-1&endpoint_url={endpoint}"
    if backend == "redis":
        return f"{request.getfixturevalue('redis_url')}?namespace={unique}"
    raise AssertionError(backend)


@pytest.fixture(params=BACKENDS)
def store_factory(request: pytest.FixtureRequest, tmp_path: Path, unique: str) -> StoreFactory:
    return StoreFactory(_url(request.param, request, tmp_path, unique))


@pytest.fixture
async def store(store_factory: StoreFactory) -> AsyncIterator[KeyValueStore]:
    opened = await store_factory.open()
    try:
        yield opened
    finally:
        await opened.close()
