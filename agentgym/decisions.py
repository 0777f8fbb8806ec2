"""Decisions, as gateways send them (`POST /api/decisions`) and the API keeps them: every choice
a served model made (`decision`) and every call an agent made after one (`call`), on JetStream
subject `agentgym.decisions.<tenant>.<scenario_id>` (agentgym/subjects.py), the request's words
redacted by the tenant's privacy rules first (agentgym/traces/privacy.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from agentgym.contracts import Body, Schema
from agentgym.scenario.definition import SCENARIO_ID

DECISION_ID = r"^dec_[0-9a-f]{32}$"
SESSION = r"^[A-Za-z0-9_-]{1,64}$"  # a gateway's own name for the MCP session it served
# A call that names no decision joins the latest decision of its MCP session at most this long
# before it; a search in the same session this soon after a decision, before any call joined
# to it, is that decision "searched again" (the agent did not take what it was served).
JOIN_WINDOW_S = 600.0


def new_decision_id() -> str:
    return f"dec_{uuid.uuid4().hex}"


NAME = Annotated[str, Field(min_length=1, max_length=200)]
MAX_ITEMS = 1000  # a gateway flushes at most this many at once
MAX_TOOLS = 10_000


class ShadowChoice(Body):
    """What a loop's shadow candidate would have served for the request (never served: it has
    no outcome of its own, and informs, it does not estimate)."""

    model_id: NAME
    served: list[NAME] = Field(max_length=MAX_TOOLS)


class DecisionIn(Body):
    kind: Literal["decision"]
    id: str = Field(pattern=DECISION_ID)
    time: float
    model_id: NAME
    scenario_id: str = Field(pattern=SCENARIO_ID)
    scenario_version: str = Field(max_length=200)
    tools_digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    text: str = Field(max_length=8192)
    tools: list[NAME] = Field(max_length=MAX_TOOLS)  # on offer
    served: list[NAME] = Field(max_length=MAX_TOOLS)  # in the order served
    cursor: str | None = Field(default=None, max_length=32)
    probabilities: dict[str, float] = Field(max_length=MAX_TOOLS)  # the model's, of those scored
    # The serving policy's probability of putting served[0] first (exploration included).
    first_probability: float = Field(gt=0.0, le=1.0)
    explored: bool = False
    unsure: bool = False
    in_scope: bool = True
    session: str | None = Field(default=None, pattern=SESSION)
    shadow: ShadowChoice | None = None


class CallIn(Body):
    kind: Literal["call"]
    id: str = Field(pattern=r"^call_[0-9a-f]{32}$")
    time: float
    scenario_id: str = Field(pattern=SCENARIO_ID)
    decision_id: str | None = Field(default=None, pattern=DECISION_ID)
    tool: NAME
    is_error: bool
    latency_ms: float = Field(ge=0.0)
    session: str | None = Field(default=None, pattern=SESSION)


class FeedbackBody(Body):
    """`POST /api/decisions/{id}/feedback`: how the decision turned out, from -1 to 1 (given
    again, the later stands)."""

    reward: float = Field(ge=-1.0, le=1.0)
    comment: str | None = Field(default=None, max_length=2000)


class FeedbackIn(FeedbackBody):
    """Feedback as a gateway passes it on (its `report_outcome` tool)."""

    kind: Literal["feedback"]
    decision_id: str = Field(pattern=DECISION_ID)
    scenario_id: str = Field(pattern=SCENARIO_ID)
    time: float


class Feedback(Schema):
    reward: float
    comment: str | None = None
    time: float

    def encoded(self) -> bytes:
        return self.model_dump_json().encode()


Item = Annotated[DecisionIn | CallIn | FeedbackIn, Field(discriminator="kind")]


class DecisionBatch(Body):
    items: list[Item] = Field(min_length=1, max_length=MAX_ITEMS)


class DecisionsAccepted(Schema):
    accepted: int


class DecisionDetail(Schema):
    """`GET /api/decisions/{id}`: the decision, the calls that followed it (each with `joined`:
    "id" or "session", and `rank`: where the decision served its tool, None if it did not),
    whether the agent searched again instead, and its feedback."""

    decision: dict[str, object]
    calls: list[dict[str, object]]
    searched_again: bool = False
    feedback: Feedback | None


class DecisionsPage(Schema):
    items: list[dict[str, object]]  # decisions and calls, in the order they were taken in
    next_after: int  # the cursor to read on from


class Joined:
    """Which decision each call followed, by the rule of `JOIN_WINDOW_S`: the `decision_id`
    the agent passed back, or else the latest decision of the call's MCP session at most that
    long before it (gateways keep no state between requests: the join is made when read, at a
    snapshot or a page). And which decisions the agent searched again after instead of
    calling: a later search of the same session (not a page of the same one) within the
    window, before any call joined the decision."""

    def __init__(self, items: Sequence[dict[str, Any]]) -> None:
        self.decisions = {item["id"]: item for item in items if item.get("kind") == "decision"}
        self.calls: dict[str, list[dict[str, Any]]] = {}  # per decision, each with joined, rank
        latest: dict[str, dict[str, Any]] = {}  # per session, its latest decision so far
        again: dict[str, float] = {}  # decision -> when the same session searched again
        for item in sorted(items, key=lambda i: i.get("time", 0.0)):
            session = item.get("session")
            if item.get("kind") == "decision":
                before = latest.get(session) if session else None
                if before is not None and item.get("cursor") is None and _within(before, item):
                    again.setdefault(before["id"], item["time"])
                if session:
                    latest[session] = item
            elif item.get("kind") == "call":
                decision, how = self.decisions.get(item.get("decision_id") or ""), "id"
                if decision is None and not item.get("decision_id") and session:
                    decision, how = latest.get(session), "session"
                    if decision is not None and not _within(decision, item):
                        decision = None
                if decision is not None:
                    served = decision.get("served") or []
                    rank = served.index(item["tool"]) if item["tool"] in served else None
                    joined = item | {"joined": how, "rank": rank}
                    self.calls.setdefault(decision["id"], []).append(joined)
        self.searched_again = {
            decision_id
            for decision_id, at in again.items()
            if all(call["time"] > at for call in self.calls.get(decision_id, []))
        }


def _within(decision: dict[str, Any], later: dict[str, Any]) -> bool:
    return bool(0.0 <= later["time"] - decision["time"] <= JOIN_WINDOW_S)


def logs_of(
    items: list[dict[str, Any]], feedback: dict[str, Feedback]
) -> tuple[list[dict[str, Any]], int]:
    """Decisions as logged episodes (a scenario's `logs`), and how many were left out as
    having no call after them.

    A decision's log is its request, each call `Joined` to it in order (`succeeded`: the
    upstream did not answer an error), and its feedback's reward (none: no reward, which is
    not a zero). The first call has the serving policy's probability where it is the tool
    served first (`first_probability`); any other call, the agent's choice among what it was
    served, has none. The tools on offer are the scenario's (a gateway's are its upstreams':
    the tools a snapshot adds to the scenario are those the calls named)."""
    joined = Joined(items)
    logs, without = [], 0
    for item in joined.decisions.values():
        made = joined.calls.get(item["id"], [])
        if not made:
            without += 1
            continue
        served = item.get("served") or []
        log: dict[str, Any] = {
            "id": item["id"],
            "text": item["text"],
            "calls": [
                {
                    "tool": call["tool"],
                    "succeeded": not call["is_error"],
                    **(
                        {"probability": item["first_probability"]}
                        if position == 0 and served[:1] == [call["tool"]]
                        else {}
                    ),
                }
                for position, call in enumerate(made)
            ],
            "time": datetime.fromtimestamp(item["time"], UTC).isoformat().replace("+00:00", "Z"),
        }
        if item["id"] in feedback:
            log["reward"] = feedback[item["id"]].reward
        logs.append(log)
    return logs, without
