"""Limits on how long and how large an HTTP request may be, for the API under uvicorn.

uvicorn's h11 protocol closes a connection that sits idle *between* requests (its keep-alive
timeout), but waits forever for a request that has begun: a client that sends a request line
and then one header byte every few seconds (slowloris) holds a connection, and a file
descriptor, for as long as it likes; so does one that connects and sends nothing. And h11's
`max_incomplete_event_size` only bounds a head that is still *incomplete*: 100 KB of headers
that arrive in one piece are parsed and served. The streamer gets these limits from the
websockets library (`open_timeout`, header limits); `LimitedH11Protocol` gives them to the API:

- **Header timeout** (`AGENTGYM_HTTP_HEADER_TIMEOUT_S`, 10 s): from the moment a connection
  opens, or a request cycle begins on a kept-alive one, the request line and headers must be
  complete within this time. If some of them came, the answer is 408 and the connection
  closes; if nothing came, it just closes (as the keep-alive timeout does).
- **Head size** (`AGENTGYM_HTTP_MAX_HEAD_BYTES`, 16 KiB): a request line plus headers longer
  than this is answered 431 and the connection closes, whether it arrives in one piece or in
  many. (This value also replaces uvicorn's `--h11-max-incomplete-event-size`.)
- **Body timeout** (`AGENTGYM_HTTP_BODY_TIMEOUT_S`, 30 s): a request body from which no byte
  arrives for this long is cut off: 408 if no response has begun, else the connection closes.
  Time the server itself stops reading (the app is behind, or has not yet asked for a body
  sent with `Expect: 100-continue`) does not count.
- **Keep-alive timeout** (`AGENTGYM_HTTP_KEEP_ALIVE_TIMEOUT_S`, 5 s): uvicorn's own
  `timeout_keep_alive`, which `agentgym api` passes explicitly rather than by default.

`agentgym api` (and so `agentgym up`) uses all of this. With plain uvicorn, name the protocol
class; the limits come from the same environment variables:

    uvicorn functions.app:app --http agentgym.http_server:LimitedH11Protocol \\
        --timeout-keep-alive 5

(add `--log-config` with the filter from `agentgym.redact` to keep keys out of the log).
Only uvicorn's h11 protocol is extended: `--http httptools` has none of these limits.

Why a subclass: uvicorn (0.54) has no request-header or body timeout, only the keep-alive
one, and it is the server every process here is run and tested with; a reverse proxy in front
would do it too, but `agentgym up` has none. The subclass overrides `connection_made`,
`connection_lost`, `data_received`, `handle_events` and `handle_websocket_upgrade` and reads
`cycle` and `flow`: uvicorn internals rather than an API, so tests/functions/test_http_limits.py
drives every limit through a real `agentgym api`, to catch an upgrade of uvicorn that moves them.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import STATUS_PHRASES, H11Protocol
from uvicorn.server import ServerState

from agentgym.config import get_api_settings

WS_MAX_LINE = 8192  # the websockets library's longest request line or header line
# Where h11 finds the end of a request head (h11/_receivebuffer.py: LF or CRLF line ends).
BLANK_LINE = re.compile(rb"\n\r?\n")


class LimitedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header timeout, a head size limit and a body timeout."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = get_api_settings()  # AGENTGYM_HTTP_*; the Lambda never reads them
        # h11's own bound on an incomplete head, the same as ours: `data_received` checks
        # first (and says 431), so h11's (uvicorn says 400) only meets a pipelined head.
        self.conn = h11.Connection(h11.SERVER, self.limits.http_max_head_bytes)
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_seen = 0.0  # loop time when bytes last arrived
        self._upgraded = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and self._head_too_large(data):
            self._refuse(431, "request line and headers too large")
            return
        self._body_seen = self.loop.time()
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        self._watch()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        # uvicorn's WebSocket protocol drops, unanswered, a handshake with a line over its
        # limit (the 414 websockets prepares is never sent): answer it here instead.
        lines = [len(event.target)] + [len(name) + len(value) + 2 for name, value in event.headers]
        if max(lines) > WS_MAX_LINE:
            self._refuse(414 if lines[0] > WS_MAX_LINE else 431, "handshake line too long")
            return
        self._upgraded = True  # the WebSocket protocol owns the connection from here
        self._cancel_timers()
        super().handle_websocket_upgrade(event)

    def _head_too_large(self, data: bytes) -> bool:
        """Whether the head being received runs past the limit without ending."""
        limit = self.limits.http_max_head_bytes
        buffered = self.conn.trailing_data[0]
        if len(buffered) + len(data) <= limit:
            return False
        return BLANK_LINE.search((buffered + data[:limit])[:limit]) is None

    def _watch(self) -> None:
        """Arm the timer for what the client owes now (a head, or more body); cancel the rest."""
        if self._upgraded or self.transport.is_closing():
            self._cancel_timers()
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            if self._head_timer is None:  # a new cycle: the deadline runs from here
                self._head_timer = self.loop.call_later(
                    self.limits.http_header_timeout_s, self._head_late
                )
        elif self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if state is h11.SEND_BODY:
            if self._body_timer is None:
                self._body_seen = self.loop.time()
                self._body_timer = self.loop.call_later(
                    self.limits.http_body_timeout_s, self._body_late
                )
        elif self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.conn.trailing_data[0]:
            self._refuse(408, "request headers not received in time")
        else:  # nothing of a request yet: close quietly, as the keep-alive timeout does
            self._cancel_timers()
            self.transport.close()

    def _body_late(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.SEND_BODY:
            return
        now = self.loop.time()
        cycle = self.cycle
        if self.flow.read_paused or (cycle is not None and cycle.waiting_for_100_continue):
            self._body_seen = now  # the server is not reading: the client is not to blame
        idle = now - self._body_seen
        if idle < self.limits.http_body_timeout_s:
            delay = self.limits.http_body_timeout_s - idle
            self._body_timer = self.loop.call_later(delay, self._body_late)
            return
        if cycle is not None and cycle.response_started:
            self.logger.warning("%srequest body stalled: closing", self._prefix())
            self.transport.close()
            return
        if cycle is not None:  # the app's further sends go nowhere, as after a disconnect
            cycle.disconnected = True
            cycle.message_event.set()
        self._refuse(408, "request body not received in time")

    def _refuse(self, status: int, message: str) -> None:
        """Answer `status` with `message` (if h11 still allows a response) and close."""
        self.logger.warning("%s%s: %d", self._prefix(), message, status)
        self._cancel_timers()
        body = message.encode("ascii") + b"\n"
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"connection", b"close"),
        ]
        try:
            response = h11.Response(
                status_code=status, headers=headers, reason=STATUS_PHRASES[status]
            )
            self.transport.write(self.conn.send(response) or b"")
            self.transport.write(self.conn.send(h11.Data(data=body)) or b"")
            self.transport.write(self.conn.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError:
            pass  # a response is under way already: closing is all that is left
        self.transport.close()

    def _prefix(self) -> str:
        return f"{self.client[0]}:{self.client[1]} - " if self.client else ""
