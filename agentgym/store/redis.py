"""`redis://host:port/db[?namespace=agentgym]`: Redis, each write one atomic Lua script.

Layout under a namespace `ns` (one hash tag, so a Redis Cluster keeps it in one slot):
`{ns}:kv:<key>` a hash of value `v` and revision `r`; `{ns}:rev` the revision counter shared
by all keys (a re-created key never reuses a revision); `{ns}:keys` a sorted set of the keys,
read by lexical range for prefix listings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import redis.asyncio as aioredis
import redis.exceptions

from agentgym.errors import ConflictError, KeyExistsError, KeyNotFoundError, StoreUnavailableError
from agentgym.store.base import Entry, check_key, check_prefix, check_value

DEFAULT_NAMESPACE = "agentgym"
_ABSENT = -1  # what the scripts return for "no revision" (a Lua nil would cut the reply short)

# KEYS: item, counter, index.  ARGV: key, value[, expected revision].  Reply: {ok, revision}.
_WRITE = """
local current = redis.call('HGET', KEYS[1], 'r')
local mode = ARGV[3]
if mode == 'create' and current then return {0, tonumber(current)} end
if mode == 'update' and ((not current) or tonumber(current) ~= tonumber(ARGV[4])) then
  return {0, current and tonumber(current) or -1}
end
local revision = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', revision)
redis.call('ZADD', KEYS[3], 0, ARGV[1])
return {1, revision}
"""
# KEYS: item, index.  ARGV: key, expected revision or ''.
_DELETE = """
local current = redis.call('HGET', KEYS[1], 'r')
if not current then return {0, -1} end
if ARGV[2] ~= '' and tonumber(current) ~= tonumber(ARGV[2]) then
  return {0, tonumber(current)}
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return {1, tonumber(current)}
"""
# KEYS: index.  ARGV: range min, range max, item key prefix.  Reply: key, value, revision, ...
_LIST = """
local out = {}
for _, key in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2])) do
  local found = redis.call('HMGET', ARGV[3] .. key, 'v', 'r')
  if found[2] then
    table.insert(out, key); table.insert(out, found[1]); table.insert(out, found[2])
  end
end
return out
"""


@asynccontextmanager
async def _reachable() -> AsyncIterator[None]:
    try:
        yield
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        raise StoreUnavailableError("redis", str(exc)) from exc


def _revision(reply: int) -> int | None:
    return None if reply == _ABSENT else int(reply)


class RedisStore:
    def __init__(self, client: aioredis.Redis, namespace: str) -> None:
        self._client = client
        tag = "{" + namespace + "}"
        self._item_prefix = f"{tag}:kv:"
        self._counter = f"{tag}:rev"
        self._index = f"{tag}:keys"
        self._write = client.register_script(_WRITE)
        self._delete = client.register_script(_DELETE)
        self._list = client.register_script(_LIST)

    @classmethod
    async def connect(cls, url: str) -> RedisStore:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        namespace = query.pop("namespace", DEFAULT_NAMESPACE)
        client = aioredis.Redis.from_url(parts._replace(query=urlencode(query)).geturl())
        async with _reachable():
            await client.ping()
        return cls(client, namespace)

    async def _run_write(self, key: str, value: bytes, mode: str, expected: int = 0) -> list[Any]:
        async with _reachable():
            reply: list[Any] = await self._write(
                keys=[self._item_prefix + key, self._counter, self._index],
                args=[key, value, mode, expected],
            )
        return reply

    async def get(self, key: str) -> Entry:
        check_key(key)
        async with _reachable():
            value, revision = await self._client.hmget(self._item_prefix + key, ["v", "r"])
        if revision is None:
            raise KeyNotFoundError(key)
        assert isinstance(value, bytes)  # the client does not decode responses
        return Entry(key, value, int(revision))

    async def create(self, key: str, value: bytes) -> int:
        ok, revision = await self._run_write(key, check_value(check_key(key), value), "create")
        if not ok:
            raise KeyExistsError(key, _revision(revision))
        return int(revision)

    async def put(self, key: str, value: bytes) -> int:
        _, revision = await self._run_write(key, check_value(check_key(key), value), "put")
        return int(revision)

    async def update(self, key: str, value: bytes, revision: int) -> int:
        value = check_value(check_key(key), value)
        ok, current = await self._run_write(key, value, "update", revision)
        if not ok:
            raise ConflictError(key, revision, _revision(current))
        return int(current)

    async def delete(self, key: str, revision: int | None = None) -> None:
        check_key(key)
        async with _reachable():
            ok, current = await self._delete(
                keys=[self._item_prefix + key, self._index],
                args=[key, "" if revision is None else revision],
            )
        if not ok:
            if current == _ABSENT:
                raise KeyNotFoundError(key)
            raise ConflictError(key, revision, int(current))

    async def list(self, prefix: str = "") -> list[Entry]:
        check_prefix(prefix)
        # Keys are ASCII, so every key with the prefix sorts below prefix + 0xff.
        low, high = (f"[{prefix}", f"[{prefix}\xff") if prefix else ("-", "+")
        async with _reachable():
            flat = await self._list(keys=[self._index], args=[low, high, self._item_prefix])
        return [
            Entry(flat[i].decode(), flat[i + 1], int(flat[i + 2])) for i in range(0, len(flat), 3)
        ]

    async def close(self) -> None:
        await self._client.aclose()
