"""The WebSocket routes on the API's own port, relayed to the streamer (combined app only).

The seed README's example connects to `ws://localhost:8000/ws/training/<id>`, the API's
port, while browsers watch through the streamer on 8001. For local use the combined app
relays those routes to the streamer (`AGENTGYM_STREAMER_URL`), frame for frame, close codes
and subprotocols included (a browser's token rides as one). An API gateway deployment points
browsers at the streamer's load balancer instead.

The API's middleware checks the Origin and Host of the handshake, as of any request; the
streamer checks the credential. A session id out of shape is refused here (4400), never
sent on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidURI, WebSocketException
from websockets.frames import CloseCode
from websockets.typing import Subprotocol

from agentgym.auth import SUBPROTOCOL
from agentgym.contracts import FeedClose
from agentgym.ids import SESSION_ID_RULE, is_session_id
from functions.resources import Resources

logger = logging.getLogger(__name__)

router = APIRouter(tags=["websocket"])

# The streamer is next door: a handshake this slow will not make a healthy stream.
UPSTREAM_OPEN_TIMEOUT_S = 10.0
UNREACHABLE = "the streamer is not reachable; try again shortly"


async def _downstream(upstream: ClientConnection, browser: WebSocket) -> None:
    async for message in upstream:
        if isinstance(message, bytes):
            await browser.send_bytes(message)
        else:
            await browser.send_text(message)


async def _upstream(browser: WebSocket, upstream: ClientConnection) -> None:
    """Until the browser goes (the streamer reads nothing, but a close must reach it)."""
    while (message := await browser.receive())["type"] != "websocket.disconnect":
        text = message.get("text")
        await upstream.send(text if text is not None else message.get("bytes") or b"")


def _chosen(offered: Sequence[str]) -> str | None:
    """What a browser refused here is accepted with, picked as the streamer picks: one that
    offered subprotocols fails a handshake that accepts none, and would see 1006, not ours."""
    if SUBPROTOCOL in offered:
        return SUBPROTOCOL
    return offered[0] if offered else None


async def _refuse(browser: WebSocket, code: int, reason: str) -> None:
    """Accept, then close: closing before the handshake is an HTTP 403 to a browser, which
    tells a page neither the code nor the reason."""
    await browser.accept(subprotocol=_chosen(browser.scope.get("subprotocols", [])))
    await browser.close(code, reason)


def _ending(upstream: ClientConnection) -> tuple[int, str]:
    """How the browser is closed when the streamer's side ended: as the streamer closed it,
    except for the codes a close frame may not carry."""
    code = upstream.close_code
    if code is None or code == CloseCode.ABNORMAL_CLOSURE:  # the streamer vanished
        return CloseCode.TRY_AGAIN_LATER, UNREACHABLE
    if code == CloseCode.NO_STATUS_RCVD:
        return CloseCode.NORMAL_CLOSURE, ""
    return code, upstream.close_reason or ""


@router.websocket("/ws/training")
@router.websocket("/ws/training/{session_id}")
async def relay(browser: WebSocket) -> None:
    session_id = browser.path_params.get("session_id")
    if session_id is not None and not is_session_id(session_id):
        await _refuse(browser, FeedClose.BAD_REQUEST, SESSION_ID_RULE)
        return
    resources: Resources = browser.app.state.resources
    query = f"?{browser.url.query}" if browser.url.query else ""
    target = f"{resources.settings.streamer_url}{browser.url.path}{query}"
    offered = [Subprotocol(p) for p in browser.scope.get("subprotocols", [])]
    try:
        upstream = await connect(
            target,
            subprotocols=offered or None,
            compression=None,
            open_timeout=UPSTREAM_OPEN_TIMEOUT_S,
            proxy=None,  # the streamer is reached directly, whatever HTTP(S)_PROXY says
        )
    except InvalidURI:  # a query string no URL may hold
        await _refuse(browser, FeedClose.BAD_REQUEST, "the query string is not a valid one")
        return
    except (OSError, TimeoutError, WebSocketException) as exc:  # down, slow, or refusing us
        # Said here, as a browser only sees 1013: a wrong AGENTGYM_STREAMER_URL shows up so.
        logger.warning("relay to %s failed: %r", resources.settings.streamer_url, exc)
        await _refuse(browser, CloseCode.TRY_AGAIN_LATER, UNREACHABLE)
        return
    async with upstream:
        await browser.accept(subprotocol=upstream.subprotocol)
        tasks = [asyncio.create_task(_downstream(upstream, browser)),
                 asyncio.create_task(_upstream(browser, upstream))]  # fmt: skip
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    # Closing a browser that has gone is an error (a traceback in the log per browser).
    gone = WebSocketState.DISCONNECTED
    if browser.client_state is gone or browser.application_state is gone:
        return
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):  # it went just now
        await browser.close(*_ending(upstream))
