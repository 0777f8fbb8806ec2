"""What the async client does its own way (aio.py); the blocking client's twin is _sync_io.py,
which the generated sync.py imports in its place."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from websockets.asyncio.client import ClientConnection

P = ParamSpec("P")
T = TypeVar("T")


async def sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def off_loop(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`call(...)` in a thread: a file's read blocks, the event loop must not."""
    return await asyncio.to_thread(call, *args, **kwargs)


async def recv(connection: ClientConnection, timeout_s: float) -> str | bytes:
    """The next message; TimeoutError after `timeout_s` seconds."""
    async with asyncio.timeout(timeout_s):
        return await connection.recv()
