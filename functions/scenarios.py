"""`/api/scenarios`: the catalog trainers register in the store. Lambda: `functions.scenarios.handler`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from agentgym.records import ScenarioRecord
from functions import lambda_entry, lookups
from functions.resources import Authenticated, StoreDep

router = APIRouter(prefix="/api/scenarios", tags=["scenarios"], dependencies=[Authenticated])


@router.get("", response_model=list[ScenarioRecord])
async def list_scenarios(store: StoreDep) -> list[ScenarioRecord]:
    """Every scenario a trainer can run, with its metadata and hyperparameter ranges."""
    return await lookups.scenarios(store)


@router.get("/{scenario_id}", response_model=ScenarioRecord)
async def get_scenario(scenario_id: str, store: StoreDep) -> ScenarioRecord:
    return await lookups.scenario(store, scenario_id)


def __getattr__(name: str) -> Any:
    """`app` and `handler`, this Lambda entry point's, built on first use (lambda_entry)."""
    return lambda_entry.attribute(__name__, router, name)
