"""Trainers as NATS workers: training driven through the API, end to end."""

from __future__ import annotations

import asyncio
import json

import httpx

from agentgym import bundle
from agentgym.contracts import Framework
from trainer.run import Run

from .conftest import WorkerFactory, wait_for

SEED_START = {"scenario_id": "customer_support", "framework": "LangChain", "learning_rate": 0.001}


def start(api: httpx.Client, **body: object) -> str:
    response = api.post("/api/training/start", json=SEED_START | body)
    assert response.status_code == 200, response.text
    return str(response.json()["session_id"])


def updates(api: httpx.Client, session_id: str, since: int = 0) -> list[dict[str, object]]:
    result: list[dict[str, object]] = api.get(
        f"/api/training/{session_id}/metrics", params={"since": since}
    ).json()
    return result


async def test_a_worker_registers_the_scenarios(api: httpx.Client, workers: WorkerFactory) -> None:
    assert api.get("/api/scenarios").json() == []
    async with workers():
        listed = {s["id"]: s for s in api.get("/api/scenarios").json()}
    assert set(listed) == {"customer_support", "code_review", "data_analysis"}
    support = listed["customer_support"]
    assert support["tasks"] >= 300 and len(support["tools"]) == 11
    assert support["hyperparameters"]["max_episodes"]["max"] >= 100_000


async def test_a_session_trains_to_completion_and_saves_its_model(
    api: httpx.Client, workers: WorkerFactory
) -> None:
    async with workers():
        session_id = start(api, max_episodes=400, seed=3)
        status = await wait_for(api, session_id, lambda s: s["status"] == "completed")
    assert status["current_episode"] == 400 and status["model_id"]
    assert status["accuracy"] > 0 and status["heldout_accuracy"] > 0
    assert status["episodes_per_second"] > 0  # even a run shorter than a rate window has one
    history = updates(api, session_id)
    assert [u["seq"] for u in history] == list(range(1, len(history) + 1))  # no hole
    episodes = [u["data"]["current_episode"] for u in history]  # type: ignore[index]
    assert episodes == sorted(episodes) and episodes[-1] == 400
    assert history[-1]["data"]["status"] == "completed"  # type: ignore[index]
    model = api.get(f"/api/models/{status['model_id']}").json()
    assert (model["episodes"], model["scenario"], model["framework"]) == (
        400,
        "customer_support",
        "LangChain",
    )
    assert model["accuracy"] == status["heldout_accuracy"] and model["size_mb"] > 0
    manifest, _ = bundle.unpack(api.get(f"/api/models/{model['id']}/download").content)
    assert manifest.hyperparameters.seed == 3 and manifest.metrics.episodes == 400


async def test_pause_stops_updates_and_resume_continues_from_the_same_episode(
    api: httpx.Client, workers: WorkerFactory
) -> None:
    async with workers():
        session_id = start(api, max_episodes=100_000)
        await wait_for(api, session_id, lambda s: s["current_episode"] > 150)
        assert api.post(f"/api/training/{session_id}/pause").json() == {"status": "paused"}
        paused = await wait_for(api, session_id, lambda s: s["status"] == "paused")
        count = len(updates(api, session_id))
        await asyncio.sleep(0.5)
        assert len(updates(api, session_id)) == count  # nothing trains while paused
        assert (
            api.get(f"/api/training/{session_id}").json()["current_episode"]
            == paused["current_episode"]
        )

        api.post(f"/api/training/{session_id}/resume")
        await wait_for(api, session_id, lambda s: s["status"] == "running")
        while not (resumed := updates(api, session_id, since=count)):
            await asyncio.sleep(0.05)
        first = resumed[0]["data"]["current_episode"]  # type: ignore[index]
        assert first >= paused["current_episode"]  # continued, not started over
        api.post(f"/api/training/{session_id}/stop")
        stopped = await wait_for(api, session_id, lambda s: s["status"] == "stopped")
    assert stopped["current_episode"] < 100_000 and stopped["model_id"]
    assert (
        api.get(f"/api/models/{stopped['model_id']}").json()["episodes"]
        == stopped["current_episode"]
    )
    seqs = [u["seq"] for u in updates(api, session_id)]
    assert seqs == list(range(1, len(seqs) + 1))  # no hole across pause and resume


async def test_a_pause_recorded_before_any_worker_took_the_session_is_honoured(
    api: httpx.Client, workers: WorkerFactory
) -> None:
    async with workers():
        pass  # a worker came and went: the catalog is registered, no trainer runs now
    session_id = start(api, max_episodes=300)
    api.post(f"/api/training/{session_id}/pause")
    async with workers():
        await asyncio.sleep(1.5)  # the worker takes the queued start, finds it paused, drops it
        assert api.get(f"/api/training/{session_id}").json()["status"] == "paused"
        api.post(f"/api/training/{session_id}/resume")
        done = await wait_for(api, session_id, lambda s: s["status"] == "completed")
    assert done["current_episode"] == 300


async def test_stop_of_a_paused_session_saves_its_model(
    api: httpx.Client, workers: WorkerFactory
) -> None:
    async with workers():
        session_id = start(api, max_episodes=100_000)
        await wait_for(api, session_id, lambda s: s["current_episode"] > 100)
        api.post(f"/api/training/{session_id}/pause")
        paused = await wait_for(api, session_id, lambda s: s["status"] == "paused")
        api.post(f"/api/training/{session_id}/stop")
        stopped = await wait_for(api, session_id, lambda s: s["status"] == "stopped")
    assert stopped["current_episode"] == paused["current_episode"]
    assert api.get(f"/api/models/{stopped['model_id']}").status_code == 200


async def test_workers_share_the_sessions(api: httpx.Client, workers: WorkerFactory) -> None:
    async with (
        workers(worker_id="w1", concurrency=1),
        workers(worker_id="w2", concurrency=1) as second,
    ):
        ids = [start(api, max_episodes=100_000) for _ in range(2)]
        for session_id in ids:
            await wait_for(api, session_id, lambda s: s["status"] == "running")
        owners = set()
        for session_id in ids:
            owners.add(
                json.loads((await second.store.get(f"sessions/{session_id}")).value)["owner"]
            )
        assert owners == {"w1", "w2"}
        for session_id in ids:
            api.post(f"/api/training/{session_id}/stop")
        for session_id in ids:
            await wait_for(api, session_id, lambda s: s["status"] == "stopped")


async def test_a_model_is_evaluated_by_a_trainer(api: httpx.Client, workers: WorkerFactory) -> None:
    async with workers():
        session_id = start(api, max_episodes=500, seed=1)
        status = await wait_for(api, session_id, lambda s: s["status"] == "completed")
        # In a thread: the worker answers on this test's event loop, which must stay free.
        response = await asyncio.to_thread(api.post, f"/api/models/{status['model_id']}/evaluate")
    assert response.status_code == 200, response.text
    scores = response.json()
    assert scores["heldout_accuracy"] == status["heldout_accuracy"] and scores["tasks"] >= 60
    assert set(scores["per_tool"]) >= {"lookup_user", "refund"}
    assert api.post("/api/models/model_nope/evaluate").status_code == 404


async def test_evaluation_without_a_trainer_is_503(
    api: httpx.Client, workers: WorkerFactory
) -> None:
    async with workers():
        pass  # registers the catalog
    run = Run("customer_support", 0.001, seed=1, max_episodes=10)
    imported = api.post(
        "/api/models/import",
        content=run.bundle(Framework.AUTOGEN)[1],
        headers={"Content-Type": "application/zip"},
    ).json()
    response = api.post(f"/api/models/{imported['id']}/evaluate")
    assert response.status_code == 503 and "no trainer" in response.json()["detail"]
    assert response.headers["retry-after"] == "1"
