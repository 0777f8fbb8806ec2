"""The functions over real parts: uvicorn on a free port, SQLite, nats-server, file artifacts;
and clients of them (`make_client`: each test that takes it runs with both kinds)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nats.js.errors
import pytest

from agentgym import catalog, nats_client, subjects
from agentgym.artifacts import ArtifactStore, open_artifacts
from agentgym.client import AsyncClient, Client
from agentgym.config import ApiSettings
from agentgym.store import KeyValueStore, open_store
from functions.app import build
from functions.resources import Resources

from ..servers import serve_asgi

SCENARIO_IDS = catalog.BUILTIN_IDS


@pytest.fixture(scope="module")
def nats_server_for_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A nats-server of this module's own, so no other module's commands mix in."""
    from agentgym.nats_server import NatsServer

    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server.url


@pytest.fixture
def settings(tmp_path: Path, nats_server_for_module: str) -> ApiSettings:
    return ApiSettings(
        data_dir=tmp_path,
        nats_url=nats_server_for_module,
        store_url=f"sqlite:///{tmp_path / 'agentgym.db'}",
        artifacts_url=f"file://{tmp_path / 'artifacts'}",
        max_body_bytes=64 * 1024,
        max_bundle_bytes=2 * 1024 * 1024,
    )


@pytest.fixture
async def store(settings: ApiSettings) -> AsyncIterator[KeyValueStore]:
    """The same store the API uses, opened separately."""
    opened = await open_store(settings.store_url)
    yield opened
    await opened.close()


@pytest.fixture
def artifacts(settings: ApiSettings) -> ArtifactStore:
    return open_artifacts(settings.artifacts_url)


@pytest.fixture
def base_url(settings: ApiSettings, store: KeyValueStore) -> Iterator[str]:
    with serve_asgi(build(Resources(settings))) as url:
        yield url


@pytest.fixture
def api(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        yield client


@dataclass
class Commands:
    """Reads what the functions put on the trainers' work queue (no trainer runs here)."""

    url: str

    async def for_session(self, session_id: str) -> list[tuple[str, str | None]]:
        """(action, Nats-Msg-Id) of every command queued for the session, oldest first."""
        client = await nats_client.connect(self.url, "test-commands")
        try:
            js = client.jetstream()
            state = (await js.stream_info(subjects.CMD_STREAM)).state
            found = []
            for seq in range(state.first_seq, state.last_seq + 1):
                try:
                    msg = await js.get_msg(subjects.CMD_STREAM, seq)
                except nats.js.errors.NotFoundError:  # a gap in the sequence
                    continue
                body = json.loads(msg.data or b"{}")
                if body.get("session_id") == session_id:
                    found.append((body["action"], (msg.headers or {}).get("Nats-Msg-Id")))
            return found
        finally:
            await client.close()


@pytest.fixture
def commands(nats_server_for_module: str) -> Commands:
    return Commands(nats_server_for_module)


# --- the client (agentgym.client), both kinds ---------------------------------------------


class Synced:
    """A sync `Client` (or one of its resources) behind AsyncClient's awaitable interface:
    each method runs as it is, its answer handed back through a coroutine."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._target, name)
        if not callable(found):
            return Synced(found)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return found(*args, **kwargs)

        return call


MakeClient = Callable[..., Any]


@pytest.fixture(params=["sync", "async"])
async def make_client(request: pytest.FixtureRequest, base_url: str) -> AsyncIterator[MakeClient]:
    """`make_client(**kwargs)`: a client of the API at `base_url` (unless given another),
    closed at the end of the test."""
    opened: list[Client | AsyncClient] = []

    def make(**kwargs: Any) -> Any:
        kwargs.setdefault("base_url", base_url)
        if request.param == "sync":
            client = Client(**kwargs)
            opened.append(client)
            return Synced(client)
        async_client = AsyncClient(**kwargs)
        opened.append(async_client)
        return async_client

    yield make
    for client in opened:
        if isinstance(client, Client):
            client.close()
        else:
            await client.close()


@pytest.fixture
def client(make_client: MakeClient) -> Any:
    return make_client(api_key="")
