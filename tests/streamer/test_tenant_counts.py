"""The streamer's per-tenant connection counts hold only tenants with a browser connected."""

from __future__ import annotations

import asyncio

from websockets.asyncio.client import connect

from .conftest import StreamerFactory


async def test_a_tenant_whose_last_browser_left_is_no_longer_counted(
    streamers: StreamerFactory,
) -> None:
    async with streamers() as (url, streamer):
        async with connect(f"{url}/ws/training") as ws:
            await ws.recv()  # the snapshot: the connection is counted
            assert streamer.per_tenant == {"default": 1}
        async with asyncio.timeout(5):
            while streamer.per_tenant:  # the handler ends just after the close
                await asyncio.sleep(0.01)
        assert streamer.per_tenant == {}
