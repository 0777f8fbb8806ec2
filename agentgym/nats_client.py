"""Connecting to NATS the same way in every process: reconnect forever, log state changes;
and leaving it the same way: `close` drains, so callbacks already running finish first."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import SplitResult, urlsplit

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from agentgym.errors import InvalidURLError

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
# What NATS raises when it did not answer, or is busy or between servers: the same call on
# the same connection may succeed if tried again (what a trainer's publisher retries,
# agentgym.retries.until_answered).
RETRYABLE: tuple[type[Exception], ...] = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.ConnectionReconnectingError,
    nats.js.errors.ServiceUnavailableError,
    # A JetStream publish no stream answered: a server that restarted and has not recovered
    # its streams yet (the no-responders of a stream).
    nats.js.errors.NoStreamResponseError,
)
# What NATS raises when it cannot be reached or did not answer (a request may succeed later):
# RETRYABLE, and a connection that is closed, never connected, or whose socket failed. The
# API answers these with 503.
UNAVAILABLE: tuple[type[Exception], ...] = (
    *RETRYABLE,
    nats.errors.ConnectionClosedError,
    nats.errors.NoServersError,
    OSError,
)
RECONNECT_WAIT_S = 1
# How long `close` lets subscriptions finish the messages they hold (their callbacks) before
# it closes anyway.
DRAIN_TIMEOUT_S = 10


def server_url(url: str | SplitResult) -> str:
    """The server part of a NATS URL (scheme, credentials, host, port), without any path."""
    parts = urlsplit(url) if isinstance(url, str) else url
    if parts.scheme not in ("nats", "tls") or not parts.hostname:
        raise InvalidURLError(parts.geturl(), "a NATS URL looks like nats://host:4222")
    return parts._replace(path="", query="", fragment="").geturl()


def server_urls(urls: str) -> list[str]:
    """A cluster's seed servers: `nats://a:4222,nats://b:4222` (the client learns the rest)."""
    return [server_url(url.strip()) for url in urls.split(",") if url.strip()]


async def connect(
    url: str,
    name: str,
    wait_s: float = CONNECT_TIMEOUT_S,
    on_reconnect: Callable[[], Awaitable[None]] | None = None,
) -> Client:
    """Connect to `url` (one server, or several separated by commas) within `wait_s` seconds,
    then keep reconnecting for as long as the process
    runs. Raises nats.errors.NoServersError when no server answers in time."""
    client = Client()

    async def disconnected() -> None:
        if not client.is_closed:  # closing on purpose also "disconnects"
            logger.warning("%s: disconnected from NATS", name)

    async def reconnected() -> None:
        logger.info("%s: reconnected to NATS", name)
        if on_reconnect is not None:
            await on_reconnect()

    async def error(exc: Exception) -> None:
        logger.warning("%s: NATS error: %s", name, exc)

    try:
        await asyncio.wait_for(
            client.connect(
                server_urls(url),
                name=name,
                connect_timeout=max(1, int(wait_s)),
                reconnect_time_wait=RECONNECT_WAIT_S,
                max_reconnect_attempts=-1,  # nats-py applies this to the first connect too
                disconnected_cb=disconnected,
                reconnected_cb=reconnected,
                error_cb=error,
                drain_timeout=DRAIN_TIMEOUT_S,
            ),
            wait_s,
        )
    except TimeoutError:
        await client.close()
        raise nats.errors.NoServersError from None
    return client


async def close(client: Client, pulls: Iterable[JetStreamContext.PullSubscription] = ()) -> None:
    """Drain the connection, then close it: every subscription stops taking messages, the ones
    it already holds are handed to its callback and those callbacks finish (within
    DRAIN_TIMEOUT_S), what was published is flushed, and the connection closes.

    `pulls` are the client's pull subscriptions, unsubscribed first: they have no callback to
    wait for, and nats-py's `fetch` takes messages from a subscription's queue without marking
    them done, so draining one would always wait out DRAIN_TIMEOUT_S. A message one holds
    unacked is redelivered by JetStream, as it would be after a crash.

    Safe on a closed client, and on one that cannot drain (NATS is away: it reconnects, or the
    drain's flush goes unanswered): that one is closed without draining, as there is no
    server to hand messages over or flush to. Never raises for NATS' sake.
    """
    if client.is_closed:
        return
    for pull in pulls:
        with contextlib.suppress(nats.errors.Error, OSError):
            await pull.unsubscribe()
    if client.is_connected and not client.is_draining:
        try:
            await client.drain()
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            logger.warning("NATS connection did not drain (%s); closing it", type(exc).__name__)
    if client.is_closed:
        return
    if not client.is_connected:
        # Away from NATS, nats-py's close() writes what it buffered meanwhile to the lost
        # socket and fails half-way (ConnectionResetError, subscriptions left running). There
        # is no server to send it to: drop it, so the close completes.
        client._pending = []
        client._pending_data_size = 0
    try:
        await client.close()
    except (nats.errors.Error, OSError) as exc:
        logger.warning("NATS connection did not close cleanly (%s)", type(exc).__name__)
