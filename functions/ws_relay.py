"""The WebSocket routes on the API's own port, relayed to the streamer (combined app only).

The seed README's example connects to `ws://localhost:8000/ws/training/<id>`, the API's
port, while browsers watch through the streamer on 8001. For local use the combined app
relays those routes to the streamer (`AGENTGYM_STREAMER_URL`), frame for frame, close codes
included. An API gateway deployment points browsers at the streamer's load balancer instead.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect

from functions.resources import Resources

router = APIRouter(tags=["websocket"])


async def _downstream(upstream: ClientConnection, browser: WebSocket) -> None:
    async for message in upstream:
        if isinstance(message, bytes):
            await browser.send_bytes(message)
        else:
            await browser.send_text(message)


async def _upstream(browser: WebSocket, upstream: ClientConnection) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await upstream.send(await browser.receive_text())


@router.websocket("/ws/training")
@router.websocket("/ws/training/{session_id}")
async def relay(browser: WebSocket) -> None:
    resources: Resources = browser.app.state.resources
    query = f"?{browser.url.query}" if browser.url.query else ""
    target = f"{resources.settings.streamer_url}{browser.url.path}{query}"
    try:
        upstream = await connect(target, compression=None)
    except OSError:
        await browser.close(1013, "the streamer is not reachable; try again shortly")
        return
    await browser.accept()
    async with upstream:
        tasks = [asyncio.create_task(_downstream(upstream, browser)),
                 asyncio.create_task(_upstream(browser, upstream))]  # fmt: skip
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    with contextlib.suppress(RuntimeError):  # the browser may be gone already
        await browser.close(upstream.close_code or 1000, upstream.close_reason or "")
