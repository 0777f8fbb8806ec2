"""The API's browser guard: the Origin and Host rules of `agentgym.origins`, as ASGI middleware.

- A state-changing request (POST, PUT, PATCH, DELETE) or a WebSocket handshake whose `Origin`
  is neither configured nor the API's own is refused: 403, or close code 4403.
- With authentication off, a `Host` that is not a local name or configured is refused (403)
  under uvicorn. On Lambda the API gateway's host is what arrives, and no rebinding can reach
  a deployment that is public anyway, so there the check does not apply.
- A redirect (FastAPI's trailing-slash one) never names the request's `Host`: its `Location`
  is made relative, so a forged Host is not echoed back.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentgym import origins
from agentgym.config import ApiSettings
from agentgym.contracts import FeedClose
from functions.errors import error_response

WS_REASON = "this page's origin is not allowed: add it to AGENTGYM_CORS_ORIGINS"


class BrowserGuard:
    def __init__(self, app: ASGIApp, settings: Callable[[], ApiSettings]) -> None:
        self.app = app
        self.settings = settings  # read at the first request, not at import

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        settings = self.settings()
        host = origin = None
        for name, value in scope["headers"]:  # the two it needs, on every request: no dict
            if name == b"host":
                host = value.decode("latin-1")
            elif name == b"origin":
                origin = value.decode("latin-1")
        refusal = None
        if (
            settings.auth == "off"
            and "aws.event" not in scope
            and not origins.host_allowed(host, settings.allowed_hosts)
        ):
            refusal = origins.host_refusal(host or "")
        elif (scope["type"] == "websocket" or scope["method"] in origins.STATE_CHANGING) and (
            not origins.origin_allowed(origin, host, settings.cors_origins)
        ):
            refusal = origins.refusal(origin or "")
        if refusal is None:
            await self.app(scope, receive, _relative_redirects(send))
        elif scope["type"] == "websocket":
            await _close_websocket(receive, send)
        else:
            await error_response(403, refusal, "forbidden")(scope, receive, send)


async def _close_websocket(receive: Receive, send: Send) -> None:
    """Accept, then close with 4403: a browser sees the code (a refused handshake is 1006)."""
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": FeedClose.FORBIDDEN, "reason": WS_REASON})


def _relative_redirects(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
            message["headers"] = [
                (name, _relative(value) if name.lower() == b"location" else value)
                for name, value in message.get("headers", [])
            ]
        await send(message)

    return sending


def _relative(location: bytes) -> bytes:
    """`http://host/path?q` as `/path?q`; a relative location stays as it is."""
    if b"://" not in location:
        return location
    path = location.split(b"://", 1)[1].partition(b"/")[2]
    return b"/" + path
