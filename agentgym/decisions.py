"""Decisions, as gateways send them (`POST /api/decisions`) and the API keeps them: every choice
a served model made (`decision`) and every call an agent made after one (`call`), on JetStream
subject `agentgym.decisions.<tenant>.<scenario_id>` (agentgym/subjects.py), the request's words
redacted by the tenant's privacy rules first (agentgym/traces/privacy.py)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

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
