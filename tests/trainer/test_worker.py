"""Trainers as NATS workers: training driven through the API, end to end."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest

from agentgym import bundle, nats_client, subjects
from agentgym.contracts import Framework
from agentgym.messages import EvaluateRequest, TrainCommand
from agentgym.weights import LEARNER_NAME
from trainer import scenarios
from trainer.model.config import Config
from trainer.run import Run
from trainer.session import PREPARING, Session

from ..functions.test_custom_scenarios import scenario_file
from ..inprocess import settled
from .conftest import WorkerFactory, until, wait_for

SEED_START = {"scenario_id": "customer_support", "framework": "LangChain", "learning_rate": 0.001}


async def start(api: httpx.AsyncClient, **body: object) -> str:
    response = await api.post("/api/training/start", json=SEED_START | body)
    assert response.status_code == 200, response.text
    return str(response.json()["session_id"])


async def updates(
    api: httpx.AsyncClient, session_id: str, since: int = 0
) -> list[dict[str, object]]:
    response = await api.get(f"/api/training/{session_id}/metrics", params={"since": since})
    result: list[dict[str, object]] = response.json()
    return result


async def test_the_built_in_scenarios_are_listed_before_any_worker_runs(
    api: httpx.AsyncClient,
) -> None:
    listed = {s["id"]: s for s in (await api.get("/api/scenarios")).json()}
    assert set(listed) == {"customer_support", "code_review", "data_analysis"}
    support = listed["customer_support"]
    assert support["tasks"] >= 300 and len(support["tools"]) == 11
    assert support["hyperparameters"]["max_episodes"]["max"] >= 100_000


async def test_a_session_trains_to_completion_and_saves_its_model(
    api: httpx.AsyncClient, workers: WorkerFactory
) -> None:
    async with workers():
        session_id = await start(api, max_episodes=400, seed=3)
        status = await wait_for(api, session_id, lambda s: s["status"] == "completed")
    assert status["current_episode"] == 400 and status["model_id"]
    assert status["accuracy"] > 0 and status["heldout_accuracy"] > 0
    assert status["episodes_per_second"] > 0  # even a run shorter than a rate window has one
    history = await updates(api, session_id)
    assert [u["seq"] for u in history] == list(range(1, len(history) + 1))  # no hole
    # A speed from the first update on, not 0 until a one-second window has passed.
    trained = [u["data"] for u in history if u["data"]["current_episode"]]  # type: ignore[index]
    assert trained and all(d["episodes_per_second"] > 0 for d in trained)  # type: ignore[index]
    episodes = [u["data"]["current_episode"] for u in history]  # type: ignore[index]
    assert episodes == sorted(episodes) and episodes[-1] == 400
    assert history[-1]["data"]["status"] == "completed"  # type: ignore[index]
    model = (await api.get(f"/api/models/{status['model_id']}")).json()
    assert (model["episodes"], model["scenario"], model["framework"]) == (
        400,
        "customer_support",
        "LangChain",
    )
    assert model["accuracy"] == status["heldout_accuracy"] and model["size_mb"] > 0
    manifest, _ = bundle.unpack((await api.get(f"/api/models/{model['id']}/download")).content)
    assert manifest.hyperparameters.seed == 3 and manifest.metrics.episodes == 400


async def test_a_run_slow_to_set_up_says_it_is_preparing(
    api: httpx.AsyncClient,
    workers: WorkerFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """As a scenario's first session on a machine is while it reads what its texts mean."""
    load = Session._load

    async def slow(self: Session, run: Any, record: Any) -> Any:
        await asyncio.sleep(1.0)
        return await load(self, run, record)

    monkeypatch.setattr(Session, "_load", slow)
    caplog.set_level(logging.INFO, logger="trainer.session")
    async with workers():
        session_id = await start(api, max_episodes=200)
        status = await wait_for(api, session_id, lambda s: s["activity"] is not None)
        assert status["status"] == "queued" and status["activity"] == PREPARING
        done = await wait_for(api, session_id, lambda s: s["status"] == "completed")
    assert done["activity"] is None
    assert f"{session_id}: {PREPARING}" in caplog.text


async def test_pause_stops_updates_and_resume_continues_from_the_same_episode(
    api: httpx.AsyncClient, workers: WorkerFactory
) -> None:
    async with workers() as worker:
        session_id = await start(api, max_episodes=100_000)
        await wait_for(api, session_id, lambda s: s["current_episode"] > 150)
        assert (await api.post(f"/api/training/{session_id}/pause")).json() == {"status": "paused"}
        paused = await wait_for(api, session_id, lambda s: s["status"] == "paused")
        await settled(worker)  # the session has left it: its last update is out
        count = len(await updates(api, session_id))
        await asyncio.sleep(0.5)  # kept: that nothing happens for a while is what is tested
        assert len(await updates(api, session_id)) == count  # nothing trains while paused
        still = (await api.get(f"/api/training/{session_id}")).json()
        assert still["current_episode"] == paused["current_episode"]

        await api.post(f"/api/training/{session_id}/resume")
        await wait_for(api, session_id, lambda s: s["status"] == "running")
        resumed = await until(
            lambda: updates(api, session_id, since=count), bool, "an update after the resume"
        )
        first = resumed[0]["data"]["current_episode"]  # type: ignore[index]
        assert first >= paused["current_episode"]  # continued, not started over
        await api.post(f"/api/training/{session_id}/stop")
        stopped = await wait_for(api, session_id, lambda s: s["status"] == "stopped")
    assert stopped["current_episode"] < 100_000 and stopped["model_id"]
    model = (await api.get(f"/api/models/{stopped['model_id']}")).json()
    assert model["episodes"] == stopped["current_episode"]
    seqs = [u["seq"] for u in await updates(api, session_id)]
    assert seqs == list(range(1, len(seqs) + 1))  # no hole across pause and resume


async def test_a_pause_recorded_before_any_worker_took_the_session_is_honoured(
    api: httpx.AsyncClient, workers: WorkerFactory
) -> None:
    session_id = await start(api, max_episodes=300)
    await api.post(f"/api/training/{session_id}/pause")
    async with workers() as worker:
        await settled(worker)  # the worker took the queued start, found it paused, dropped it
        assert (await api.get(f"/api/training/{session_id}")).json()["status"] == "paused"
        await api.post(f"/api/training/{session_id}/resume")
        done = await wait_for(api, session_id, lambda s: s["status"] == "completed")
    assert done["current_episode"] == 300


async def test_stop_of_a_paused_session_saves_its_model(
    api: httpx.AsyncClient, workers: WorkerFactory
) -> None:
    async with workers():
        session_id = await start(api, max_episodes=100_000)
        await wait_for(api, session_id, lambda s: s["current_episode"] > 100)
        await api.post(f"/api/training/{session_id}/pause")
        paused = await wait_for(api, session_id, lambda s: s["status"] == "paused")
        await api.post(f"/api/training/{session_id}/stop")
        stopped = await wait_for(api, session_id, lambda s: s["status"] == "stopped")
    assert stopped["current_episode"] == paused["current_episode"]
    assert (await api.get(f"/api/models/{stopped['model_id']}")).status_code == 200


async def test_a_command_for_a_session_busy_with_another_waits_for_it(
    api: httpx.AsyncClient, workers: WorkerFactory, urls: dict[str, str]
) -> None:
    """A stop command that reaches the worker while it still carries out the session's start
    (as one may just after a pause is written) is handled once that is done, not dropped."""
    async with workers() as worker:
        session_id = await start(api, max_episodes=100_000)
        await wait_for(api, session_id, lambda s: s["status"] == "running")
        stop = TrainCommand(session_id=session_id, action="stop")
        await worker.js.publish(subjects.CMD_SUBJECT, stop.encode())
        await asyncio.sleep(0.5)  # kept: the stop is fetched and put back while it trains
        await api.post(f"/api/training/{session_id}/pause")
        stopped = await wait_for(api, session_id, lambda s: s["status"] == "stopped")
    assert stopped["model_id"] is not None


async def test_workers_share_the_sessions(api: httpx.AsyncClient, workers: WorkerFactory) -> None:
    async with (
        workers(worker_id="w1", concurrency=1),
        workers(worker_id="w2", concurrency=1) as second,
    ):
        ids = [await start(api, max_episodes=100_000) for _ in range(2)]
        for session_id in ids:
            await wait_for(api, session_id, lambda s: s["status"] == "running")
        owners = set()
        for session_id in ids:
            owners.add(
                json.loads((await second.store.get(f"sessions/{session_id}")).value)["owner"]
            )
        assert owners == {"w1", "w2"}
        for session_id in ids:
            await api.post(f"/api/training/{session_id}/stop")
        for session_id in ids:
            await wait_for(api, session_id, lambda s: s["status"] == "stopped")


async def test_a_model_is_evaluated_by_a_trainer(
    api: httpx.AsyncClient, workers: WorkerFactory
) -> None:
    async with workers():
        session_id = await start(api, max_episodes=500, seed=1)
        status = await wait_for(api, session_id, lambda s: s["status"] == "completed")
        # The worker answers on this test's event loop, which the async client leaves free.
        response = await api.post(f"/api/models/{status['model_id']}/evaluate")
    assert response.status_code == 200, response.text
    scores = response.json()
    # The model saved is the run's best on validation: evaluated again, it scores what it was
    # saved with (the status says the last evaluation's, which may be another episode's).
    saved = (await api.get(f"/api/models/{status['model_id']}")).json()  # its detail
    assert scores["heldout_accuracy"] == saved["accuracy"] and scores["tasks"] >= 60
    # ... measured on that many tasks, which says how far to trust it.
    assert saved["accuracy_n"] == scores["tasks"]
    assert saved["accuracy_ci95"] == scores["heldout_ci95"]
    # It says exactly how it was trained: every hyperparameter of its learner, by name.
    assert saved["learner"] == LEARNER_NAME
    assert saved["hyperparameters"]["learner"] == Config().to_dict()
    assert saved["hyperparameters"]["sources"] == ["demonstrations", "simulator"]
    assert saved["hyperparameters"]["seed"] == 1
    assert set(scores["per_tool"]) >= {"lookup_user", "refund"}
    # Its calibration over the held-out decisions, every step of every held-out task.
    calibration = scores["calibration"]
    assert calibration["decisions"] > scores["tasks"] and 0 <= calibration["ece"] <= 1
    assert calibration["ci95"][0] <= calibration["ece"] <= calibration["ci95"][1]
    assert sum(b["count"] for b in calibration["bins"]) == calibration["decisions"]
    assert (await api.post("/api/models/model_nope/evaluate")).status_code == 404


async def test_a_session_learns_from_the_sources_it_names(
    api: httpx.AsyncClient, workers: WorkerFactory
) -> None:
    async with workers():
        session_id = await start(api, max_episodes=800, seed=2, sources=["simulator"])
        status = await wait_for(api, session_id, lambda s: s["status"] == "completed")
    assert status["sources"] == ["simulator"] and status["heldout_accuracy"] > 0
    saved = (await api.get(f"/api/models/{status['model_id']}")).json()
    assert saved["hyperparameters"]["sources"] == ["simulator"]
    wrong = await api.post("/api/training/start", json=SEED_START | {"sources": ["oracle"]})
    assert wrong.status_code == 422 and "sources" in wrong.text


async def test_a_session_asked_for_kfold_cross_validates_once_trained(
    api: httpx.AsyncClient, workers: WorkerFactory
) -> None:
    async with workers():
        session_id = await start(api, max_episodes=600, seed=1, evaluation="kfold")
        validating = await wait_for(
            api, session_id, lambda s: (s["activity"] or "").startswith("cross-validating")
        )
        assert validating["status"] == "running" and validating["current_episode"] == 600
        assert validating["kfold"] is None and validating["model_id"] is None
        status = await wait_for(api, session_id, lambda s: s["status"] == "completed")
    kfold = status["kfold"]
    assert (status["evaluation"], kfold["k"], kfold["n"], len(kfold["folds"])) == (
        "kfold",
        5,
        360,
        5,
    )
    assert kfold["ci95"][0] <= kfold["accuracy"] <= kfold["ci95"][1] and status["activity"] is None
    model = (await api.get(f"/api/models/{status['model_id']}")).json()
    assert model["kfold"] == kfold
    wrong = await api.post("/api/training/start", json=SEED_START | {"evaluation": "loo"})
    assert wrong.status_code == 422 and "evaluation" in wrong.text


async def test_evaluation_without_a_trainer_is_503(api: httpx.AsyncClient) -> None:
    run = Run(scenarios.get("customer_support"), 0.001, seed=1, max_episodes=10)
    imported = (
        await api.post(
            "/api/models/import",
            content=run.bundle(Framework.AUTOGEN)[1],
            headers={"Content-Type": "application/zip"},
        )
    ).json()
    response = await api.post(f"/api/models/{imported['id']}/evaluate")
    assert response.status_code == 503 and "no trainer" in response.json()["detail"]
    assert response.headers["retry-after"] == "1"


async def test_act_and_evaluate_are_a_discoverable_service_whose_refusals_ride_in_headers(
    urls: dict[str, str], workers: WorkerFactory
) -> None:
    client = await nats_client.connect(urls["nats_url"], "test-service")
    try:
        async with workers(worker_id="w-service"):
            ping = await client.request(f"$SRV.PING.{subjects.TRAINER_SERVICE}", b"", timeout=5)
            info = json.loads(
                (await client.request(f"$SRV.INFO.{subjects.TRAINER_SERVICE}", timeout=5)).data
            )
            refused = await client.request(subjects.ACT_SUBJECT, b"not json", timeout=5)
            missing = EvaluateRequest(model_id="nope").encode()
            unknown = await client.request(subjects.EVALUATE_SUBJECT, missing, timeout=5)
    finally:
        await client.close()
    assert json.loads(ping.data)["name"] == subjects.TRAINER_SERVICE
    assert {e["subject"] for e in info["endpoints"]} == {
        subjects.ACT_SUBJECT,
        subjects.EVALUATE_SUBJECT,
    }
    assert refused.headers is not None and refused.data == b""
    assert refused.headers[subjects.SERVICE_ERROR_CODE] == "400"
    assert "malformed" in refused.headers[subjects.SERVICE_ERROR]
    assert unknown.headers is not None
    assert unknown.headers[subjects.SERVICE_ERROR_CODE] == "422"


async def test_stop_of_a_paused_session_whose_scenario_was_deleted_ends_stopped_saying_why(
    api: httpx.AsyncClient, workers: WorkerFactory
) -> None:
    pushed = await api.post(
        "/api/scenarios",
        content=json.dumps(scenario_file("shop_gone")),
        headers={"Content-Type": "application/json"},
    )
    assert pushed.status_code == 201, pushed.text
    async with workers():
        session_id = await start(api, scenario_id="shop_gone", max_episodes=100_000)
        await wait_for(api, session_id, lambda s: s["current_episode"] > 50)
        await api.post(f"/api/training/{session_id}/pause")
        await wait_for(api, session_id, lambda s: s["status"] == "paused")
    assert (await api.delete("/api/scenarios/shop_gone")).status_code == 200
    async with workers():  # a trainer that never read the scenario takes the stop
        await api.post(f"/api/training/{session_id}/stop")
        stopped = await wait_for(api, session_id, lambda s: s["status"] == "stopped")
    assert stopped["model_id"] is None and "shop_gone" in stopped["error"]
    assert stopped["pending"] is None
