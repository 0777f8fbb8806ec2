"""`act` and `evaluate` through an alias, answered by a real trainer for the model it names."""

from __future__ import annotations

import httpx

from agentgym.contracts import Framework
from trainer import scenarios
from trainer.run import Run

from .conftest import WorkerFactory


async def test_act_and_evaluate_through_an_alias_answer_for_the_model_it_names(
    api: httpx.AsyncClient, workers: WorkerFactory
) -> None:
    run = Run(scenarios.get("customer_support"), 0.001, seed=1, max_episodes=10)
    imported = await api.post("/api/models/import", content=run.bundle(Framework.AUTOGEN)[1],
                              headers={"Content-Type": "application/zip"})  # fmt: skip
    model_id = imported.json()["id"]
    assert (await api.put("/api/aliases/production", json={"model_id": model_id})).is_success
    async with workers():
        acted = await api.post("/api/models/production/act", json={"text": "refund order 1182"})
        evaluated = await api.post("/api/models/production/evaluate")
    assert acted.status_code == 200, acted.text
    assert acted.json()["model_id"] == model_id and acted.json()["next"]
    logged = await api.get(f"/api/decisions/{acted.json()['decision_id']}")
    assert logged.json()["decision"]["model_id"] == model_id  # the model, not the alias
    assert evaluated.status_code == 200, evaluated.text
    assert evaluated.json()["model_id"] == model_id and evaluated.json()["tasks"] > 0
