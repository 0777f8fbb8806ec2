"""`/api/decisions`: what served models chose and what agents did next (agentgym/decisions.py).
Lambda: `functions.decisions.handler`.

- `POST /api/decisions` (`{"items": [...]}`, at most 1,000): a gateway's batch, stored on the
  tenant's JetStream subjects, each scenario's its own (a duplicate id within two minutes, a
  gateway's retry, is stored once); the request's words redacted by the tenant's privacy rules
  first, as traces are. A scenario the tenant does not have is a 404 naming it.
- `GET /api/decisions?scenario=&after=&limit=`: the log, in the order taken in, paged by the
  `next_after` cursor.
- `GET /api/decisions/{id}`: one decision, the calls that followed it (among the next 1,000 its
  scenario logged), and its feedback.
- `POST /api/decisions/{id}/feedback` (`{"reward": -1..1, "comment"?}`): how it turned out;
  given again, the later stands. A gateway's `report_outcome` comes in its batches.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from agentgym.contracts import built
from agentgym.decisions import (
    DECISION_ID,
    DecisionBatch,
    DecisionDetail,
    DecisionIn,
    DecisionsAccepted,
    DecisionsPage,
    Feedback,
    FeedbackBody,
    FeedbackIn,
)
from agentgym.scenario.definition import SCENARIO_ID
from agentgym.traces.privacy import redact
from functions import errors, lambda_entry, lookups
from functions.errors import HttpError
from functions.resources import DecisionsDep, KeysDep, StoreDep

router = APIRouter(prefix="/api/decisions", tags=["decisions"], responses=errors.DOCUMENTED)
built(DecisionBatch)  # before their routes (contracts.Body)
built(FeedbackBody)
MAX_PAGE = 1000
MAX_CURSOR = 2**53  # a stream sequence, within what JSON numbers hold exactly


@router.post("", response_model=DecisionsAccepted)
async def take_decisions(
    body: DecisionBatch, store: StoreDep, keys: KeysDep, decisions: DecisionsDep
) -> DecisionsAccepted:
    """Store a gateway's decisions and calls."""
    for scenario_id in sorted({item.scenario_id for item in body.items}):
        await lookups.scenario(store, keys, scenario_id)  # 404 naming it, and the known ones
    patterns = (await lookups.privacy(store, keys)).redact_patterns
    stored = []
    for item in body.items:
        if isinstance(item, FeedbackIn):
            continue
        if isinstance(item, DecisionIn):
            item = item.model_copy(update={"text": redact(item.text, patterns)})
        stored.append((item.scenario_id, item.id, item.model_dump_json().encode()))
    await decisions.publish_decisions(keys.tenant, stored)
    for item in body.items:  # after the decisions they may be about, in the same batch
        if isinstance(item, FeedbackIn):
            feedback = Feedback(reward=item.reward, comment=item.comment, time=item.time)
            await decisions.give_feedback(keys.tenant, item.decision_id, feedback.encoded())
    return DecisionsAccepted(accepted=len(body.items))


@router.get("", response_model=DecisionsPage)
async def list_decisions(
    keys: KeysDep,
    decisions: DecisionsDep,
    scenario: Annotated[str | None, Query(pattern=SCENARIO_ID)] = None,
    after: Annotated[int, Query(ge=0, le=MAX_CURSOR)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> DecisionsPage:
    """The tenant's decisions and calls (of `scenario`, or all), after the cursor `after`."""
    found, cursor = await decisions.decisions(keys.tenant, scenario, after, limit)
    return DecisionsPage(items=[json.loads(data) for _, data in found], next_after=cursor)


DecisionId = Annotated[str, Path(pattern=DECISION_ID)]


def _missing(decision_id: str) -> HttpError:
    return HttpError(404, f"decision {decision_id!r} not found (or no longer kept)")


@router.get("/{decision_id}", response_model=DecisionDetail)
async def get_decision(
    decision_id: DecisionId, keys: KeysDep, decisions: DecisionsDep
) -> DecisionDetail:
    """The decision, the calls that followed it and its feedback."""
    found = await decisions.decision(keys.tenant, decision_id)
    if found is None:
        raise _missing(decision_id)
    return DecisionDetail(
        decision=json.loads(found.decision),
        calls=[json.loads(call) for call in found.calls],
        feedback=None if found.feedback is None else Feedback.model_validate_json(found.feedback),
    )


@router.post("/{decision_id}/feedback", response_model=Feedback)
async def give_feedback(
    decision_id: DecisionId, body: FeedbackBody, keys: KeysDep, decisions: DecisionsDep
) -> Feedback:
    """How the decision turned out; given again, the later stands."""
    feedback = Feedback(reward=body.reward, comment=body.comment, time=time.time())
    if not await decisions.give_feedback(keys.tenant, decision_id, feedback.encoded()):
        raise _missing(decision_id)
    return feedback


def __getattr__(name: str) -> Any:
    """`app` and `handler`, this Lambda entry point's, built on first use (lambda_entry)."""
    return lambda_entry.attribute(__name__, router, name)
