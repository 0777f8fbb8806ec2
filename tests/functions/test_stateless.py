"""Two API instances over one store and one NATS behave as one."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from agentgym.config import ApiSettings
from agentgym.records import Keys, SessionRecord, modify
from agentgym.state import SessionStatus
from agentgym.store import KeyValueStore
from functions.app import build
from functions.resources import Resources

from ..servers import serve_asgi
from .conftest import Commands


@pytest.fixture
def second(settings: ApiSettings, store: KeyValueStore) -> Iterator[httpx.Client]:
    with (
        serve_asgi(build(Resources(settings))) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        yield client


async def test_a_session_started_on_one_instance_is_steered_through_the_other(
    api: httpx.Client, second: httpx.Client, store: KeyValueStore, commands: Commands
) -> None:
    body = {"scenario_id": "data_analysis", "framework": "CrewAI", "max_episodes": 50}
    session_id = api.post("/api/training/start", json=body).json()["session_id"]
    assert second.get(f"/api/training/{session_id}").json()["framework"] == "CrewAI"

    def running(session: SessionRecord) -> SessionRecord:
        session.status = SessionStatus.RUNNING  # as the trainer that took it would
        return session

    await modify(store, Keys().session(session_id), SessionRecord, running)
    assert second.post(f"/api/training/{session_id}/pause").json() == {"status": "paused"}

    def paused(session: SessionRecord) -> SessionRecord:
        session.status, session.pending = SessionStatus.PAUSED, None  # the trainer obeyed
        return session

    await modify(store, Keys().session(session_id), SessionRecord, paused)
    assert api.get(f"/api/training/{session_id}").json()["status"] == "paused"
    assert api.post(f"/api/training/{session_id}/resume").json() == {"status": "resumed"}
    assert second.post(f"/api/training/{session_id}/stop").json() == {"status": "stopped"}
    record = SessionRecord.load((await store.get(Keys().session(session_id))).value)
    assert (record.status, record.pending) == ("queued", "stop")
    assert [a for a, _ in await commands.for_session(session_id)] == ["start", "resume", "stop"]
    assert session_id in [s["session_id"] for s in second.get("/api/training").json()]


def test_settings_written_through_one_are_read_through_the_other(
    api: httpx.Client, second: httpx.Client
) -> None:
    api.put("/api/settings", json={"maxEpisodes": 777})
    assert second.get("/api/settings").json()["maxEpisodes"] == 777
