"""`/api/training`: starting, reading and steering sessions, against real servers."""

from __future__ import annotations

import httpx
import pytest

from agentgym import history, nats_client, subjects
from agentgym.artifacts import ArtifactStore
from agentgym.config import ApiSettings
from agentgym.errors import ArtifactNotFoundError
from agentgym.messages import TrainingUpdate
from agentgym.records import Keys, SessionRecord, SettingsRecord, modify
from agentgym.state import SessionStatus
from agentgym.store import KeyValueStore

from .conftest import Commands

SEED_START = {
    "scenario_id": "customer_support",
    "framework": "LangChain",
    "max_episodes": 200,
    "learning_rate": 0.001,
}


def start(api: httpx.Client, **body: object) -> str:
    response = api.post("/api/training/start", json=SEED_START | body)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "started"
    return str(response.json()["session_id"])


async def set_status(store: KeyValueStore, session_id: str, status: SessionStatus) -> None:
    """What a trainer does when it takes a session (no trainer runs in these tests)."""

    def change(session: SessionRecord) -> SessionRecord:
        session.status = status
        return session

    await modify(store, Keys().session(session_id), SessionRecord, change)


async def test_start_queues_a_session_with_numbers_from_the_start(
    api: httpx.Client, commands: Commands
) -> None:
    session_id = start(api, seed=7)
    status = api.get(f"/api/training/{session_id}").json()
    assert status["status"] == "queued"
    assert status["scenario_id"] == "customer_support" and status["framework"] == "LangChain"
    assert (status["max_episodes"], status["learning_rate"], status["seed"]) == (200, 0.001, 7)
    for field in ("current_episode", "accuracy", "avg_reward", "loss", "heldout_accuracy"):
        assert status[field] == 0, field
    assert status["elapsed_time"] == "0:00:00"
    assert await commands.for_session(session_id) == [("start", session_id)]


def test_a_start_says_which_adapter_serves_its_framework(api: httpx.Client) -> None:
    body = {"scenario_id": "customer_support", "max_episodes": 200}
    langchain = api.post("/api/training/start", json=body | {"framework": "LangChain"}).json()
    assert langchain["adapter"] == "agentgym.adapters.langchain" and langchain["notice"] is None
    crewai = api.post("/api/training/start", json=body | {"framework": "CrewAI"}).json()
    assert crewai["status"] == "started" and crewai["adapter"] == "agentgym.adapters.tool_choice"
    assert "no CrewAI adapter" in crewai["notice"] and "trains all the same" in crewai["notice"]
    assert api.get(f"/api/training/{crewai['session_id']}").json()["status"] == "queued"


async def test_omitted_or_null_numbers_take_the_settings_defaults(
    api: httpx.Client, store: KeyValueStore
) -> None:
    await store.put("settings", SettingsRecord(maxEpisodes=321, learningRate=0.01).dump())
    response = api.post(
        "/api/training/start",
        json={"scenario_id": "code_review", "max_episodes": None, "learning_rate": None},
    )
    status = api.get(f"/api/training/{response.json()['session_id']}").json()
    assert (status["max_episodes"], status["learning_rate"]) == (321, 0.01)
    assert status["framework"] == "LangChain"
    assert isinstance(status["seed"], int)


def test_unknown_scenario_is_404_listing_the_known_ones(api: httpx.Client) -> None:
    response = api.post("/api/training/start", json=SEED_START | {"scenario_id": "poetry"})
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "poetry" in detail
    for known in ("customer_support", "code_review", "data_analysis"):
        assert known in detail


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"max_episodes": 1_000_001}, "max_episodes"),
        ({"learning_rate": 2.0}, "learning_rate"),
        ({"max_episodes": 0}, "max_episodes"),
        ({"framework": "Haystack"}, "framework"),
        ({"max_episodes": "lots"}, "max_episodes"),
        ({"warm_start": "model_nowhere"}, "warm_start: no model or alias 'model_nowhere'"),
        ({"warm_start": ""}, "warm_start"),
    ],
)
def test_out_of_range_or_wrong_values_are_422_naming_the_field(
    api: httpx.Client, change: dict[str, object], field: str
) -> None:
    response = api.post("/api/training/start", json=SEED_START | change)
    assert response.status_code == 422
    assert field in response.json()["detail"]


async def test_idempotency_key_returns_the_same_session_and_publishes_once(
    api: httpx.Client, commands: Commands
) -> None:
    headers = {"Idempotency-Key": "ui-click-42"}
    first = api.post("/api/training/start", json=SEED_START, headers=headers).json()
    again = api.post("/api/training/start", json=SEED_START, headers=headers).json()
    assert first == again
    assert await commands.for_session(first["session_id"]) == [("start", first["session_id"])]
    other = api.post(
        "/api/training/start", json=SEED_START | {"max_episodes": 500}, headers=headers
    )
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]


def test_list_has_every_session_in_start_order(api: httpx.Client) -> None:
    ids = [start(api) for _ in range(3)]
    listed = [s["session_id"] for s in api.get("/api/training").json()]
    assert [i for i in listed if i in ids] == ids


def test_unknown_session_is_404_for_every_verb(api: httpx.Client) -> None:
    assert api.get("/api/training/session_nope").status_code == 404
    assert api.get("/api/training/not.a.valid.id").status_code == 404
    for verb in ("pause", "resume", "stop"):
        response = api.post(f"/api/training/session_nope/{verb}")
        assert response.status_code == 404
        assert "session_nope" in response.json()["detail"]
    assert api.get("/api/training/session_nope/metrics").status_code == 404


async def test_pause_of_a_queued_session_pauses_it_at_once_and_resume_requeues(
    api: httpx.Client, commands: Commands, store: KeyValueStore
) -> None:
    session_id = start(api)
    assert api.post(f"/api/training/{session_id}/pause").json() == {"status": "paused"}
    assert api.get(f"/api/training/{session_id}").json()["status"] == "paused"
    assert api.post(f"/api/training/{session_id}/resume").json() == {"status": "resumed"}
    assert api.get(f"/api/training/{session_id}").json()["status"] == "queued"
    queued = await commands.for_session(session_id)
    revision = (await store.get(Keys().session(session_id))).revision
    assert queued == [("start", session_id), ("resume", f"{session_id}:resume:{revision}")]


async def test_pause_of_a_running_session_records_the_wish_for_its_trainer(
    api: httpx.Client, store: KeyValueStore
) -> None:
    session_id = start(api)
    await set_status(store, session_id, SessionStatus.RUNNING)
    assert api.post(f"/api/training/{session_id}/pause").json() == {"status": "paused"}
    record = SessionRecord.load((await store.get(Keys().session(session_id))).value)
    assert (record.status, record.pending) == ("running", "pause")


async def test_stop_of_a_paused_session_queues_a_stop_command(
    api: httpx.Client, commands: Commands, store: KeyValueStore
) -> None:
    session_id = start(api)
    api.post(f"/api/training/{session_id}/pause")
    assert api.post(f"/api/training/{session_id}/stop").json() == {"status": "stopped"}
    record = SessionRecord.load((await store.get(Keys().session(session_id))).value)
    assert record.pending == "stop"
    actions = [action for action, _ in await commands.for_session(session_id)]
    assert actions == ["start", "stop"]
    refused = api.post(f"/api/training/{session_id}/resume")
    assert refused.status_code == 409 and "being stopped" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("status", "verb"),
    [
        (SessionStatus.COMPLETED, "pause"),
        (SessionStatus.COMPLETED, "stop"),
        (SessionStatus.RUNNING, "resume"),
        (SessionStatus.STOPPED, "resume"),
        (SessionStatus.FAILED, "pause"),
    ],
)
async def test_illegal_transitions_are_409_saying_the_current_status(
    api: httpx.Client, store: KeyValueStore, status: SessionStatus, verb: str
) -> None:
    session_id = start(api)
    await set_status(store, session_id, status)
    response = api.post(f"/api/training/{session_id}/{verb}")
    assert response.status_code == 409
    assert f"is {status}" in response.json()["detail"]
    assert response.json()["code"] == "conflict"


def test_metrics_of_a_new_session_are_an_empty_list(api: httpx.Client) -> None:
    session_id = start(api)
    response = api.get(f"/api/training/{session_id}/metrics")
    assert response.status_code == 200 and response.json() == []
    assert api.get(f"/api/training/{session_id}/metrics?since=-1").status_code == 422


async def test_metrics_return_the_recorded_updates_after_since(
    api: httpx.Client, nats_server_for_module: str
) -> None:
    from agentgym import nats_client, subjects
    from agentgym.messages import TrainingUpdate

    session_id = start(api)
    status = api.get(f"/api/training/{session_id}").json()
    client = await nats_client.connect(nats_server_for_module, "test-trainer")
    try:
        js = client.jetstream()
        for seq in range(1, 6):
            update = TrainingUpdate(
                session_id=session_id, seq=seq, data=status | {"current_episode": seq}
            )
            await js.publish(subjects.metrics_subject(session_id), update.encode())
    finally:
        await client.close()
    everything = api.get(f"/api/training/{session_id}/metrics").json()
    assert [u["seq"] for u in everything] == [1, 2, 3, 4, 5]
    assert everything[0]["type"] == "training_update" and everything[0]["session_id"] == session_id
    after = api.get(f"/api/training/{session_id}/metrics", params={"since": 3}).json()
    assert [u["data"]["current_episode"] for u in after] == [4, 5]
    thinned = api.get(f"/api/training/{session_id}/metrics", params={"points": 3}).json()
    assert [u["seq"] for u in thinned] == [1, 3, 5]  # evenly spaced, the first and last kept
    whole = api.get(f"/api/training/{session_id}/metrics", params={"points": 9, "limit": 1})
    assert len(whole.json()) == 5  # fewer than the points: all of them, whatever the limit


async def test_an_ended_session_is_deleted_with_its_checkpoint_and_updates(
    api: httpx.Client, store: KeyValueStore, artifacts: ArtifactStore, settings: ApiSettings
) -> None:
    session_id = start(api)
    await set_status(store, session_id, SessionStatus.STOPPED)
    await artifacts.put(Keys().checkpoint(session_id), b"checkpoint")
    client = await nats_client.connect(settings.nats_url, "test-delete")
    try:
        js = client.jetstream()
        record = SessionRecord.load((await store.get(Keys().session(session_id))).value)
        update = TrainingUpdate(session_id=session_id, seq=1, data=record.status_view())
        await js.publish(subjects.metrics_subject(session_id), update.encode())
        assert len(await history.read_updates(js, session_id)) == 1
        assert api.delete(f"/api/training/{session_id}").json() == {"status": "deleted"}
        assert await history.read_updates(js, session_id) == []
    finally:
        await client.close()
    assert api.get(f"/api/training/{session_id}").status_code == 404
    assert api.delete(f"/api/training/{session_id}").status_code == 404
    with pytest.raises(ArtifactNotFoundError):
        await artifacts.get(Keys().checkpoint(session_id))


@pytest.mark.parametrize("status", [SessionStatus.QUEUED, SessionStatus.RUNNING])
async def test_a_session_a_trainer_may_hold_cannot_be_deleted(
    api: httpx.Client, store: KeyValueStore, status: SessionStatus
) -> None:
    session_id = start(api)
    await set_status(store, session_id, status)
    response = api.delete(f"/api/training/{session_id}")
    assert response.status_code == 409 and status.value in response.json()["detail"]
    assert api.get(f"/api/training/{session_id}").status_code == 200
