"""Trace exports pushed as a scenario (`POST /api/scenarios`, `agentgym scenarios push`), each
read into the logged form the receiver makes (agentgym.traces.genai's pieces, joined by
agentgym.traces.episodes). A file is a finished record: every trace in it is an episode.
Users' words are redacted with the built-in patterns (the tenant's own apply to what the
receiver takes in).

- OTLP JSON, as the OpenTelemetry Collector's file exporter writes it: one
  `ExportTraceServiceRequest` or `ExportLogsServiceRequest` a line, or one as a document.
- Langfuse observations and scores, as its public API lists them (`read_langfuse`).
- The OpenAI Agents SDK's traces, as a tracing processor exports them (`read_openai_agents`).
- LangSmith runs and feedback, as its client lists them (`Client.list_runs`,
  `list_feedback`), one JSON object a line (`Run` and `Feedback` of `langsmith.schemas`): a
  trace is an episode, its `tool` runs its calls (an `error`: the call failed), the first user
  message of its earliest chain or LLM run that has one its text, its LLM runs' `invocation_params.tools` its tools on offer, and feedback on
  any of its runs its outcome (a score mapped as the receiver maps evaluation scores).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field, ValidationError

from agentgym.scenario import safe_json
from agentgym.scenario.limits import Limits
from agentgym.scenario.parse import is_otlp
from agentgym.scenario.problems import Collector
from agentgym.traces.episodes import Pending, logs_of, response_key
from agentgym.traces.genai import (
    Call,
    Read,
    first_user_text,
    read_log_records,
    read_spans,
    reward_of,
    tool_definitions,
)
from agentgym.traces.otlp import OtlpError, message_of_json
from agentgym.traces.privacy import redact

Documents = list[tuple[int, object]]  # each JSON document with its line (0: a whole file)


def read_otlp(documents: Documents, out: Collector) -> dict[str, Any]:
    """The scenario (a file's dict, without its id) of OTLP JSON documents, each with its line
    number (0: a JSON document)."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    read = Read()
    for line, document in documents:
        where = ("line", line) if line else ()
        if not is_otlp(document):
            out.error(where, "neither resourceSpans nor resourceLogs: not an OTLP JSON export")
            continue
        assert isinstance(document, dict)
        spans = "resourceSpans" in document or "resource_spans" in document
        kind = ExportTraceServiceRequest if spans else ExportLogsServiceRequest
        try:
            message = message_of_json(document, kind)
        except OtlpError as exc:
            out.error(where, str(exc))
            continue
        (read_spans if spans else read_log_records)(message, read)
    return scenario_of(read, out)


def scenario_of(read: Read, out: Collector) -> dict[str, Any]:
    """The scenario (a file's dict, without its id) of every trace `read` holds; what was not
    read, a warning."""
    traces: dict[str, Pending] = {}
    for piece in read.pieces.values():
        if piece.text is not None:
            piece.text = (piece.text[0], redact(piece.text[1]))
        traces[piece.trace] = traces.get(piece.trace, Pending()).merged(piece, 0.0)
    waiting: dict[str, Pending] = {}
    for _, trace, response, said_by, reward in read.outcomes:
        if trace in traces:
            traces[trace] = traces[trace].with_reward(said_by, reward, 0.0)
        elif response:
            key = response_key(response)
            waiting[key] = waiting.get(key, Pending()).with_reward(said_by, reward, 0.0)
    logs, tools = logs_of(list(traces.values()), waiting)
    read_said = [f"{n} {why}" for why, n in read.skipped.most_common()]
    if read.ignored:
        read_said.append(f"{read.ignored} spans or records not GenAI, ignored")
    if read_said:
        out.warn((), f"read {read.spans} spans and records: " + "; ".join(read_said))
    return {"tools": [{"name": n, "description": d} for n, d in tools.items()], "logs": logs}


def documents_of(text: str, limits: Limits) -> list[tuple[int, object]]:
    """Each JSON line of an OTLP JSONL file, with its line number (MalformedScenarioError
    naming a line that is not JSON)."""
    return [
        (number, safe_json.loads(line, max_depth=limits.max_depth, first_line=number))
        for number, line in enumerate(text.split("\n"), 1)
        if line.strip()
    ]


class _Run(BaseModel):
    """The fields of a LangSmith `Run` (langsmith.schemas) read here: the package itself is
    not needed to read what it wrote."""

    id: UUID
    name: str
    run_type: str
    start_time: datetime
    error: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    extra: dict[str, Any] | None = None
    trace_id: UUID
    parent_run_id: UUID | None = None
    dotted_order: str | None = None


class _Feedback(BaseModel):
    """... and of its `Feedback`."""

    id: UUID
    run_id: UUID | None = None
    trace_id: UUID | None = None
    key: str
    score: bool | int | float | None = None
    value: Any = None


def read_langsmith(documents: Documents, out: Collector) -> dict[str, Any]:
    """The scenario of LangSmith runs and feedback (see the module's docstring)."""
    runs: list[_Run] = []
    feedback: list[_Feedback] = []
    for line, document in documents:
        where = ("line", line) if line else ()
        try:
            if isinstance(document, dict) and "run_type" in document:
                runs.append(_Run.model_validate(document))
            elif isinstance(document, dict) and "key" in document:
                feedback.append(_Feedback.model_validate(document))
            else:
                out.error(where, "neither a LangSmith run nor its feedback")
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            field = ".".join(str(part) for part in error["loc"])
            kind = "run" if isinstance(document, dict) and "run_type" in document else "feedback"
            out.error(where, f"not a LangSmith {kind}: {field}: {error['msg']}")
    read = Read(spans=len(runs) + len(feedback))
    trace_of: dict[UUID | None, UUID] = {run.id: run.trace_id for run in runs}
    for run in sorted(runs, key=lambda r: r.dotted_order or r.start_time.isoformat()):
        piece = read.piece("langsmith", run.trace_id.hex)
        start = int(run.start_time.timestamp() * 1e9)
        piece.start = min(piece.start, start) if piece.start else start
        if run.parent_run_id is None:
            piece.root_ended = True
        text = _text_of(run.inputs) if run.run_type in ("chain", "llm") else None
        if text and (piece.text is None or start < piece.text[0]):
            piece.text = (start, text)
        params = (run.extra or {}).get("invocation_params") or {}
        piece.tools.update(tool_definitions(params.get("tools")))
        if run.run_type == "tool":
            probability = ((run.extra or {}).get("metadata") or {}).get("agentgym.probability")
            if probability is not None and not (
                isinstance(probability, int | float) and 0 < probability <= 1
            ):
                read.skipped["agentgym.probability outside (0, 1]"] += 1
                continue
            piece.calls.append(Call(run.id.hex, start, run.name, run.error is None, probability))
        elif run.run_type not in ("chain", "llm", "prompt", "parser", "retriever", "embedding"):
            read.ignored += 1
    for item in feedback:
        reward = reward_of(item.score, item.value)
        trace = item.trace_id or trace_of.get(item.run_id)
        if reward is None:
            read.skipped["feedback with no score or value we read"] += 1
        elif trace is None or ("langsmith", trace.hex) not in read.pieces:
            read.skipped["feedback on a run not in the file"] += 1
        else:
            read.pieces[("langsmith", trace.hex)].rewards[f"feedback:{item.id}"] = reward
    return scenario_of(read, out)


def _as_openai(message: Any) -> Any:
    """A LangChain message as LangSmith stores it (serialized, or `message_to_dict`'s), in
    OpenAI's shape; any other as it is."""
    if not isinstance(message, dict):
        return message
    if (message.get("id") or [""])[-1] == "HumanMessage":
        return {"role": "user", "content": (message.get("kwargs") or {}).get("content")}
    if message.get("type") == "human":
        return {"role": "user", "content": (message.get("data") or {}).get("content")}
    return message


def _text_of(inputs: Any) -> str | None:
    """What the user asked, in a LangSmith root run's inputs: a message list's first user
    message (OpenAI's shape, or LangChain's serialized HumanMessage), else `input`,
    `question` or `query`."""
    if not isinstance(inputs, dict):
        return None
    messages = inputs.get("messages")
    while isinstance(messages, list) and messages and isinstance(messages[0], list):
        messages = messages[0]  # a chat model's batch of one
    if isinstance(messages, list):
        plain = [_as_openai(m) for m in messages]
        found = first_user_text(plain)
        if found:
            return found
    for key in ("input", "question", "query"):
        if isinstance(inputs.get(key), str) and inputs[key]:
            return str(inputs[key])
    return None


def read_langfuse(documents: Documents, out: Collector) -> dict[str, Any]:
    """The scenario of Langfuse observations and scores, as its public API lists them (one
    JSON object a line, or pages of them, `{"data": [...], "meta": ...}`): a trace is an
    episode, its `TOOL` observations its calls (level `ERROR`: the call failed), the first user
    message of its earliest observation whose input has one its text, a `GENERATION`'s
    `input.tools` its tools on offer, and its scores its outcome."""
    items: list[tuple[tuple[str | int, ...], dict[str, Any]]] = []
    for line, document in documents:
        where: tuple[str | int, ...] = ("line", line) if line else ()
        page = document.get("data") if isinstance(document, dict) else None
        for item in page if isinstance(page, list) else [document]:
            if isinstance(item, dict):
                items.append((where, item))
            else:
                out.error(where, "neither a Langfuse observation nor a score")
    read = Read(spans=len(items))
    scores: list[dict[str, Any]] = []
    for where, item in items:
        trace = _field(item, "traceId")
        if not isinstance(trace, str) or not trace:
            out.error(where, "a Langfuse observation or score names no traceId")
        elif _field(item, "dataType") is not None:
            scores.append(item)
        else:
            _observation(read, trace, item)
    for item in scores:
        reward = reward_of(_field(item, "value"), _field(item, "stringValue"))
        piece = read.pieces.get(("langfuse", _field(item, "traceId")))
        if reward is None:
            read.skipped["a score with no value we read"] += 1
        elif piece is None:
            read.skipped["a score on a trace not in the file"] += 1
        else:
            piece.rewards[f"score:{_field(item, 'id')}"] = reward
    return scenario_of(read, out)


def _field(item: dict[str, Any], camel: str) -> Any:
    """A field as Langfuse's JSON writes it (camelCase), or in snake_case."""
    if camel in item:
        return item[camel]
    return item.get("".join(f"_{c.lower()}" if c.isupper() else c for c in camel))


def _observation(read: Read, trace: str, item: dict[str, Any]) -> None:
    piece = read.piece("langfuse", trace)
    try:
        start = int(datetime.fromisoformat(str(_field(item, "startTime"))).timestamp() * 1e9)
    except ValueError:
        read.skipped["an observation whose startTime is not a time"] += 1
        return
    piece.start = min(piece.start, start) if piece.start else start
    if not _field(item, "parentObservationId"):
        piece.root_ended = True
    inputs = _field(item, "input")
    text = _text_of(inputs if isinstance(inputs, dict) else {"input": inputs})
    if text and (piece.text is None or start < piece.text[0]):
        piece.text = (start, text)
    if isinstance(inputs, dict):
        piece.tools.update(tool_definitions(inputs.get("tools")))
    if _field(item, "type") != "TOOL":
        return
    metadata = _field(item, "metadata") or {}
    probability = metadata.get("agentgym.probability") if isinstance(metadata, dict) else None
    if probability is not None and not (
        isinstance(probability, int | float) and 0 < probability <= 1
    ):
        read.skipped["agentgym.probability outside (0, 1]"] += 1
        return
    succeeded = _field(item, "level") != "ERROR"
    piece.calls.append(
        Call(str(_field(item, "id")), start, str(_field(item, "name")), succeeded, probability)
    )


def read_openai_agents(documents: Documents, out: Collector) -> dict[str, Any]:
    """The scenario of the OpenAI Agents SDK's traces, as a tracing processor exports them
    (`Trace.export()` and `Span.export()`, a JSON object a line): a trace is an episode (its
    `group_id` joins a conversation's), its `function` spans its calls (a span with an `error`:
    the call failed), the first user message of its `generation` or `response` spans' `input`
    its text, its `agent` spans' `tools` its tools on offer (by name: the SDK records no
    description). The SDK records no outcome: such logs have none."""
    read = Read(spans=len(documents))
    groups: dict[str, str] = {}
    for line, document in documents:
        where: tuple[str | int, ...] = ("line", line) if line else ()
        kind = document.get("object") if isinstance(document, dict) else None
        if kind == "trace" and isinstance(document, dict):
            if document.get("group_id"):
                groups[_hex_id(document.get("id"))] = str(document["group_id"])
        elif kind == "trace.span" and isinstance(document, dict):
            _agents_span(read, document)
        else:
            out.error(where, "neither an OpenAI Agents SDK trace nor a span")
    for (_, trace), piece in read.pieces.items():
        piece.conversation = groups.get(trace)
    return scenario_of(read, out)


def _hex_id(value: Any) -> str:
    """An Agents SDK id (`trace_<32 hex>`, `span_<24 hex>`) as its hex."""
    return str(value or "").split("_", 1)[-1]


def _agents_span(read: Read, span: dict[str, Any]) -> None:
    data = span.get("span_data") or {}
    piece = read.piece("openai_agents", _hex_id(span.get("trace_id")))
    try:
        start = int(datetime.fromisoformat(str(span.get("started_at"))).timestamp() * 1e9)
    except ValueError:
        read.skipped["a span whose started_at is not a time"] += 1
        return
    piece.start = min(piece.start, start) if piece.start else start
    if span.get("parent_id") is None:
        piece.root_ended = bool(span.get("ended_at"))
    kind = data.get("type")
    if kind in ("generation", "response"):
        text = first_user_text(data.get("input"))
        if text and (piece.text is None or start < piece.text[0]):
            piece.text = (start, text)
    elif kind == "agent":
        for name in data.get("tools") or []:
            piece.tools.setdefault(str(name), "")
    elif kind == "function":
        succeeded = not span.get("error")
        piece.calls.append(Call(_hex_id(span.get("id")), start, str(data.get("name")), succeeded))
    elif kind != "custom":
        read.ignored += 1


READERS = {
    "otlp": read_otlp,
    "langsmith": read_langsmith,
    "langfuse": read_langfuse,
    "openai_agents": read_openai_agents,
}
