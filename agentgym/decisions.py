"""Decisions, as gateways send them (`POST /api/decisions`) and the API keeps them: every choice
a served model made (`decision`) and every call an agent made after one (`call`), on JetStream
subject `agentgym.decisions.<tenant>.<scenario_id>` (agentgym/subjects.py), the request's words
redacted by the tenant's privacy rules first (agentgym/traces/privacy.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from agentgym.contracts import Body, Schema
from agentgym.scenario.definition import SCENARIO_ID

DECISION_ID = r"^dec_[0-9a-f]{32}$"


def new_decision_id() -> str:
    return f"dec_{uuid.uuid4().hex}"


NAME = Annotated[str, Field(min_length=1, max_length=200)]
MAX_ITEMS = 1000  # a gateway flushes at most this many at once
MAX_TOOLS = 10_000


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


class CallIn(Body):
    kind: Literal["call"]
    id: str = Field(pattern=r"^call_[0-9a-f]{32}$")
    time: float
    scenario_id: str = Field(pattern=SCENARIO_ID)
    decision_id: str | None = Field(default=None, pattern=DECISION_ID)
    tool: NAME
    is_error: bool
    latency_ms: float = Field(ge=0.0)


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
    """`GET /api/decisions/{id}`: the decision, the calls that followed it, its feedback."""

    decision: dict[str, object]
    calls: list[dict[str, object]]
    feedback: Feedback | None


class DecisionsPage(Schema):
    items: list[dict[str, object]]  # decisions and calls, in the order they were taken in
    next_after: int  # the cursor to read on from


def logs_of(
    items: list[dict[str, Any]], feedback: dict[str, Feedback]
) -> tuple[list[dict[str, Any]], int]:
    """Decisions as logged episodes (a scenario's `logs`), and how many were left out as
    having no call after them.

    The rule (calls join their decision by the `decision_id` the agent passed back; a call
    without one joins nothing): a decision's log is its request, each call that named it in
    order (`succeeded`: the upstream did
    not answer an error), and its feedback's reward (none: no reward, which is not a zero).
    The first call has the serving policy's probability where it is the tool served first
    (`first_probability`); any other call, the agent's choice among what it was served, has
    none. The tools on offer are the scenario's (a gateway's are its upstreams': the tools a
    snapshot adds to the scenario are those the calls named)."""
    calls: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        if item.get("kind") == "call" and item.get("decision_id"):
            calls.setdefault(item["decision_id"], []).append(item)
    logs, without = [], 0
    for item in items:
        if item.get("kind") != "decision":
            continue
        made = sorted(calls.get(item["id"], []), key=lambda call: call["time"])
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
