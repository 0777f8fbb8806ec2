"""One suite, every key-value backend: what KeyValueStore's docstring promises, tested alike."""

from __future__ import annotations

import asyncio

import pytest

from agentgym.errors import (
    ConflictError,
    InvalidKeyError,
    KeyExistsError,
    KeyNotFoundError,
    ValueTooLargeError,
)
from agentgym.store import MAX_KEY_LENGTH, MAX_VALUE_BYTES, KeyValueStore, open_store

from .conftest import StoreFactory


async def test_get_of_missing_key_raises_not_found(store: KeyValueStore, prefix: str) -> None:
    with pytest.raises(KeyNotFoundError) as caught:
        await store.get(f"{prefix}missing")
    assert caught.value.key == f"{prefix}missing"


async def test_put_then_get_returns_value_and_revision(store: KeyValueStore, prefix: str) -> None:
    key = f"{prefix}a"
    revision = await store.put(key, b'{"x": 1}')
    entry = await store.get(key)
    assert (entry.key, entry.value, entry.revision) == (key, b'{"x": 1}', revision)
    assert revision > 0


async def test_every_write_raises_the_revision(store: KeyValueStore, prefix: str) -> None:
    key = f"{prefix}a"
    r1 = await store.create(key, b"1")
    r2 = await store.put(key, b"2")
    r3 = await store.update(key, b"3", r2)
    assert r1 < r2 < r3
    assert (await store.get(key)).value == b"3"


async def test_create_of_existing_key_is_a_conflict_with_its_revision(
    store: KeyValueStore, prefix: str
) -> None:
    key = f"{prefix}a"
    revision = await store.create(key, b"first")
    with pytest.raises(KeyExistsError) as caught:
        await store.create(key, b"second")
    assert caught.value.actual == revision
    assert (await store.get(key)).value == b"first"


async def test_update_with_stale_revision_says_current_and_changes_nothing(
    store: KeyValueStore, prefix: str
) -> None:
    key = f"{prefix}a"
    r1 = await store.create(key, b"1")
    r2 = await store.update(key, b"2", r1)
    with pytest.raises(ConflictError) as caught:
        await store.update(key, b"stale", r1)
    assert (caught.value.expected, caught.value.actual) == (r1, r2)
    assert (await store.get(key)).value == b"2"


async def test_update_of_missing_key_is_a_conflict_with_no_current_revision(
    store: KeyValueStore, prefix: str
) -> None:
    with pytest.raises(ConflictError) as caught:
        await store.update(f"{prefix}missing", b"x", 1)
    assert caught.value.actual is None


async def test_delete_removes_the_key(store: KeyValueStore, prefix: str) -> None:
    key = f"{prefix}a"
    await store.put(key, b"1")
    await store.delete(key)
    with pytest.raises(KeyNotFoundError):
        await store.get(key)
    assert await store.list(prefix) == []


async def test_delete_of_missing_key_raises_not_found(store: KeyValueStore, prefix: str) -> None:
    with pytest.raises(KeyNotFoundError):
        await store.delete(f"{prefix}missing")


async def test_delete_with_stale_revision_is_a_conflict_and_keeps_the_value(
    store: KeyValueStore, prefix: str
) -> None:
    key = f"{prefix}a"
    r1 = await store.put(key, b"1")
    r2 = await store.put(key, b"2")
    with pytest.raises(ConflictError) as caught:
        await store.delete(key, revision=r1)
    assert caught.value.actual == r2
    assert (await store.get(key)).value == b"2"
    await store.delete(key, revision=r2)
    with pytest.raises(KeyNotFoundError):
        await store.get(key)


async def test_recreated_key_never_reuses_a_revision(store: KeyValueStore, prefix: str) -> None:
    key = f"{prefix}a"
    old = await store.create(key, b"old")
    await store.delete(key)
    new = await store.create(key, b"new")
    assert new > old
    with pytest.raises(ConflictError):
        await store.update(key, b"stale writer", old)


async def test_list_by_prefix_returns_matching_entries_in_key_order(
    store: KeyValueStore, prefix: str
) -> None:
    for key in ("sessions/b", "sessions/a", "sessions/c/nested", "models/a", "sessionsX"):
        await store.put(f"{prefix}{key}", key.encode())
    await store.delete(f"{prefix}sessions/b")

    listed = await store.list(f"{prefix}sessions/")
    assert [e.key for e in listed] == [f"{prefix}sessions/a", f"{prefix}sessions/c/nested"]
    assert [e.value for e in listed] == [b"sessions/a", b"sessions/c/nested"]
    for entry in listed:
        assert entry.revision == (await store.get(entry.key)).revision

    partial = await store.list(f"{prefix}sessions")
    assert [e.key for e in partial] == [
        f"{prefix}sessions/a",
        f"{prefix}sessions/c/nested",
        f"{prefix}sessionsX",
    ]
    assert [e.key for e in await store.list(prefix)] == [
        f"{prefix}models/a",
        *(e.key for e in partial),
    ]
    assert await store.list(f"{prefix}nothing/") == []


async def test_values_are_bytes_exactly(store: KeyValueStore, prefix: str) -> None:
    value = bytes(range(256)) * 4
    await store.put(f"{prefix}bin", value)
    assert (await store.get(f"{prefix}bin")).value == value


async def test_empty_value_is_a_value(store: KeyValueStore, prefix: str) -> None:
    await store.create(f"{prefix}empty", b"")
    assert (await store.get(f"{prefix}empty")).value == b""
    assert [e.value for e in await store.list(prefix)] == [b""]


@pytest.mark.parametrize(
    "bad_key",
    ["", "/lead", "trail/", "a//b", "has space", "dot.ted", "star*", "gt>", "ü", "x" * 256],
)
async def test_invalid_keys_are_rejected_alike(
    store: KeyValueStore, prefix: str, bad_key: str
) -> None:
    key = bad_key if bad_key in ("", "/lead") or bad_key.startswith("x") else prefix + bad_key
    calls = (
        lambda: store.get(key),
        lambda: store.put(key, b"x"),
        lambda: store.create(key, b"x"),
        lambda: store.update(key, b"x", 1),
        lambda: store.delete(key),
    )
    for call in calls:
        with pytest.raises(InvalidKeyError):
            await call()


async def test_longest_key_is_accepted(store: KeyValueStore, prefix: str) -> None:
    key = prefix + "k" * (MAX_KEY_LENGTH - len(prefix))
    await store.put(key, b"1")
    assert (await store.get(key)).value == b"1"


async def test_oversized_value_is_rejected_and_stores_nothing(
    store: KeyValueStore, prefix: str
) -> None:
    with pytest.raises(ValueTooLargeError) as caught:
        await store.put(f"{prefix}big", b"x" * (MAX_VALUE_BYTES + 1))
    assert caught.value.limit == MAX_VALUE_BYTES
    with pytest.raises(KeyNotFoundError):
        await store.get(f"{prefix}big")
    await store.put(f"{prefix}big", b"x" * MAX_VALUE_BYTES)


async def test_two_connections_see_each_others_writes(
    store_factory: StoreFactory, prefix: str
) -> None:
    first, second = await store_factory.open(), await store_factory.open()
    try:
        revision = await first.create(f"{prefix}shared", b"1")
        assert (await second.get(f"{prefix}shared")).revision == revision
        await second.update(f"{prefix}shared", b"2", revision)
        assert (await first.get(f"{prefix}shared")).value == b"2"
    finally:
        await first.close()
        await second.close()


async def test_fifty_concurrent_increments_from_separate_connections_end_at_fifty(
    store_factory: StoreFactory, prefix: str
) -> None:
    key = f"{prefix}counter"
    shared = await store_factory.open()
    stores = [await store_factory.open() for _ in range(50)]
    await shared.create(key, b"0")
    conflicts = 0

    async def increment(store: KeyValueStore) -> None:
        nonlocal conflicts
        while True:
            entry = await store.get(key)
            try:
                await store.update(key, str(int(entry.value) + 1).encode(), entry.revision)
                return
            except ConflictError:
                conflicts += 1
                await asyncio.sleep(0)  # a yield, not a wait: let the other writers go on

    try:
        await asyncio.gather(*(increment(s) for s in stores))
        assert (await shared.get(key)).value == b"50"
    finally:
        for opened in [shared, *stores]:
            await opened.close()


async def test_unknown_scheme_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown store scheme"):
        await open_store("mongodb://localhost/x")
