"""What acting with a saved model takes and answers: `POST /api/models/{id}/act`, and the
body of `POST /api/models/{id}/evaluate`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from agentgym.contracts import Body, Schema
from agentgym.scenario.tool_shapes import read_tool

MAX_ACT_TEXT = 4000  # characters of a request to act on
MAX_ACT_CALLS = 100  # calls made so far
MAX_ACT_TOOLS = 1000  # tools on offer (as many as a scenario may have)


class ActCall(Body):
    tool: str = Field(min_length=1, max_length=200)
    succeeded: bool = True


class ToolOffered(Schema):
    """A tool on offer to `act`, by its definition: `{"name", "description"}`, OpenAI's
    `{"type": "function", "function": {"name", "description", ...}}` or MCP's `{"name",
    "description", "inputSchema"}` (what else a definition holds is ignored). A tool the model
    never saw is ranked by its name and description."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)

    @model_validator(mode="before")
    @classmethod
    def _shaped(cls, data: Any) -> Any:
        """Any of the shapes a scenario's tools come in (agentgym.scenario.tool_shapes)."""
        read = read_tool(data).fields
        return data if read is None else {k: read[k] for k in ("name", "description") if k in read}


class ActBody(Body):
    """`POST /api/models/{id}/act`."""

    text: str = Field(min_length=1, max_length=MAX_ACT_TEXT)
    calls: list[ActCall] = Field(default_factory=list, max_length=MAX_ACT_CALLS)
    # Names the model knows, or definitions (ToolOffered), mixed as you like.
    tools: list[Annotated[str, Field(min_length=1, max_length=200)] | ToolOffered] | None = Field(
        default=None, max_length=MAX_ACT_TOOLS
    )


class EvaluateBody(Body):
    """`POST /api/models/{id}/evaluate` (optional): another scenario, or another version of the
    model's own, to evaluate it on (the latest version where `version` is omitted)."""

    scenario_id: str = Field(min_length=1, max_length=200)
    version: str | None = Field(default=None, min_length=1, max_length=200)


class ActAnswer(Schema):
    next: str  # a tool, or "finish"
    probabilities: dict[str, float]  # of each tool on offer, and of "finish"
    plan: list[str]  # the greedy sequence of tools from here, assuming each call succeeds
    confidence: float  # the calibrated probability that `next` is right, 0-1
    in_scope: bool  # whether the request is like those it trained on (trainer/model/scope.py)
    # The fewest choices (tools, or "finish") that hold the right next one with probability
    # `coverage`, most probable first, by split conformal prediction on decisions the model
    # did not train on; every choice, and coverage null, for a model not calibrated so.
    prediction_set: list[str] = Field(default_factory=list)
    coverage: float | None = None
    # Whether the model cannot vouch for `next`: the request is out of scope, less like those
    # it trained on than requests of the kinds it trained on are (a kind it never saw), or its
    # prediction set holds more than one choice.
    unsure: bool = False
    # The decision this answer is, in the decisions' log (`GET /api/decisions`).
    decision_id: str | None = None
    # The model that answered: the one its alias named, where it was asked for by an alias.
    model_id: str | None = None
