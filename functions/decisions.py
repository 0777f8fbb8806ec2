"""`/api/decisions`: what served models chose and what agents did next (agentgym/decisions.py).

- `POST /api/decisions` (`{"items": [...]}`, at most 1,000): a gateway's batch, stored on the
  tenant's JetStream subjects, each scenario's its own (a duplicate id within two minutes, a
  gateway's retry, is stored once); the request's words redacted by the tenant's privacy rules
  first, as traces are. A scenario the tenant does not have is a 404 naming it.
- `GET /api/decisions?scenario=&after=&limit=`: the log, in the order taken in, paged by the
  `next_after` cursor.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query

from agentgym.contracts import built
from agentgym.decisions import DecisionBatch, DecisionIn, DecisionsAccepted, DecisionsPage
from agentgym.scenario.definition import SCENARIO_ID
from agentgym.traces.privacy import redact
from functions import errors, lookups
from functions.resources import BusDep, HistoryDep, KeysDep, StoreDep

router = APIRouter(prefix="/api/decisions", tags=["decisions"], responses=errors.DOCUMENTED)
built(DecisionBatch)  # before its route (contracts.Body)
MAX_PAGE = 1000


@router.post("", response_model=DecisionsAccepted)
async def take_decisions(
    body: DecisionBatch, store: StoreDep, keys: KeysDep, bus: BusDep
) -> DecisionsAccepted:
    """Store a gateway's decisions and calls."""
    for scenario_id in sorted({item.scenario_id for item in body.items}):
        await lookups.scenario(store, keys, scenario_id)  # 404 naming it, and the known ones
    patterns = (await lookups.privacy(store, keys)).redact_patterns
    stored = []
    for item in body.items:
        if isinstance(item, DecisionIn):
            item = item.model_copy(update={"text": redact(item.text, patterns)})
        stored.append((item.scenario_id, item.id, item.model_dump_json().encode()))
    await bus.publish_decisions(keys.tenant, stored)
    return DecisionsAccepted(accepted=len(stored))


@router.get("", response_model=DecisionsPage)
async def list_decisions(
    keys: KeysDep,
    history: HistoryDep,
    scenario: Annotated[str | None, Query(pattern=SCENARIO_ID)] = None,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> DecisionsPage:
    """The tenant's decisions and calls (of `scenario`, or all), after the cursor `after`."""
    found, cursor = await history.decisions(keys.tenant, scenario, after, limit)
    return DecisionsPage(items=[json.loads(data) for data in found], next_after=cursor)
