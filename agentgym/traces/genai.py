"""OpenTelemetry GenAI spans and evaluation events as pieces of logged episodes: pure, OTLP's
decoded messages in, `Piece`s and what was skipped out.

Per the GenAI semantic conventions:
- An episode is a trace, or the traces of one `gen_ai.conversation.id` (read a trace at a
  time, as `Piece`s, and joined when episodes are made: agentgym.traces.episodes).
- Its calls are its `execute_tool` spans (`gen_ai.operation.name`), in the order they began:
  `gen_ai.tool.name` the tool, `error.type` or an error status a failed call, and
  `agentgym.probability` (ours) the probability the serving policy gave it, where known.
- Its text is the first user message of `gen_ai.input.messages` (structured messages,
  `[{"role": "user", "parts": [{"type": "text", "content": ...}]}]`, on an inference span),
  of the episode's earliest span that has one; its tools on offer, `gen_ai.tool.definitions`.
  Both are opt-in in the conventions: without them an episode is kept, without text.
- Its outcome: `gen_ai.evaluation.result` events (as log records, or span events of older
  SDKs), and `gen_ai.evaluation.user_feedback`, on a span of the episode's trace or naming
  one of its `gen_ai.response.id`s; each score mapped to [-1, 1] by `reward_of`, their mean.
- Whose it was: `user.id` (or the older `enduser.id`), kept as a hash (`user_key`), so that a
  person's episodes can be deleted by their id.
- The scenario: the resource's `agentgym.scenario`, else its `service.name`, characters an id
  may not hold turned to "-".

Spans that are none of these are ignored and counted; a GenAI span that says too little (a
tool span without a tool's name, a probability outside (0, 1]) is skipped, counted by reason.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

SCENARIO_ATTRIBUTE = "agentgym.scenario"
PROBABILITY_ATTRIBUTE = "agentgym.probability"
EVALUATION_EVENTS = frozenset({"gen_ai.evaluation.result", "gen_ai.evaluation.user_feedback"})
# Labels an evaluator may give without a score, and what they mean.
POSITIVE = frozenset({"pass", "passed", "correct", "relevant", "good", "yes", "positive", "thumbs_up", "like", "resolved"})  # fmt: skip
NEGATIVE = frozenset({"fail", "failed", "incorrect", "not_relevant", "irrelevant", "bad", "no", "negative", "thumbs_down", "dislike", "unresolved"})  # fmt: skip
_NOT_ID = re.compile(r"[^A-Za-z0-9_-]")
STATUS_ERROR = 2  # opentelemetry.proto.trace.v1.Status.STATUS_CODE_ERROR


@dataclass
class Call:
    span_id: str
    start: int  # unix nanoseconds
    tool: str
    succeeded: bool
    probability: float | None = None


@dataclass
class Piece:
    """What one export says of one episode (the receiver merges pieces of an episode)."""

    scenario: str
    trace: str  # its trace id, hex
    conversation: str | None = None  # its gen_ai.conversation.id: an episode across traces
    user: str | None = None  # whose it was: a hash of its user.id (user_key)
    calls: list[Call] = field(default_factory=list)
    text: tuple[int, str] | None = None  # (when it was said, the first user message)
    tools: dict[str, str] = field(default_factory=dict)  # on offer: name to description
    rewards: dict[str, float] = field(default_factory=dict)  # by the id of what said it
    responses: set[str] = field(default_factory=set)  # its gen_ai.response.ids
    root_ended: bool = False  # its trace's root span has come (spans come once ended)
    start: int = 0  # its earliest span's start, unix nanoseconds


@dataclass
class Read:
    """An export's pieces, and what was not read."""

    pieces: dict[tuple[str, str], Piece] = field(default_factory=dict)
    scenarios: set[str] = field(default_factory=set)  # of the resources read
    spans: int = 0
    ignored: int = 0  # not GenAI
    skipped: Counter[str] = field(default_factory=Counter)  # GenAI, but unusable: by reason
    # Outcomes whose episode is not in this export: (scenario or None, trace id, response id,
    # the id of what said it, the reward).
    outcomes: list[tuple[str | None, str, str | None, str, float]] = field(default_factory=list)

    def piece(self, scenario: str, trace: str) -> Piece:
        return self.pieces.setdefault((scenario, trace), Piece(scenario, trace))


def value(any_value: Any) -> Any:
    """An OTLP AnyValue as Python."""
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: value(kv.value) for kv in any_value.kvlist_value.values}
    if kind == "bytes_value":
        return any_value.bytes_value.hex()
    return getattr(any_value, kind)


def attributes(items: Iterable[Any]) -> dict[str, Any]:
    return {kv.key: value(kv.value) for kv in items}


def user_key(user_id: str) -> str:
    """An end user's id as logs keep it: enough to find their episodes, not to name them."""
    return "sha256:" + hashlib.sha256(user_id.encode()).hexdigest()[:32]


def scenario_of(resource: dict[str, Any]) -> str:
    name = str(resource.get(SCENARIO_ATTRIBUTE) or resource.get("service.name") or "agent")
    return _NOT_ID.sub("-", name)[:64] or "agent"


def reward_of(score: Any, label: Any) -> float | None:
    """An evaluation's score as a reward in [-1, 1]: a score in [0, 1] (the usual evaluator's)
    as 2 * score - 1; one in (1, 5] (a 1-to-5 rating) as (score - 3) / 2; one in [-1, 0) as it
    is; without a score, a label of POSITIVE as 1 and of NEGATIVE as -1. None otherwise."""
    if isinstance(score, bool):
        return 1.0 if score else -1.0
    if isinstance(score, int | float) and math.isfinite(score):
        if 0 <= score <= 1:
            return 2 * score - 1
        if 1 < score <= 5:
            return (score - 3) / 2
        if -1 <= score < 0:
            return float(score)
        return None
    word = str(label or "").strip().lower().replace(" ", "_").replace("-", "_")
    if word in POSITIVE:
        return 1.0
    if word in NEGATIVE:
        return -1.0
    return None


def first_user_text(messages: Any) -> str | None:
    """The first user message's text in `gen_ai.input.messages` (a JSON string or a list)."""
    if isinstance(messages, str):
        try:
            messages = json.loads(messages)
        except ValueError:
            return None
    if not isinstance(messages, list):
        return None
    for message in messages:
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        parts = message.get("parts")
        if isinstance(parts, list):
            texts = [
                str(part.get("content"))
                for part in parts
                if isinstance(part, dict) and part.get("type") == "text" and part.get("content")
            ]
            if texts:
                return "\n".join(texts)
        if isinstance(message.get("content"), str):  # the older, unstructured form
            return str(message["content"])
    return None


def tool_definitions(definitions: Any) -> dict[str, str]:
    """Name to description of `gen_ai.tool.definitions` (their own shape, or OpenAI's)."""
    if isinstance(definitions, str):
        try:
            definitions = json.loads(definitions)
        except ValueError:
            return {}
    found: dict[str, str] = {}
    for item in definitions if isinstance(definitions, list) else []:
        if not isinstance(item, dict):
            continue
        function = item.get("function")
        inner: dict[str, Any] = function if isinstance(function, dict) else item
        name = inner.get("name")
        if isinstance(name, str) and name:
            found[name] = str(inner.get("description") or "")
    return found


def read_spans(request: Any, read: Read | None = None) -> Read:
    """The pieces of an ExportTraceServiceRequest."""
    read = read or Read()
    for resource_spans in request.resource_spans:
        scenario = scenario_of(attributes(resource_spans.resource.attributes))
        read.scenarios.add(scenario)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                read.spans += 1
                _read_span(read, scenario, span)
    return read


def _read_span(read: Read, scenario: str, span: Any) -> None:
    attrs = attributes(span.attributes)
    trace = span.trace_id.hex()
    events = [(event.name, attributes(event.attributes)) for event in span.events]
    operation = attrs.get("gen_ai.operation.name")
    genai = operation is not None or any(key.startswith("gen_ai.") for key in attrs)
    outcomes = [(name, a) for name, a in events if name in EVALUATION_EVENTS]
    if not genai and not outcomes:
        if not span.parent_span_id:  # an agent's root span may carry nothing of GenAI
            _piece(read, scenario, trace, attrs, span).root_ended = True
        else:
            read.ignored += 1
        return
    piece = _piece(read, scenario, trace, attrs, span)
    if not span.parent_span_id:
        piece.root_ended = True
    if isinstance(attrs.get("gen_ai.response.id"), str):
        piece.responses.add(attrs["gen_ai.response.id"])
    for index, (_, outcome) in enumerate(outcomes):
        reward = reward_of(
            outcome.get("gen_ai.evaluation.score.value"),
            outcome.get("gen_ai.evaluation.score.label"),
        )
        if reward is None:
            read.skipped["an evaluation with no score or label we read"] += 1
        else:
            piece.rewards[f"{span.span_id.hex()}:{index}"] = reward
    text = first_user_text(attrs.get("gen_ai.input.messages"))
    if text and (piece.text is None or span.start_time_unix_nano < piece.text[0]):
        piece.text = (span.start_time_unix_nano, text)
    piece.tools.update(tool_definitions(attrs.get("gen_ai.tool.definitions")))
    if operation != "execute_tool":
        return
    tool = attrs.get("gen_ai.tool.name")
    probability = attrs.get(PROBABILITY_ATTRIBUTE)
    if not isinstance(tool, str) or not tool:
        read.skipped["an execute_tool span without gen_ai.tool.name"] += 1
    elif probability is not None and not (
        isinstance(probability, int | float) and 0 < probability <= 1
    ):
        read.skipped[f"{PROBABILITY_ATTRIBUTE} outside (0, 1]"] += 1
    else:
        failed = span.status.code == STATUS_ERROR or bool(attrs.get("error.type"))
        piece.calls.append(
            Call(
                span.span_id.hex(),
                span.start_time_unix_nano,
                tool,
                not failed,
                None if probability is None else float(probability),
            )
        )
        if isinstance(attrs.get("gen_ai.tool.description"), str):
            piece.tools.setdefault(tool, attrs["gen_ai.tool.description"])


def _piece(read: Read, scenario: str, trace: str, attrs: dict[str, Any], span: Any) -> Piece:
    piece = read.piece(scenario, trace)
    conversation = attrs.get("gen_ai.conversation.id")
    if conversation:
        piece.conversation = str(conversation)
    user = attrs.get("user.id") or attrs.get("enduser.id")
    if user:
        piece.user = user_key(str(user))
    start = span.start_time_unix_nano
    piece.start = min(piece.start, start) if piece.start else start
    return piece


def read_log_records(request: Any, read: Read | None = None) -> Read:
    """The outcomes of an ExportLogsServiceRequest: evaluation events as log records."""
    read = read or Read()
    for resource_logs in request.resource_logs:
        resource = attributes(resource_logs.resource.attributes)
        scenario = scenario_of(resource) if resource else None
        if scenario is not None:
            read.scenarios.add(scenario)
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                read.spans += 1
                attrs = attributes(record.attributes)
                name = record.event_name or attrs.get("event.name")
                if name not in EVALUATION_EVENTS:
                    read.ignored += 1
                    continue
                reward = reward_of(
                    attrs.get("gen_ai.evaluation.score.value"),
                    attrs.get("gen_ai.evaluation.score.label"),
                )
                response = attrs.get("gen_ai.response.id")
                if reward is None:
                    read.skipped["an evaluation with no score or label we read"] += 1
                elif not record.trace_id and not isinstance(response, str):
                    read.skipped["an evaluation naming no trace and no gen_ai.response.id"] += 1
                else:
                    said_by = f"log:{record.trace_id.hex()}:{record.span_id.hex()}:{record.time_unix_nano}:{name}"
                    read.outcomes.append(
                        (
                            scenario,
                            record.trace_id.hex(),
                            response if isinstance(response, str) else None,
                            said_by,
                            reward,
                        )
                    )
    return read
