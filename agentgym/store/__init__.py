"""Key-value stores, chosen by URL.

| URL | backend |
|---|---|
| `memory://` | process-local dict (tests) |
| `sqlite:///relative/path.db`, `sqlite:////absolute/path.db` | SQLite file (local default) |
| `nats://[user:pass@]host:port/bucket` | NATS JetStream KV bucket (created if missing) |
| `dynamodb://table?region=eu-west-1[&endpoint_url=http://...]` | DynamoDB table (created if missing) |
| `redis://[:password@]host:port/db[?namespace=agentgym]` | Redis, compare-and-set in Lua |
"""

from __future__ import annotations

from urllib.parse import urlsplit

from agentgym.errors import InvalidURLError
from agentgym.store.base import (
    MAX_KEY_LENGTH,
    MAX_VALUE_BYTES,
    Entry,
    KeyValueStore,
    check_key,
)

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_VALUE_BYTES",
    "Entry",
    "KeyValueStore",
    "check_key",
    "open_store",
]

SCHEMES = ("memory", "sqlite", "nats", "dynamodb", "redis")


async def open_store(url: str) -> KeyValueStore:
    """Open (and connect) the store a URL names. Backends are imported only when used."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from agentgym.store.memory import MemoryStore

        return MemoryStore()
    if scheme == "sqlite":
        from agentgym.store.sqlite import SqliteStore

        return SqliteStore.from_url(url)
    if scheme == "nats":
        from agentgym.store.nats import NatsKVStore

        return await NatsKVStore.connect(url)
    if scheme == "dynamodb":
        from agentgym.store.dynamodb import DynamoDBStore

        return DynamoDBStore.from_url(url)
    if scheme == "redis":
        from agentgym.store.redis import RedisStore

        return await RedisStore.connect(url)
    raise InvalidURLError(url, f"unknown store scheme; use one of {', '.join(SCHEMES)}")
