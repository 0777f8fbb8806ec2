"""`nats://host:port/bucket[?replicas=3]`: a JetStream key-value bucket (created when missing,
with that many copies on a cluster).

Keys map `/` to `.`, NATS' token separator, so listing `sessions/` is the subject filter
`sessions.>` rather than a scan of the bucket. Revisions are the bucket stream's sequence
numbers, which only grow, so a re-created key never reuses one.

Reads stay consistent (a get sees every write acknowledged before it). On one server (R1) a get
is a direct get: the server answers it from the stream with the raw message, and that costs
both sides a fraction of a JetStream API request (JSON in, JSON with base64 out) -- it is what
keeps a NATS-backed status read within 25% of an in-memory one. On a replicated bucket any
replica answers a direct get, possibly one that lags, so reads there go through the leader.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js.api import KeyValueConfig, StorageType
from nats.js.client import KV_PRE_TEMPLATE, KV_STREAM_TEMPLATE
from nats.js.kv import KeyValue

from agentgym import nats_client, retries
from agentgym.errors import (
    ConflictError,
    InvalidURLError,
    KeyExistsError,
    KeyNotFoundError,
    StoreUnavailableError,
)
from agentgym.store.base import MAX_VALUE_BYTES, Entry, check_key, check_prefix, check_value

DEFAULT_BUCKET = "agentgym"
_UNAVAILABLE = nats_client.UNAVAILABLE


GET_TIMEOUT_S = 5.0  # as nats-py's JetStream requests
_DELETED = ("DEL", "PURGE")  # KV-Operation of a tombstone

# JetStream's "wrong last sequence" error codes: a compare-and-set lost.
_WRONG_LAST_SEQUENCE = (10071, 10164)


def _lost_race(exc: nats.js.errors.APIError) -> bool:
    # kv.update maps these codes to KeyWrongLastSequenceError; kv.delete does not.
    return isinstance(exc, nats.js.errors.KeyWrongLastSequenceError) or (
        exc.err_code in _WRONG_LAST_SEQUENCE
    )


class _RacedWrite(ConflictError):
    """An unconditional delete lost to a write: it is tried again on the newer value."""


def _subject_key(key: str) -> str:
    return key.replace("/", ".")


def _store_key(subject_key: str) -> str:
    return subject_key.replace(".", "/")


@asynccontextmanager
async def _reachable() -> AsyncIterator[None]:
    try:
        yield
    except _UNAVAILABLE as exc:
        raise StoreUnavailableError("nats", str(exc) or type(exc).__name__) from exc


class NatsKVStore:
    def __init__(self, client: Client, bucket: str, kv: KeyValue, *, direct: bool) -> None:
        self._client = client
        self._kv = kv
        # `$JS.API.DIRECT.GET.<stream>.<subject>` answers with the subject's last message.
        stream, pre = (
            KV_STREAM_TEMPLATE.format(bucket=bucket),
            KV_PRE_TEMPLATE.format(bucket=bucket),
        )
        self._direct_get = f"$JS.API.DIRECT.GET.{stream}.{pre}" if direct else None

    @classmethod
    async def connect(cls, url: str) -> NatsKVStore:
        parts = urlsplit(url)
        bucket = parts.path.strip("/") or DEFAULT_BUCKET
        query = dict(parse_qsl(parts.query))
        replicas = int(query.get("replicas", "1"))
        try:
            client = await nats_client.connect(url, name="agentgym-store")
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError("nats", f"cannot connect to {parts.hostname}") from exc
        try:
            kv, direct = await cls._open_bucket(client, bucket, replicas)
            return cls(client, bucket, kv, direct=direct)
        except BaseException:
            await nats_client.close(client)
            raise

    @staticmethod
    async def _open_bucket(client: Client, bucket: str, replicas: int) -> tuple[KeyValue, bool]:
        """The bucket, and whether its gets may be direct (one copy that allows them)."""
        js = client.jetstream()
        stream = KV_STREAM_TEMPLATE.format(bucket=bucket)
        async with _reachable():
            try:
                config = (await js.stream_info(stream)).config
                direct = bool(config.allow_direct) and (config.num_replicas or 1) == 1
            except nats.js.errors.NotFoundError:
                direct = replicas == 1
                await js.create_key_value(
                    KeyValueConfig(
                        bucket=bucket,
                        history=1,
                        storage=StorageType.FILE,
                        max_value_size=MAX_VALUE_BYTES,
                        direct=direct,
                        replicas=replicas,
                    )
                )
            except nats.js.errors.InvalidBucketNameError as exc:
                raise InvalidURLError(bucket, "a bucket name is letters, digits, - or _") from exc
        kv = KeyValue(
            name=bucket,
            stream=stream,
            pre=KV_PRE_TEMPLATE.format(bucket=bucket),
            js=js,
            direct=False,
        )
        return kv, direct

    async def _find(self, key: str) -> Entry | None:
        """The key's current entry, or None; raises nats' own errors."""
        if self._direct_get is None:
            try:
                found = await self._kv.get(_subject_key(key))
            except nats.js.errors.KeyNotFoundError:
                return None
            return Entry(key, found.value or b"", int(found.revision or 0))
        reply = await self._client.request(
            self._direct_get + _subject_key(key), b"", timeout=GET_TIMEOUT_S
        )
        headers = reply.headers or {}
        if headers.get("KV-Operation") in _DELETED or headers.get("Status") == "404":
            return None
        if "Status" in headers:  # not an answer about the key (a 408, a 503...)
            raise StoreUnavailableError("nats", f"direct get answered {headers['Status']}")
        return Entry(key, reply.data, int(headers["Nats-Sequence"]))

    async def _revision(self, key: str) -> int | None:
        found = await self._find(key)
        return found.revision if found else None

    async def get(self, key: str) -> Entry:
        check_key(key)
        async with _reachable():
            found = await self._find(key)
        if found is None:
            raise KeyNotFoundError(key)
        return found

    async def create(self, key: str, value: bytes) -> int:
        value = check_value(check_key(key), value)
        async with _reachable():
            try:
                return int(await self._kv.create(_subject_key(key), value))
            except nats.js.errors.KeyWrongLastSequenceError:
                raise KeyExistsError(key, await self._revision(key)) from None

    async def put(self, key: str, value: bytes) -> int:
        value = check_value(check_key(key), value)
        async with _reachable():
            return int(await self._kv.put(_subject_key(key), value))

    async def update(self, key: str, value: bytes, revision: int) -> int:
        value = check_value(check_key(key), value)
        async with _reachable():
            try:
                return int(await self._kv.update(_subject_key(key), value, last=revision))
            except nats.js.errors.KeyWrongLastSequenceError:
                raise ConflictError(key, revision, await self._revision(key)) from None

    async def delete(self, key: str, revision: int | None = None) -> None:
        check_key(key)

        async def once() -> None:
            expected = revision if revision is not None else await self._revision(key)
            if expected is None:
                raise KeyNotFoundError(key)
            try:
                await self._kv.delete(_subject_key(key), last=expected)
            except nats.js.errors.APIError as exc:
                if not _lost_race(exc):
                    raise
                current = await self._revision(key)
                if current is None:
                    raise KeyNotFoundError(key) from None
                if revision is not None:
                    raise ConflictError(key, revision, current) from None
                # An unconditional delete raced a write: delete the newer value (again, up
                # to retries.CAS; then TooManyWritersError).
                raise _RacedWrite(key, expected, current) from None

        async with _reachable():
            await retries.compare_and_set(key, once, on=_RacedWrite)

    async def list(self, prefix: str = "") -> list[Entry]:
        check_prefix(prefix)
        # Filter on the whole segments of the prefix; the partial last one is checked here.
        whole = prefix[: prefix.rfind("/") + 1]
        subject_filter = _subject_key(whole) + ">"
        entries: list[Entry] = []
        async with _reachable():
            watcher = await self._kv.watch(subject_filter, ignore_deletes=True)
            try:
                async for found in self._updates(watcher):
                    key = _store_key(found.key)
                    if key.startswith(prefix):
                        entries.append(Entry(key, found.value or b"", int(found.revision or 0)))
            finally:
                await watcher.stop()  # type: ignore[no-untyped-call]
        return sorted(entries, key=lambda e: e.key)

    @staticmethod
    async def _updates(watcher: Any) -> AsyncIterator[Any]:
        # A watcher first replays the current value of every matching key, then sends None.
        async for found in watcher:
            if found is None:
                return
            yield found

    async def close(self) -> None:
        await nats_client.close(self._client)
