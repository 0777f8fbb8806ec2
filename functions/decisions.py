"""`/api/decisions`: what served models chose and what agents did next (agentgym/decisions.py).
Lambda: `functions.decisions.handler`.

- `POST /api/decisions` (`{"items": [...]}`, at most 1,000): a gateway's batch, stored on the
  tenant's JetStream subjects, each scenario's its own (a duplicate id within two minutes, a
  gateway's retry, is stored once); the request's words redacted by the tenant's privacy rules
  first, as traces are. A scenario the tenant does not have is a 404 naming it.
- `GET /api/decisions?scenario=&model=&since=&until=&after=&limit=&feedback=`: the log, in the
  order taken in, paged by the `next_after` cursor, each call joined to its decision (on the
  page) by agentgym/decisions.py's rule; with `feedback=true`, each decision with its reward.
- `GET /api/decisions/{id}`: one decision, the calls that followed it (among the next 1,000 its
  scenario logged: those naming it, or joined by its MCP session), whether the agent searched
  again instead, and its feedback.
Reading them (the two GETs) needs a key with the `decisions` scope (agentgym/auth.py): they
hold users' own words. Any key may write them.
- `POST /api/decisions/{id}/feedback` (`{"reward": -1..1, "comment"?}`): how it turned out;
  given again, the later stands. A gateway's `report_outcome` comes in its batches.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from agentgym.bus import Decisions
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
    Joined,
)
from agentgym.scenario.definition import SCENARIO_ID
from agentgym.traces.privacy import redact
from functions import errors, lambda_entry, lookups
from functions.errors import HttpError
from functions.resources import DecisionsDep, DecisionsReaderDep, KeysDep, StoreDep

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
    keys: DecisionsReaderDep,
    decisions: DecisionsDep,
    scenario: Annotated[str | None, Query(pattern=SCENARIO_ID)] = None,
    model: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    since: Annotated[float | None, Query(ge=0, description="unix time, inclusive")] = None,
    until: Annotated[float | None, Query(ge=0, description="unix time, exclusive")] = None,
    after: Annotated[int, Query(ge=0, le=MAX_CURSOR)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    feedback: Annotated[
        bool, Query(description="each decision with its feedback's `reward` (null: none given)")
    ] = False,
) -> DecisionsPage:
    """The tenant's decisions and calls (of `scenario`, or all), after the cursor `after`:
    `limit` read, then kept if made by `model` and between `since` and `until` (a call: if the
    decision it joined is kept), so a page may hold fewer; read on from `next_after`. Calls
    say which decision they joined on the page and how (`joined_to`, `joined`, `rank`), and
    decisions whether the agent searched again instead (`searched_again`)."""
    found, cursor = await decisions.decisions(keys.tenant, scenario, after, limit)
    items = [json.loads(data) for _, data in found]
    joined = Joined(items)
    for decision_id, calls in joined.calls.items():
        for call in calls:
            call["joined_to"] = decision_id
    by_id = {call["id"]: call for calls in joined.calls.values() for call in calls}
    items = [by_id.get(item["id"], item) for item in items]
    for item in items:
        if item.get("kind") == "decision":
            item["searched_again"] = item["id"] in joined.searched_again

    def kept(item: dict[str, Any]) -> bool:
        decision = (
            item
            if item.get("kind") == "decision"
            else joined.decisions.get(item.get("joined_to") or item.get("decision_id") or "")
        )
        if model is not None and (decision is None or decision.get("model_id") != model):
            return False
        return (since is None or item["time"] >= since) and (until is None or item["time"] < until)

    items = [item for item in items if kept(item)]
    if feedback:
        await _with_rewards(decisions, keys.tenant, items)
    return DecisionsPage(items=items, next_after=cursor)


async def _with_rewards(decisions: Decisions, tenant: str, items: list[dict[str, Any]]) -> None:
    """Each decision given its feedback's `reward` (None where none was given), read for the
    page at once: the Loop page's reward by model reads pages, not a request per decision."""
    ids = [item["id"] for item in items if item.get("kind") == "decision"]
    given = await decisions.feedback(tenant, ids)
    for item in items:
        if item.get("kind") == "decision":
            found = given.get(item["id"])
            item["reward"] = None if found is None else Feedback.model_validate_json(found).reward


DecisionId = Annotated[str, Path(pattern=DECISION_ID)]


def _missing(decision_id: str) -> HttpError:
    return HttpError(404, f"decision {decision_id!r} not found (or no longer kept)")


@router.get("/{decision_id}", response_model=DecisionDetail)
async def get_decision(
    decision_id: DecisionId, keys: DecisionsReaderDep, decisions: DecisionsDep
) -> DecisionDetail:
    """The decision, the calls that followed it and its feedback."""
    found = await decisions.decision(keys.tenant, decision_id)
    if found is None:
        raise _missing(decision_id)
    decision = json.loads(found.decision)
    joined = Joined([decision, *(json.loads(item) for item in found.following)])
    return DecisionDetail(
        decision=decision,
        calls=joined.calls.get(decision_id, []),
        searched_again=decision_id in joined.searched_again,
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
