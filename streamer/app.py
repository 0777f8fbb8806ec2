"""`agentgym streamer`: the WebSocket service browsers watch training through.

Served by the `websockets` library's own asyncio server, not an ASGI one: it can write a
pre-encoded frame straight into a socket (the cost of `broadcast()`), which a per-client task
under an ASGI server costs about three times over; and its connections read frames in the
background, so a browser that only listens is still seen to go away (Kludex/starlette#759).
Compression is off: for small JSON frames it costs more memory and CPU than it saves.

- `WS /ws/training/{id}[?since=SEQ]`: a snapshot of the session's status, then its recorded
  updates after SEQ, then the live ones: each once, in `seq` order, as the trainer sent them.
  With `episodes=1` (`&episodes_since=SEQ`), its recorded episodes too, the same way: those
  after that SEQ of theirs, then the live ones (`{"type": "episode", ...}`, in their `seq`
  order, which counts episodes apart from updates).
- `WS /ws/training`: every session's status, then every status change.
- `GET /healthz`, `GET /metrics` (Prometheus text).

Before anything is looked up, a WebSocket from a page whose origin is not configured
(`agentgym.origins`) is closed with 4403, and one naming a session id or `since` out of shape
with 4400. With authentication off, a request whose `Host` is neither local nor configured
(DNS rebinding) is refused with HTTP 403, /healthz excepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
import time
from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from agentgym import history, nats_client
from agentgym.auth import (
    SUBPROTOCOL,
    Authenticator,
    AuthError,
    authenticate,
    authenticator_for,
    from_subprotocols,
)
from agentgym.config import StreamerSettings
from agentgym.contracts import FeedClose
from agentgym.errors import InvalidKeyError, KeyNotFoundError
from agentgym.ids import SESSION_ID_RULE, is_session_id
from agentgym.messages import Sessions, Snapshot, parse_update
from agentgym.origins import host_allowed, host_refusal, origin_allowed, refusal
from agentgym.records import Keys, SessionRecord
from agentgym.store import KeyValueStore, open_store
from streamer.hub import Hub
from streamer.metrics import CONTENT_TYPE, Metrics
from streamer.subscriber import WRITE_HIGH_WATER, WRITE_LOW_WATER, Frame, Subscriber

logger = logging.getLogger(__name__)

SESSION_PATH = re.compile(r"/ws/training/([^/]+)")
SINCE = re.compile(r"[0-9]{1,19}")  # a seq fits 64 bits; int() of 4,301 digits raises
# A close frame's payload is at most 125 bytes, two of them the code: a longer reason makes
# the close itself fail (1011, "control frame too long") instead of saying what was wrong.
MAX_CLOSE_REASON = 123
MAX_INCOMING = 4096  # browsers send nothing we read: keep what they may send small
# Fanning out leaves no cyclic garbage (reference counting frees it all), yet with CPython's
# default threshold of 700 the collector still ran about once a second under 1,000 updates/s,
# each pass a ~2 ms pause over the young objects of a thousand connections that stalled every
# browser's updates (streamer_fanout). At this threshold a pass comes about once a minute
# there: each takes longer, but far less time is lost in all, and cycles (a closed
# connection's) are still collected.
GC_YOUNG_THRESHOLD = 50_000


class Streamer:
    def __init__(self, settings: StreamerSettings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.hub: Hub
        self.store: KeyValueStore
        self.server: Server | None = None
        self.auth: Authenticator = authenticator_for(settings)
        self.per_tenant: dict[str, int] = {}  # open connections by tenant

    async def serve(self, host: str, port: int, stop: asyncio.Event) -> None:
        """Serve until `stop` is set. `self.server` is set once it listens."""
        nats = await nats_client.connect(
            self.settings.nats_url, "agentgym-streamer", on_reconnect=self._reconnected
        )
        try:
            self.store = await open_store(self.settings.store_url)
        except BaseException:
            await nats_client.close(nats)  # no store, no streamer: leave no connection behind
            raise
        self.hub = Hub(nats, self.metrics)
        thresholds = gc.get_threshold()
        try:
            async with serve(
                self._handle,
                host,
                port,
                process_request=self._http,
                select_subprotocol=_select_subprotocol,
                compression=None,
                ping_interval=self.settings.ping_interval_s,
                ping_timeout=self.settings.ping_interval_s,
                max_size=MAX_INCOMING,
                write_limit=(WRITE_HIGH_WATER, WRITE_LOW_WATER),
            ) as server:
                self.server = server
                # Everything loaded so far lives as long as the process: keep the collector
                # from walking it again and again while frames are being fanned out.
                gc.freeze()
                gc.set_threshold(GC_YOUNG_THRESHOLD)
                logger.info(
                    "streamer listening on %s",
                    ", ".join(str(s.getsockname()) for s in server.sockets),
                )
                await stop.wait()
        finally:
            gc.set_threshold(*thresholds)
            await self.store.close()
            await nats_client.close(nats)  # drains: fan-out callbacks in flight finish

    async def _reconnected(self) -> None:
        await self.hub.fill_all_gaps()

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path == "/healthz":  # load balancers probe by the task's address; it tells nothing
            return connection.respond(200, "ok\n")
        host = _header(request, "Host")
        if self.settings.auth == "off" and not host_allowed(host, self.settings.allowed_hosts):
            assert host is not None  # no Host at all is allowed
            return connection.respond(403, host_refusal(host) + "\n")
        if path == "/metrics":
            response = connection.respond(200, self.metrics.render())
            del response.headers["Content-Type"]  # respond()'s: plain text of no format
            response.headers["Content-Type"] = CONTENT_TYPE
            return response
        if path != "/ws/training" and not SESSION_PATH.fullmatch(path):
            return connection.respond(
                404, "not found: use /ws/training or /ws/training/<session_id>\n"
            )
        return None  # a WebSocket route: go on with the handshake

    def _refused(
        self, request: Request, session_id: str | None, since: str
    ) -> tuple[int, str] | None:
        """(code, reason) to close a handshake with before anything is looked up: a page of
        another site's (in every auth mode, as the API refuses it), then an id or a `since`
        no session can have."""
        origin = _header(request, "Origin")
        if not origin_allowed(origin, _header(request, "Host"), self.settings.cors_origins):
            assert origin is not None  # no Origin (not a page) is allowed
            return FeedClose.FORBIDDEN, refusal(origin)
        if session_id is not None and not is_session_id(session_id):
            return FeedClose.BAD_REQUEST, SESSION_ID_RULE
        if session_id is not None and not SINCE.fullmatch(since):
            return FeedClose.BAD_REQUEST, "since must be a whole number (a seq)"
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        request = connection.request
        assert request is not None
        parts = urlsplit(request.path)
        query = parse_qs(parts.query)
        found = SESSION_PATH.fullmatch(parts.path)
        since_text = query.get("since", ["0"])[-1]
        episodes_text = query.get("episodes_since", ["0"])[-1]
        episodes = query.get("episodes", ["0"])[-1] in ("1", "true")
        refused = self._refused(request, found.group(1) if found else None, since_text)
        if refused is None and found and not SINCE.fullmatch(episodes_text):
            refused = FeedClose.BAD_REQUEST, "episodes_since must be a whole number (a seq)"
        if refused:
            await _close(connection, *refused)
            return
        headers = request.headers.get_all("Sec-WebSocket-Protocol")
        offered = [p.strip() for header in headers for p in header.split(",")]
        credential = from_subprotocols(offered) or query.get("token", [None])[-1]
        try:
            keys = Keys((await authenticate(self.auth, credential)).tenant)
        except AuthError as exc:
            await _close(connection, FeedClose.UNAUTHORIZED, str(exc))
            return
        if self.per_tenant.get(keys.tenant, 0) >= self.settings.max_connections_per_tenant:
            limit = self.settings.max_connections_per_tenant
            await _close(
                connection,
                FeedClose.TOO_MANY,
                f"too many connections for this tenant (limit {limit})",
            )
            return
        client = Subscriber(
            connection, self.metrics, self.settings.queue_size, self.settings.slow_client_timeout_s
        )
        self.metrics.connections += 1
        self.per_tenant[keys.tenant] = self.per_tenant.get(keys.tenant, 0) + 1
        client.start()
        try:
            if found:
                since = int(since_text), (int(episodes_text) if episodes else None)
                await self._session(connection, client, keys, found.group(1), *since)
            else:
                await self._dashboard(connection, client, keys)
        finally:
            self.metrics.connections -= 1
            self.per_tenant[keys.tenant] -= 1
            if not self.per_tenant[keys.tenant]:  # pruned: tenants come and go
                del self.per_tenant[keys.tenant]
            await client.stop()

    async def _session(
        self,
        connection: ServerConnection,
        client: Subscriber,
        keys: Keys,
        session_id: str,
        since: int,
        episodes_since: int | None,
    ) -> None:
        """`episodes_since`: send its recorded episodes after that seq, then the live ones
        (None: no episodes)."""
        started = time.perf_counter()
        try:
            record = SessionRecord.load((await self.store.get(keys.session(session_id))).value)
        except (KeyNotFoundError, InvalidKeyError):
            await _close(connection, FeedClose.UNKNOWN, f"unknown training session {session_id}")
            return
        await self.hub.watch(session_id, client, episodes=episodes_since is not None)
        try:
            snapshot = Snapshot(
                session_id=session_id, seq=record.last_seq, data=record.status_view()
            )
            client.deliver(Frame(snapshot.encode()))
            client.last_seq = since
            for payload in await history.read_updates(
                self.hub.js, session_id, since=client.last_seq
            ):
                client.deliver(Frame(payload, parse_update(payload)[0]))
            if episodes_since is not None:
                client.last_episode = episodes_since
                recorded, _, _ = await history.read_episodes(
                    self.hub.js, session_id, episodes_since
                )
                for payload in recorded:
                    client.deliver(Frame(payload, parse_update(payload)[0], episode=True))
            client.go_live()
            self.metrics.caught_up("session", started)
            await _until_closed(connection)
        finally:
            await self.hub.unwatch(session_id, client)

    async def _dashboard(
        self, connection: ServerConnection, client: Subscriber, keys: Keys
    ) -> None:
        client.tenant = keys.tenant  # it sees its own tenant's status changes only
        started = time.perf_counter()
        await self.hub.watch_all(client)
        try:
            sessions = [
                SessionRecord.load(e.value).status_view()
                for e in await self.store.list(keys.sessions)
            ]
            client.deliver(Frame(Sessions(data=sessions).encode()))
            client.go_live()
            self.metrics.caught_up("dashboard", started)
            await _until_closed(connection)
        finally:
            await self.hub.unwatch_all(client)


def _header(request: Request, name: str) -> str | None:
    """A header's value; several are joined, so that no one of them is judged alone."""
    values = request.headers.get_all(name)
    return ", ".join(values) if values else None


def close_reason(text: str) -> str:
    """`text` cut to fit a close frame, on a character boundary, marked as cut."""
    encoded = text.encode()
    if len(encoded) <= MAX_CLOSE_REASON:
        return text
    ellipsis = "\N{HORIZONTAL ELLIPSIS}"
    cut = encoded[: MAX_CLOSE_REASON - len(ellipsis.encode())]
    return cut.decode(errors="ignore") + ellipsis  # drops a character cut in two only


async def _close(connection: ServerConnection, code: int, reason: str) -> None:
    await connection.close(code, close_reason(reason))


async def _until_closed(connection: ServerConnection) -> None:
    """Read (and ignore) what the browser sends until it goes, however it goes; reading is
    what keeps pings answered and lets a closed connection be noticed."""
    with contextlib.suppress(ConnectionClosed):
        async for _ in connection:
            pass


def _select_subprotocol(
    connection: ServerConnection, offered: Sequence[Subprotocol]
) -> Subprotocol | None:
    """Accept `agentgym` when offered (the token rides beside it); a browser that offered
    only its token gets that echoed, as browsers require one of theirs back."""
    if SUBPROTOCOL in offered:
        return Subprotocol(SUBPROTOCOL)
    return offered[0] if offered else None
