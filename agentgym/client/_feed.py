"""A session's live feed, sans I/O: which frames to hand on across reconnections, and when the
feed is done. The sync and async `watch()` only move frames between a socket and a `Feed`.

The streamer sends a snapshot of the session first, then its recorded updates after `since`,
then live ones, each once and in `seq` order. A reconnection asks for `since=<last seq
seen>`, so the updates handed on are each one once, in order, however often the connection
drops: the first snapshot is handed on, later ones (one per reconnection) are not.
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import quote, urlencode

from agentgym.auth import SUBPROTOCOL
from agentgym.messages import Snapshot, TrainingUpdate
from agentgym.retries import Bound

from .errors import ApiError, from_close, from_response

logger = logging.getLogger(__name__)

# The first connection fails fast (a wrong URL, nothing listening); a dropped one keeps
# trying about as long as a streamer or NATS restart takes.
FIRST_CONNECT = Bound(
    attempts=3, timeout_s=10.0, wait_initial_s=0.2, wait_max_s=1.0, wait_jitter_s=0.1
)
RECONNECT = Bound(
    attempts=None, timeout_s=60.0, wait_initial_s=0.1, wait_max_s=2.0, wait_jitter_s=0.5
)
# RFC 9110's token: what a credential must be to ride as a WebSocket subprotocol.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


Frame = Snapshot | TrainingUpdate


class Dropped(Exception):
    """The connection failed or closed in a way a reconnection may mend."""


class Feed:
    """What a watch has handed on so far, and whether it is done."""

    def __init__(self, since: int = 0) -> None:
        self.last_seq = since  # of the last update handed on: a reconnection's `since`
        self.done = False
        self._snapshot_seen = False
        self._ends_at: int | None = None  # an ended session's last seq, from its snapshot

    def receive(self, raw: str | bytes) -> Frame | None:
        """The frame to hand on for `raw`, or None for one already handed on (or of a kind
        this client does not know)."""
        data = json.loads(raw)
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "snapshot":
            return self._snapshot(Snapshot.model_validate(data))
        if kind == "training_update":
            return self._update(TrainingUpdate.model_validate(data))
        logger.debug("skipping a frame of type %r", kind)
        return None

    def _snapshot(self, snapshot: Snapshot) -> Snapshot | None:
        if snapshot.data.status.terminal:
            if snapshot.seq <= self.last_seq:
                self.done = True  # ended, and every update of it handed on
            else:
                self._ends_at = snapshot.seq  # ended: the updates up to its last follow
        first = not self._snapshot_seen
        self._snapshot_seen = True
        return snapshot if first else None

    def _update(self, update: TrainingUpdate) -> TrainingUpdate | None:
        if update.seq <= self.last_seq:
            return None  # the streamer sends none twice; a reconnection's overlap, if any
        self.last_seq = update.seq
        ended = self._ends_at is not None and update.seq >= self._ends_at
        if update.data.status.terminal or ended:
            self.done = True
        return update


def ws_base(url: str) -> str:
    """A WebSocket base URL from an HTTP(S) or WS(S) one (the API's port relays the feed)."""
    url = url.rstrip("/")
    for http, ws in (("http://", "ws://"), ("https://", "wss://")):
        if url.startswith(http):
            return ws + url.removeprefix(http)
    return url


def session_url(base: str, session_id: str, since: int, token: str | None) -> str:
    query = {"since": str(since)} | ({"token": token} if token else {})
    return f"{ws_base(base)}/ws/training/{quote(session_id, safe='')}?{urlencode(query)}"


def credentials(api_key: str) -> tuple[list[str] | None, str | None]:
    """How a key or JWT goes to the streamer: as a subprotocol beside `agentgym` (kept out of
    URLs and their logs), or in `?token=` when it is not a valid one. (subprotocols, token)"""
    if not api_key:
        return None, None
    if _TOKEN.fullmatch(api_key):
        return [SUBPROTOCOL, api_key], None
    return None, api_key


def refusal_or_drop(code: int | None, reason: str) -> ApiError | Dropped:
    """What a closed connection means: a refusal (bad credentials, unknown session) that no
    reconnection mends, or a drop that one may."""
    refused = from_close(code, reason) if code is not None else None
    if refused is not None:
        return refused
    return Dropped(f"closed {code if code is not None else 'abnormally'} {reason}".strip())


def handshake_refusal(status: int, body: bytes) -> ApiError | Dropped:
    """An HTTP answer in place of the handshake: a proxy's 5xx while the streamer restarts
    is a drop; anything else (404, 403) a refusal."""
    if status >= 500:
        return Dropped(f"HTTP {status} to the handshake")
    return from_response(status, body, {})
