"""The NATS backend reads by direct get where that is consistent, and through the leader else.

A new one-server bucket allows direct gets; a bucket that does not (made by an older version,
or replicated, where a lagging replica could answer) is read through the stream leader. Both
kinds must read what was written, see deletes, and keep revisions growing.
"""

from __future__ import annotations

import nats
import pytest
from nats.js.api import KeyValueConfig

from agentgym.errors import KeyNotFoundError
from agentgym.store import open_store
from agentgym.store.nats import NatsKVStore


async def test_a_new_single_server_bucket_allows_direct_gets(nats_url: str, unique: str) -> None:
    store = await open_store(f"{nats_url}/{unique}")
    client = await nats.connect(nats_url)
    try:
        info = await client.jetstream().stream_info(f"KV_{unique}")
        assert info.config.allow_direct is True
        assert info.config.num_replicas == 1
    finally:
        await client.close()
        await store.close()


@pytest.mark.parametrize("allow_direct", [True, False], ids=["direct", "leader"])
async def test_reads_see_every_write_and_delete(
    nats_url: str, unique: str, allow_direct: bool
) -> None:
    client = await nats.connect(nats_url)
    await client.jetstream().create_key_value(
        KeyValueConfig(bucket=unique, history=1, direct=allow_direct)
    )
    await client.close()
    store = await open_store(f"{nats_url}/{unique}")
    assert isinstance(store, NatsKVStore)
    try:
        first = await store.put("sessions/s1", b"queued")
        assert (await store.get("sessions/s1")).value == b"queued"
        second = await store.update("sessions/s1", b"running", first)
        found = await store.get("sessions/s1")
        assert (found.value, found.revision) == (b"running", second)

        await store.delete("sessions/s1")
        with pytest.raises(KeyNotFoundError):
            await store.get("sessions/s1")
        with pytest.raises(KeyNotFoundError):
            await store.get("sessions/never-written")

        again = await store.create("sessions/s1", b"queued")
        assert again > second
        assert (await store.get("sessions/s1")).revision == again
    finally:
        await store.close()
