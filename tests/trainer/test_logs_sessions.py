"""A session that learns from a scenario's logged episodes alone, through the API and a real
trainer, and a model evaluated on another scenario's logs (`POST /api/models/{id}/evaluate`
with a body)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import httpx
import numpy as np

from .conftest import WorkerFactory, wait_for

SEED_START = {"framework": "LangChain", "learning_rate": 0.001}


def logs_scenario(scenario_id: str, probabilities: bool) -> dict[str, Any]:
    """customer_support's tools and held-out tasks, and one logged first call per task from a
    policy right half the time (at random otherwise), its reward 1 where it was right; the
    training tasks' solutions are nowhere in it."""
    text = resources.files("agentgym.scenario.builtin").joinpath("customer_support.json")
    builtin = json.loads(text.read_text())
    tools = [tool["name"] for tool in builtin["tools"]]
    rng = np.random.default_rng(0)
    logs = []
    for task in builtin["tasks"]:
        right = task["solution"][0]
        tool = right if rng.random() < 0.5 else tools[int(rng.integers(len(tools)))]
        p = 0.5 / len(tools) + (0.5 if tool == right else 0.0)
        call = {"tool": tool} | ({"probability": p} if probabilities else {})
        logs.append({"id": f"log-{task['id']}", "text": task["text"], "calls": [call],
                     "reward": float(tool == right), "split": task["split"]})  # fmt: skip
    return {
        "id": scenario_id,
        "name": "Support, as logged",
        "tools": builtin["tools"],
        "tasks": [task for task in builtin["tasks"] if task["split"] == "heldout"],
        "logs": logs,
    }


async def push(api: httpx.AsyncClient, body: dict[str, Any]) -> None:
    pushed = await api.post(
        "/api/scenarios", content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert pushed.status_code == 201, pushed.text


async def test_a_session_learns_from_logs_alone_and_says_how(
    api: httpx.AsyncClient, workers: WorkerFactory
) -> None:
    await push(api, logs_scenario("support_logged", probabilities=True))
    await push(api, logs_scenario("support_unweighted", probabilities=False))
    body = SEED_START | {"scenario_id": "support_logged", "max_episodes": 1000, "seed": 1}
    async with workers():
        started = await api.post("/api/training/start", json=body)
        assert started.status_code == 200, started.text
        session_id = started.json()["session_id"]
        status = await wait_for(api, session_id, lambda s: s["status"] == "completed")
        model_id = status["model_id"]
        # Evaluated on its own held-out logs, and on another scenario's, all of whose logs
        # are then held out (the same requests, logged without probabilities: dm alone).
        own = await api.post(f"/api/models/{model_id}/evaluate")
        other = await api.post(
            f"/api/models/{model_id}/evaluate", json={"scenario_id": "support_unweighted"}
        )
        act = await api.post(
            f"/api/models/{model_id}/act", json={"text": "I was charged twice this month"}
        )
    assert status["sources"] is None and status["logs"]["how"] == "importance-weighted"
    assert status["logs"]["weighted"] > 200 and status["logs"]["unused"] == 0
    assert status["accuracy"] > 50  # agreeing with what went well
    # Its held-out tasks played in the environment (whole sequences: first calls were all the
    # logs taught, so none is solved whole).
    assert status["heldout_n"] == 72
    assert own.status_code == 200, own.text
    offline = own.json()["offline"]
    assert offline["n"] == 72 and offline["dr"]["ci95"][0] <= offline["dr"]["value"]
    assert other.status_code == 200, other.text
    elsewhere = other.json()["offline"]
    assert (
        elsewhere["n"] == 360 and elsewhere["dr"] is None and "probabilities" in elsewhere["reason"]
    )
    assert elsewhere["dm"] is not None
    assert act.status_code == 200 and act.json()["next"] != "finish"
    saved = (await api.get(f"/api/models/{model_id}")).json()
    assert saved["hyperparameters"]["sources"] == ["logs"]


async def test_what_a_scenario_has_no_data_for_is_refused_saying_so(
    api: httpx.AsyncClient,
) -> None:
    await push(api, logs_scenario("support_logged", probabilities=True))
    body = SEED_START | {"scenario_id": "support_logged", "sources": ["simulator"]}
    refused = await api.post("/api/training/start", json=body)
    assert (
        refused.status_code == 422 and "simulator needs training tasks" in refused.json()["detail"]
    )
    tasks_only = SEED_START | {"scenario_id": "customer_support", "sources": ["logs"]}
    refused = await api.post("/api/training/start", json=tasks_only)
    assert refused.status_code == 422 and "logs needs logs with an outcome" in refused.text
    missing = await api.post("/api/models/model_nope/evaluate", json={"scenario_id": "x"})
    assert missing.status_code == 404
