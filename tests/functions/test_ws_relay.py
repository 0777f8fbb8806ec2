"""The API's /ws/* relay to the streamer, with both served for real: uvicorn on a free port in
front of a Streamer on another, over this module's nats-server and the test's SQLite."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from agentgym import nats_client, subjects
from agentgym.auth import hash_key, new_key
from agentgym.config import ApiSettings, StreamerSettings
from agentgym.records import Keys, SessionRecord
from agentgym.store import KeyValueStore
from functions.app import build
from functions.resources import Resources
from streamer.app import Streamer

from ..inprocess import running_streamer
from ..servers import closed_with, serve_asgi

KEY = new_key()
API_KEYS = f"acme:{hash_key(KEY)}"


class Logged(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Served:
    url: str  # ws://127.0.0.1:<port>
    logged: list[logging.LogRecord]


@asynccontextmanager
async def streamer(settings: ApiSettings, **overrides: Any) -> AsyncIterator[tuple[str, Streamer]]:
    """A real streamer over the API's own NATS and store, and its ws:// URL."""
    common = settings.model_dump(include=set(StreamerSettings.model_fields))
    async with running_streamer(StreamerSettings(**common | overrides)) as served:
        yield served


@contextmanager
def api(settings: ApiSettings, streamer_url: str, **overrides: Any) -> Iterator[Served]:
    """The combined app relaying to `streamer_url`, and what uvicorn logs until it has stopped
    (its shutdown waits for every relay to finish)."""
    relaying = settings.model_copy(update={"streamer_url": streamer_url, **overrides})
    handler = Logged()
    # uvicorn's loggers do not propagate to the root (caplog misses them), and starting a
    # server configures them afresh: attach once it has started.
    logger = logging.getLogger("uvicorn.error")
    try:
        with serve_asgi(build(Resources(relaying))) as url:
            logger.addHandler(handler)
            yield Served(url.replace("http://", "ws://"), handler.records)
    finally:
        logger.removeHandler(handler)


async def register(
    settings: ApiSettings, store: KeyValueStore, keys: Keys, session_id: str
) -> None:
    """A session as a trainer registers it, and the streams the streamer reads history from."""
    record = SessionRecord(
        session_id=session_id, scenario_id="customer_support", framework="LangChain",
        status="running", max_episodes=100, learning_rate=0.001, seed=1,
    )  # fmt: skip
    await store.put(keys.session(session_id), record.dump())
    client = await nats_client.connect(settings.nats_url, "test-relay")
    try:
        await subjects.ensure_streams(client.jetstream())
    finally:
        await client.close()


# Up to ~8,000: a longer request line never reaches the app; `agentgym api`'s HTTP protocol
# answers it (test_http_limits), as uvicorn's WebSocket protocol leaves it unanswered.
@pytest.mark.parametrize("length", [65, 200, 8000])
async def test_a_session_id_of_more_than_64_characters_is_closed_with_4400_at_once(
    settings: ApiSettings, length: int
) -> None:
    async with streamer(settings) as (upstream, _):
        with api(settings, upstream) as served:
            started = time.monotonic()
            async with asyncio.timeout(5):
                close = await closed_with(f"{served.url}/ws/training/{'a' * length}")
            assert time.monotonic() - started < 2
    assert close.code == 4400 and "session id" in close.reason


async def test_a_session_id_with_a_dot_is_closed_with_4400_without_asking_the_streamer(
    settings: ApiSettings,
) -> None:
    with api(settings, "ws://127.0.0.1:9") as served:  # nothing listens there: never asked
        close = await closed_with(f"{served.url}/ws/training/session.x")
    assert close.code == 4400


async def test_a_streamer_that_refuses_the_handshake_closes_the_browser_with_1013(
    settings: ApiSettings, store: KeyValueStore
) -> None:
    async with streamer(settings) as (upstream, _):
        # Under a path the streamer does not serve, its answer is an HTTP 404, not a WebSocket.
        with api(settings, f"{upstream}/elsewhere") as served:
            async with asyncio.timeout(5):
                close = await closed_with(f"{served.url}/ws/training")
    assert close.code == 1013 and "streamer" in close.reason


async def test_an_unreachable_streamer_closes_the_browser_with_1013(
    settings: ApiSettings,
) -> None:
    with api(settings, "ws://127.0.0.1:9") as served:
        close = await closed_with(f"{served.url}/ws/training")
    assert close.code == 1013


async def test_a_key_sent_as_a_subprotocol_is_relayed_to_the_streamer(
    settings: ApiSettings, store: KeyValueStore, unique: str
) -> None:
    session_id = f"session_{unique}"
    await register(settings, store, Keys("acme"), session_id)
    auth = {"auth": "apikey", "api_keys": API_KEYS}
    async with streamer(settings, **auth) as (upstream, _):
        with api(settings, upstream, **auth) as served:
            target = f"{served.url}/ws/training/{session_id}"
            offered = [Subprotocol("agentgym"), Subprotocol(KEY)]
            async with connect(target, subprotocols=offered) as ws:
                assert ws.subprotocol == "agentgym"
                assert '"snapshot"' in str(await ws.recv())
            wrong = [Subprotocol("agentgym"), Subprotocol(new_key())]
            assert (await closed_with(target, subprotocols=wrong)).code == 4401
            assert (await closed_with(target)).code == 4401


async def test_a_browser_that_goes_away_leaves_no_error_in_the_logs(
    settings: ApiSettings, store: KeyValueStore, unique: str
) -> None:
    session_id = f"session_{unique}"
    await register(settings, store, Keys(), session_id)
    async with streamer(settings) as (upstream, relayed_to):
        with api(settings, upstream) as served:
            async with connect(f"{served.url}/ws/training/{session_id}") as ws:  # closes
                await ws.recv()
            ws = await connect(f"{served.url}/ws/training")  # drops
            await ws.recv()
            ws.transport.abort()
            async with asyncio.timeout(10):  # the relays let go of the streamer, then stop
                while relayed_to.metrics.connections:
                    await asyncio.sleep(0.01)  # the streamer has no event for this: look again
    problems = [r for r in served.logged if r.levelno >= logging.WARNING or r.exc_info]
    assert not problems, [r.getMessage() for r in problems]
