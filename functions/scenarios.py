"""`/api/scenarios`: the catalog trainers register in the store. Lambda: `functions.scenarios.handler`."""

from __future__ import annotations

from fastapi import APIRouter
from mangum import Mangum

from agentgym.records import ScenarioRecord
from functions import lookups
from functions.factory import create_app
from functions.resources import Authenticated, StoreDep

router = APIRouter(prefix="/api/scenarios", tags=["scenarios"], dependencies=[Authenticated])


@router.get("", response_model=list[ScenarioRecord])
async def list_scenarios(store: StoreDep) -> list[ScenarioRecord]:
    """Every scenario a trainer can run, with its metadata and hyperparameter ranges."""
    return await lookups.scenarios(store)


@router.get("/{scenario_id}", response_model=ScenarioRecord)
async def get_scenario(scenario_id: str, store: StoreDep) -> ScenarioRecord:
    return await lookups.scenario(store, scenario_id)


app = create_app(router)
handler = Mangum(app, lifespan="off")
