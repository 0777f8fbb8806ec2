"""Bounded retries: a publish that NATS never confirms gives up with an error naming its
subject, one that NATS confirms after a restart is stored once, and a compare-and-set that
keeps losing to another writer gives up without writing. Short bounds, passed in."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import stamina

from agentgym import nats_client, retries, subjects
from agentgym.contracts import TrainingStatus
from agentgym.errors import BusGaveUpError, KeyNotFoundError, TooManyWritersError
from agentgym.messages import TrainingUpdate
from agentgym.nats_server import NatsServer
from agentgym.records import SettingsRecord, modify
from agentgym.store import Entry, KeyValueStore, open_store
from trainer.publisher import Publisher

SHORT = retries.Bound(
    attempts=None, timeout_s=2.0, wait_initial_s=0.05, wait_max_s=0.2, wait_jitter_s=0.05
)
JS_TIMEOUT_S = 0.5  # each unconfirmed publish fails this fast, so the bound decides


def update(session_id: str, seq: int) -> TrainingUpdate:
    status = TrainingStatus(
        session_id=session_id,
        status="running",
        scenario_id="customer_support",
        framework="LangChain",
        current_episode=seq,
        max_episodes=100,
        learning_rate=0.001,
        seed=1,
    )
    return TrainingUpdate(session_id=session_id, seq=seq, data=status)


def test_retries_are_not_turned_off_or_into_single_attempts_in_tests() -> None:
    assert stamina.is_active()
    assert not stamina.is_testing()


def test_a_bound_must_end() -> None:
    with pytest.raises(ValueError, match="forever"):
        retries.Bound(None, None, 0.1, 1.0, 0.1)


async def test_a_publish_gives_up_after_its_bound_naming_the_subject_while_nats_stays_down(
    nats: NatsServer, unique: str
) -> None:
    client = await nats_client.connect(nats.url, "test-publisher")
    try:
        js = client.jetstream(timeout=JS_TIMEOUT_S)
        await subjects.ensure_streams(js)
        publisher = Publisher(js, SHORT)
        await publisher.update(update(unique, 1))  # NATS up: stored at once
        nats.stop()
        began = time.monotonic()
        with pytest.raises(BusGaveUpError) as failed:
            await publisher.update(update(unique, 2))
        took = time.monotonic() - began
        error = failed.value
        assert error.subject == subjects.metrics_subject(unique)
        assert subjects.metrics_subject(unique) in str(error) and "gave up" in str(error)
        assert error.attempts > 1  # it did retry
        assert SHORT.timeout_s is not None
        assert SHORT.timeout_s <= took < SHORT.timeout_s + JS_TIMEOUT_S + 1.0
        with pytest.raises(BusGaveUpError, match=subjects.metrics_subject(unique)):
            await publisher.last_seq(unique, 1)
    finally:
        await nats_client.close(client)


async def test_a_publish_rides_out_a_nats_restart_within_its_bound_and_is_stored_once(
    nats: NatsServer, unique: str
) -> None:
    client = await nats_client.connect(nats.url, "test-publisher")
    try:
        js = client.jetstream(timeout=JS_TIMEOUT_S)
        await subjects.ensure_streams(js)
        publisher = Publisher(js, retries.Bound(None, 30.0, 0.05, 0.5, 0.1))
        nats.stop()
        publishing = asyncio.create_task(publisher.update(update(unique, 1)))
        await asyncio.sleep(1.5)  # several unconfirmed tries
        assert not publishing.done()
        nats.start()  # same port, same data
        await asyncio.wait_for(publishing, 20)
        assert await publisher.last_seq(unique, 0) == 1
        info = await js.stream_info(
            subjects.TRAINING_STREAM, subjects_filter=subjects.metrics_subject(unique)
        )
        assert info.state.subjects == {subjects.metrics_subject(unique): 1}  # once, not twice
    finally:
        await nats_client.close(client)


class AlwaysBeaten:
    """A real store in which another writer always writes a key between a caller's read and
    its conditional write, `wins` times (None: every time)."""

    def __init__(self, inner: KeyValueStore, wins: int | None = None) -> None:
        self.inner = inner
        self.wins = wins
        self.updates = 0

    async def get(self, key: str) -> Entry:
        return await self.inner.get(key)

    async def create(self, key: str, value: bytes) -> int:
        return await self.inner.create(key, value)

    async def put(self, key: str, value: bytes) -> int:
        return await self.inner.put(key, value)

    async def update(self, key: str, value: bytes, revision: int) -> int:
        self.updates += 1
        if self.wins is None or self.updates <= self.wins:
            await self.inner.put(key, SettingsRecord(llmProvider=f"other-{self.updates}").dump())
        return await self.inner.update(key, value, revision)

    async def delete(self, key: str, revision: int | None = None) -> None:
        await self.inner.delete(key, revision)

    async def list(self, prefix: str = "") -> list[Entry]:
        return await self.inner.list(prefix)

    async def close(self) -> None:
        await self.inner.close()


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[KeyValueStore]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'kv.db'}"
    opened = await open_store(url)
    yield opened
    await opened.close()


CAS_SHORT = retries.Bound(
    attempts=8, timeout_s=10.0, wait_initial_s=0.001, wait_max_s=0.01, wait_jitter_s=0.005
)


async def test_modify_gives_up_under_a_writer_that_always_wins_and_writes_nothing(
    store: KeyValueStore, prefix: str
) -> None:
    key = f"{prefix}settings"
    await store.put(key, SettingsRecord().dump())
    beaten = AlwaysBeaten(store)
    with pytest.raises(TooManyWritersError) as failed:
        await modify(
            beaten,
            key,
            SettingsRecord,
            lambda s: s.model_copy(update={"llmProvider": "mine"}),
            CAS_SHORT,
        )
    assert failed.value.key == key
    assert failed.value.attempts == beaten.updates == CAS_SHORT.attempts
    assert "too many concurrent writers" in str(failed.value) and key in str(failed.value)
    assert (
        SettingsRecord.load((await store.get(key)).value).llmProvider == f"other-{beaten.updates}"
    )


async def test_modify_retries_a_lost_compare_and_set_on_the_latest_record(
    store: KeyValueStore, prefix: str
) -> None:
    key = f"{prefix}settings"
    await store.put(key, SettingsRecord().dump())
    beaten = AlwaysBeaten(store, wins=3)
    seen: list[str] = []

    def change(record: SettingsRecord) -> SettingsRecord:
        seen.append(record.llmProvider)
        return record.model_copy(update={"llmProvider": "mine"})

    written, _ = await modify(beaten, key, SettingsRecord, change, CAS_SHORT)
    assert written.llmProvider == "mine" and beaten.updates == 4
    assert seen[1:] == ["other-1", "other-2", "other-3"]  # each retry read the newer record
    assert SettingsRecord.load((await store.get(key)).value).llmProvider == "mine"


async def test_modify_does_not_retry_what_is_not_a_conflict(
    store: KeyValueStore, prefix: str
) -> None:
    calls = 0

    def change(record: SettingsRecord) -> SettingsRecord:
        nonlocal calls
        calls += 1
        raise RuntimeError("abort")

    key = f"{prefix}settings"
    await store.put(key, SettingsRecord().dump())
    with pytest.raises(RuntimeError, match="abort"):
        await modify(store, key, SettingsRecord, change, CAS_SHORT)
    assert calls == 1
    with pytest.raises(KeyNotFoundError):
        await modify(store, f"{prefix}absent", SettingsRecord, change, CAS_SHORT)


def test_a_locked_sqlite_setup_is_tried_again_and_any_other_error_raised_at_once() -> None:
    import sqlite3

    tries: list[str] = []

    def locked_twice() -> str:
        tries.append("try")
        if len(tries) < 3:
            raise sqlite3.OperationalError("database is locked")
        return "set up"

    assert retries.while_locked(locked_twice, SHORT) == "set up"
    assert len(tries) == 3

    def unreadable() -> None:
        tries.append("try")
        raise sqlite3.OperationalError("file is not a database")

    tries.clear()
    with pytest.raises(sqlite3.OperationalError, match="not a database"):
        retries.while_locked(unreadable, SHORT)
    assert len(tries) == 1
