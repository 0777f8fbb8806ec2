"""Connecting to NATS the same way in every process: reconnect forever, log state changes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import SplitResult, urlsplit

import nats.errors
import nats.js.errors
from nats.aio.client import Client

from agentgym.errors import InvalidURLError

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
# What NATS raises when it cannot be reached or did not answer (a retry may succeed).
UNAVAILABLE = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    nats.errors.NoServersError,
    nats.errors.OutboundBufferLimitError,
    nats.js.errors.ServiceUnavailableError,
    OSError,
)
RECONNECT_WAIT_S = 1


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
            ),
            wait_s,
        )
    except TimeoutError:
        await client.close()
        raise nats.errors.NoServersError from None
    return client
