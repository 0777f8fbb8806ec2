"""The OTLP receiver (functions/traces.py): an agent's spans and evaluation events, made by the
real OpenTelemetry SDK and sent by its OTLP/HTTP exporters to a running API, become logged
episodes of its scenario at a snapshot."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode, Tracer

from agentgym.config import ApiSettings

RESOURCE = Resource.create({"service.name": "shop agent", "agentgym.scenario": "shop-agent"})
TOOLS = [
    {"type": "function", "name": "lookup_order", "description": "Find an order by its number"},
    {"type": "function", "name": "issue_refund", "description": "Refund an order to the card"},
    {"type": "function", "name": "escalate", "description": "Hand the case to a human"},
]


@pytest.fixture
def settings(settings: ApiSettings) -> ApiSettings:
    # Complete once the root came; a small body limit, to be passed.
    return settings.model_copy(update={"trace_idle_s": 0.0, "max_otlp_bytes": 2 << 20})


@pytest.fixture
def tracer(base_url: str) -> Iterator[Tracer]:
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"{base_url}/v1/traces")))
    yield provider.get_tracer("shop-agent")
    provider.shutdown()


def episode(tracer: Tracer, text: str, calls: list[tuple[str, bool]], response: str) -> str:
    """An agent's turn as a GenAI instrumentation records it; returns its trace id (hex)."""
    with tracer.start_as_current_span("invoke_agent shop") as root:
        with tracer.start_as_current_span("chat gpt-5") as chat:
            chat.set_attribute("gen_ai.operation.name", "chat")
            chat.set_attribute("gen_ai.response.id", response)
            messages = [{"role": "user", "parts": [{"type": "text", "content": text}]}]
            chat.set_attribute("gen_ai.input.messages", json.dumps(messages))
            chat.set_attribute("gen_ai.tool.definitions", json.dumps(TOOLS))
        for tool, succeeded in calls:
            with tracer.start_as_current_span(f"execute_tool {tool}") as span:
                span.set_attribute("gen_ai.operation.name", "execute_tool")
                span.set_attribute("gen_ai.tool.name", tool)
                span.set_attribute("agentgym.probability", 0.5)
                if not succeeded:
                    span.set_attribute("error.type", "TimeoutError")
                    span.set_status(Status(StatusCode.ERROR))
        return format(root.get_span_context().trace_id, "032x")


def test_spans_and_outcomes_sent_by_the_sdk_become_logged_episodes(
    tracer: Tracer, base_url: str, api: httpx.Client
) -> None:
    first = episode(tracer, "Where is order 1182?", [("lookup_order", True)], "resp-1")
    second = episode(
        tracer, "Refund order 7", [("lookup_order", True), ("issue_refund", False)], "resp-2"
    )
    with tracer.start_as_current_span("invoke_agent shop") as root:  # an evaluation, as a
        root.add_event(  # span event of an older SDK, with no messages recorded
            "gen_ai.evaluation.result",
            {"gen_ai.evaluation.name": "Resolved", "gen_ai.evaluation.score.label": "fail"},
        )
        with tracer.start_as_current_span("GET /orders"):  # not GenAI
            pass
        with tracer.start_as_current_span("execute_tool") as span:  # says no tool
            span.set_attribute("gen_ai.operation.name", "execute_tool")
    # Outcomes as OpenTelemetry now sends them: log records, one by trace, one by response.
    logs = LoggerProvider(resource=RESOURCE)
    logs.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(f"{base_url}/v1/logs")))
    logger = logs.get_logger("evaluator")
    logger.emit(
        event_name="gen_ai.evaluation.result",
        attributes={"gen_ai.evaluation.name": "Helpful", "gen_ai.evaluation.score.value": 4.0,
                    "gen_ai.response.id": "resp-1"},
    )  # fmt: skip
    logger.emit(
        event_name="gen_ai.evaluation.result",
        attributes={"gen_ai.evaluation.name": "Resolved", "gen_ai.evaluation.score.value": 0.0},
        context=_context_of(second),
    )
    logs.shutdown()

    made = api.post("/api/scenarios/shop-agent/snapshot")
    assert made.status_code == 200, made.text
    answer = made.json()
    assert (answer["logs_added"], answer["waiting"], answer["late"]) == (3, 0, 0)
    definition = api.get("/api/scenarios/shop-agent/download").json()
    by_id = {log["id"]: log for log in definition["logs"]}
    assert by_id[first]["text"] == "Where is order 1182?"
    assert by_id[first]["calls"] == [{"tool": "lookup_order", "probability": 0.5}]
    assert by_id[first]["reward"] == 0.5  # a 4 of 5
    assert by_id[second]["calls"][1] == {
        "tool": "issue_refund",
        "succeeded": False,
        "probability": 0.5,
    }
    assert by_id[second]["reward"] == -1.0  # a score of 0 of 1
    assert set(by_id[first]["tools"]) == {"lookup_order", "issue_refund", "escalate"}
    third = next(log for log in definition["logs"] if log["id"] not in (first, second))
    assert (third["text"], third["calls"], third["reward"]) == ("", [], -1.0)  # "fail"
    tools = {tool["name"]: tool["description"] for tool in definition["tools"]}
    assert tools["issue_refund"] == "Refund an order to the card"
    counts = api.get("/api/scenarios/shop-agent/traces").json()
    assert counts["ignored"] >= 1 and counts["episodes"] == 3
    assert counts["skipped"] == {"an execute_tool span without gen_ai.tool.name": 1}
    assert api.get("/api/scenarios/shop-agent").json()["counts"]["logs"] == 3

    # A span of an episode taken already comes late: counted, left out.
    with tracer.start_as_current_span("execute_tool escalate", context=_context_of(first)) as late:
        late.set_attribute("gen_ai.operation.name", "execute_tool")
        late.set_attribute("gen_ai.tool.name", "escalate")
    again = api.post("/api/scenarios/shop-agent/snapshot").json()
    assert (again["logs_added"], again["late"], again["version"]) == (0, 1, answer["version"])


def _context_of(trace_hex: str) -> Any:
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    parent = SpanContext(int(trace_hex, 16), 0x1234, is_remote=True, trace_flags=TraceFlags(1))
    return trace.set_span_in_context(NonRecordingSpan(parent))


def encoded(tracer_calls: list[tuple[str, bool]]) -> Any:
    """An export's request as the exporter encodes it, made in memory."""
    spans = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(spans))
    episode(provider.get_tracer("t"), "Where is order 5?", tracer_calls, "resp-9")
    return encode_spans(spans.get_finished_spans())


def otlp_json(request: Any) -> bytes:
    """OTLP JSON, as the Collector's file exporter writes it: hex ids."""
    data = json_format.MessageToDict(request)

    def hexed(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("traceId", "spanId", "parentSpanId"):
                    import base64

                    node[key] = base64.b64decode(value).hex()
                else:
                    hexed(value)
        elif isinstance(node, list):
            for item in node:
                hexed(item)

    hexed(data)
    return json.dumps(data).encode()


def test_json_and_gzip_bodies_read_as_protobuf_does(api: httpx.Client) -> None:
    request = encoded([("lookup_order", True)])
    sent = [
        (request.SerializeToString(), "application/x-protobuf", {}),
        (otlp_json(request), "application/json", {}),
        (gzip.compress(otlp_json(request)), "application/json", {"Content-Encoding": "gzip"}),
    ]
    for body, kind, headers in sent:
        answer = api.post("/v1/traces", content=body, headers={"Content-Type": kind, **headers})
        assert answer.status_code == 200, answer.text
    made = api.post("/api/scenarios/shop-agent/snapshot").json()
    assert made["logs_added"] == 1  # the same trace three times: one episode, one call
    (log,) = api.get("/api/scenarios/shop-agent/download").json()["logs"]
    assert log["calls"] == [{"tool": "lookup_order", "probability": 0.5}]


@pytest.mark.parametrize(
    ("body", "headers", "status", "says"),
    [
        (b"\xff\x00garbage", {"Content-Type": "application/x-protobuf"}, 400, "not an OTLP protobuf"),
        (b"{not json", {"Content-Type": "application/json"}, 400, "not JSON"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
         {"Content-Type": "application/json"}, 400, "traceId 'zz' is not hex"),
        (b"x", {"Content-Type": "text/plain"}, 415, "application/x-protobuf"),
        (b"x", {"Content-Type": "application/json", "Content-Encoding": "br"}, 415, "gzip"),
        (b"not gzip", {"Content-Type": "application/json", "Content-Encoding": "gzip"}, 400, "not gzip"),
        (gzip.compress(b" " * (3 << 20)), {"Content-Type": "application/json", "Content-Encoding": "gzip"}, 413, "inflates past"),
    ],
)  # fmt: skip
def test_a_body_the_receiver_cannot_read_is_refused_saying_why(
    api: httpx.Client, body: bytes, headers: dict[str, str], status: int, says: str
) -> None:
    answer = api.post("/v1/traces", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert says in answer.json()["detail"]
    assert api.get("/api/scenarios/shop-agent/traces").json()["spans"] == 0  # nothing kept


def test_nothing_complete_makes_no_version_and_a_built_in_is_refused(api: httpx.Client) -> None:
    nothing = api.post("/api/scenarios/shop-agent/snapshot").json()
    assert (nothing["logs_added"], nothing["version"]) == (0, None)
    assert api.get("/api/scenarios/shop-agent").status_code == 404
    refused = api.post("/api/scenarios/customer_support/snapshot")
    assert refused.status_code == 409 and "built-in" in refused.json()["detail"]


def test_users_words_are_redacted_before_anything_is_stored(
    tracer: Tracer, api: httpx.Client
) -> None:
    patterns = {"redact_patterns": [r"CUST-\d+"]}
    assert api.put("/api/settings/privacy", json=patterns).status_code == 200
    assert api.get("/api/settings/privacy").json() == patterns | {"log_retention_days": None}
    said = "I'm jane@example.com, +1 (555) 123-4567, card 4111 1111 1111 1111, CUST-991, order 1182"
    trace = episode(tracer, said, [("lookup_order", True)], "resp-3")
    api.post("/api/scenarios/shop-agent/snapshot")
    (log,) = api.get("/api/scenarios/shop-agent/download").json()["logs"]
    assert log["id"] == trace
    assert log["text"] == "I'm [email], [phone], card [card], [redacted], order 1182"
    bad = api.put("/api/settings/privacy", json={"redact_patterns": ["(unclosed"]})
    assert bad.status_code == 422 and "not a regular expression" in bad.text


def test_a_conversations_or_a_users_episodes_are_deleted_where_no_model_learned_them(
    tracer: Tracer, api: httpx.Client
) -> None:
    with tracer.start_as_current_span("invoke_agent shop") as root:
        root.set_attribute("user.id", "alice@example.com")
        root.set_attribute("gen_ai.conversation.id", "conv-1")
        root.set_attribute("gen_ai.operation.name", "invoke_agent")
        with tracer.start_as_current_span("execute_tool escalate") as span:
            span.set_attribute("gen_ai.operation.name", "execute_tool")
            span.set_attribute("gen_ai.tool.name", "escalate")
    made = api.post("/api/scenarios/shop-agent/snapshot")
    assert made.status_code == 200, made.text
    first = made.json()["version"]
    bob = episode(tracer, "Where is order 2?", [("lookup_order", True)], "resp-4")
    second = api.post("/api/scenarios/shop-agent/snapshot").json()["version"]
    logs = api.get("/api/scenarios/shop-agent/download").json()["logs"]
    assert {log["id"] for log in logs} == {"conv-1", bob}
    assert logs[0]["user"].startswith("sha256:") and "alice" not in json.dumps(logs)
    # A session trained on the latest version: it keeps the episode; the first version goes.
    started = api.post("/api/training/start", json={"scenario_id": "shop-agent"})
    assert started.status_code == 422  # logs alone: nothing to train on (nothing pins it)
    gone = api.delete("/api/scenarios/shop-agent/logs", params={"user": "alice@example.com"})
    assert gone.status_code == 200, gone.text
    answer = gone.json()
    assert answer["deleted"] == 1 and answer["version"] not in (first, second)
    assert (
        set(answer["versions_removed"]) == {first, second} and answer["versions_trained_on"] == []
    )
    left = api.get("/api/scenarios/shop-agent/download").json()["logs"]
    assert [log["id"] for log in left] == [bob]
    assert api.get("/api/scenarios/shop-agent").json()["versions"] == [answer["version"]]
    by_conversation = api.delete("/api/scenarios/shop-agent/logs", params={"conversation": bob})
    assert by_conversation.status_code == 200, by_conversation.text
    assert by_conversation.json()["deleted"] == 1
    neither = api.delete("/api/scenarios/shop-agent/logs")
    assert neither.status_code == 422 and "conversation" in neither.json()["detail"]


def test_episodes_past_the_retention_period_are_dropped_at_the_next_snapshot(
    api: httpx.Client,
) -> None:
    request = encoded([("lookup_order", True)])
    for span in request.resource_spans[0].scope_spans[0].spans:  # ten days ago
        span.start_time_unix_nano -= 10 * 86400 * 10**9
    api.post("/v1/traces", content=request.SerializeToString(),
             headers={"Content-Type": "application/x-protobuf"})  # fmt: skip
    assert api.put("/api/settings/privacy", json={"log_retention_days": 7}).status_code == 200
    made = api.post("/api/scenarios/shop-agent/snapshot").json()
    assert (made["logs_added"], made["expired"]) == (0, 1)


def test_an_otlp_json_file_pushed_gives_the_episodes_the_receiver_gives(api: httpx.Client) -> None:
    """The Collector's file exporter writes one export a line: pushed as a scenario, it holds
    the logs a snapshot of the same spans sent over OTLP holds."""
    spans = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = provider.get_tracer("t")
    episode(tracer, "Where is order 5? I'm bo@example.com", [("lookup_order", True)], "r-1")
    episode(tracer, "Refund order 6", [("lookup_order", True), ("issue_refund", False)], "r-2")
    request = encode_spans(spans.get_finished_spans())
    sent = api.post("/v1/traces", content=request.SerializeToString(),
                    headers={"Content-Type": "application/x-protobuf"})  # fmt: skip
    assert sent.status_code == 200
    api.post("/api/scenarios/shop-agent/snapshot")
    received = api.get("/api/scenarios/shop-agent/download").json()
    lines = otlp_json(request) + b"\n" + otlp_json(request)  # sent twice, as a retry does
    pushed = api.post("/api/scenarios", params={"id": "from-file"}, content=lines,
                      headers={"Content-Type": "application/x-ndjson"})  # fmt: skip
    assert pushed.status_code == 201, pushed.text
    assert pushed.json()["counts"]["logs"] == 2
    from_file = api.get("/api/scenarios/from-file/download").json()
    assert from_file["logs"] == received["logs"] and from_file["tools"] == received["tools"]
    assert "[email]" in json.dumps(from_file["logs"])
    one = api.post("/api/scenarios", params={"id": "from-document"}, content=otlp_json(request),
                   headers={"Content-Type": "application/json"})  # fmt: skip
    assert one.status_code == 201 and one.json()["counts"]["logs"] == 2
    wrong = api.post("/api/scenarios", params={"id": "wrong"},
                     content=otlp_json(request) + b'\n{"resourceSpans": "no"}',
                     headers={"Content-Type": "application/x-ndjson"})  # fmt: skip
    assert wrong.status_code == 422 and "line 2" in wrong.text


def test_redaction_takes_a_long_word_in_one_pass() -> None:
    """A pattern tried at every place of a long word would be quadratic in it: a hostile
    request of one 200,000-letter word would hold a thread for minutes."""
    import time

    from agentgym.traces.privacy import redact

    said = "x" * 200_000 + "@example.com, 4111 1111 1111 1111, 123456789012, " + "7" * 200_000
    started = time.perf_counter()
    redacted = redact(said)
    assert time.perf_counter() - started < 2.0  # quadratic: minutes
    assert redacted.startswith("[email], [card], [account], 777")


def langsmith_lines(spans: list[Any], feedback_on: str, score: float) -> bytes:
    """The same turns as LangSmith records them: `Run`s of langsmith.schemas (a chain, its
    LLM run with the tools on offer, its tool runs) and a `Feedback`, as its client lists them."""
    import uuid
    from datetime import UTC, datetime

    from langsmith import schemas

    def when(ns: int) -> datetime:
        return datetime.fromtimestamp(ns / 1e9, UTC)

    lines = []
    roots = {}
    for span in sorted(spans, key=lambda s: s.start_time):  # a root before its children
        context = span.get_span_context()
        trace = uuid.UUID(int=context.trace_id)
        run_id = uuid.UUID(int=context.span_id << 64 | context.trace_id & (2**64 - 1))
        attributes = dict(span.attributes or {})
        kind, name, inputs, extra, error = "chain", span.name, {}, {}, None
        if span.parent is None:
            roots[trace.hex] = run_id
        elif attributes.get("gen_ai.operation.name") == "chat":
            kind = "llm"
            messages = json.loads(attributes["gen_ai.input.messages"])
            text = messages[0]["parts"][0]["content"]
            inputs = {"messages": [[{"lc": 1, "type": "constructor",
                                     "id": ["langchain", "schema", "messages", "HumanMessage"],
                                     "kwargs": {"content": text}}]]}  # fmt: skip
            extra = {"invocation_params": {"tools": TOOLS}}
        elif attributes.get("gen_ai.operation.name") == "execute_tool":
            kind, name = "tool", attributes["gen_ai.tool.name"]
            extra = {"metadata": {"agentgym.probability": attributes["agentgym.probability"]}}
            error = "TimeoutError" if "error.type" in attributes else None
        parent = None if span.parent is None else roots[trace.hex]
        run = schemas.Run(
            id=run_id, name=name, run_type=kind, start_time=when(span.start_time),
            end_time=when(span.end_time), inputs=inputs, extra=extra, error=error,
            trace_id=trace, parent_run_id=parent,
            dotted_order=f"{when(span.start_time):%Y%m%dT%H%M%S%fZ}{run_id}",
        )  # fmt: skip
        if span.parent is None and kind == "chain":
            run.inputs = {"input": inputs.get("input", "")}
        lines.append(run.model_dump_json())
    feedback = schemas.Feedback(
        id=uuid.uuid4(), run_id=roots[feedback_on], trace_id=uuid.UUID(hex=feedback_on),
        key="resolved", score=score,
        created_at=datetime.now(UTC), modified_at=datetime.now(UTC),
    )  # fmt: skip
    lines.append(feedback.model_dump_json())
    return "\n".join(lines).encode()


def sent_over_otlp(api: httpx.Client) -> tuple[list[Any], str, dict[str, Any]]:
    """Two turns sent to the receiver, an outcome of the first (0.75) over /v1/logs, and the
    scenario a snapshot makes of them: (their spans, the first's trace, the scenario file)."""
    spans = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = provider.get_tracer("t")
    first = episode(tracer, "Where is order 5?", [("lookup_order", True)], "r-1")
    episode(tracer, "Refund order 6", [("lookup_order", True), ("issue_refund", False)], "r-2")
    finished = list(spans.get_finished_spans())
    api.post("/v1/traces", content=encode_spans(finished).SerializeToString(),
             headers={"Content-Type": "application/x-protobuf"})  # fmt: skip
    records = InMemoryLogRecordExporter()
    logs = LoggerProvider(resource=RESOURCE)
    logs.add_log_record_processor(SimpleLogRecordProcessor(records))
    logs.get_logger("e").emit(
        event_name="gen_ai.evaluation.result", context=_context_of(first),
        attributes={"gen_ai.evaluation.name": "resolved", "gen_ai.evaluation.score.value": 0.75},
    )  # fmt: skip
    api.post("/v1/logs", content=encode_logs(records.get_finished_logs()).SerializeToString(),
             headers={"Content-Type": "application/x-protobuf"})  # fmt: skip
    api.post("/api/scenarios/shop-agent/snapshot")
    return finished, first, api.get("/api/scenarios/shop-agent/download").json()


def episodes_of(scenario: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What two scenarios' logs must agree on, whichever way they came."""
    return sorted(
        (
            log["id"],
            log["text"],
            json.dumps(log["calls"]),
            log.get("reward"),
            tuple(log.get("tools", [])),
        )
        for log in scenario["logs"]
    )


def pushed(api: httpx.Client, scenario_id: str, lines: bytes) -> dict[str, Any]:
    answer = api.post("/api/scenarios", params={"id": scenario_id}, content=lines,
                      headers={"Content-Type": "application/x-ndjson"})  # fmt: skip
    assert answer.status_code == 201, answer.text
    return api.get(f"/api/scenarios/{scenario_id}/download").json()


def test_langsmith_runs_pushed_give_the_episodes_the_receiver_gives(api: httpx.Client) -> None:
    finished, first, received = sent_over_otlp(api)
    from_file = pushed(api, "from-langsmith", langsmith_lines(finished, first, 0.75))
    assert episodes_of(from_file) == episodes_of(received)
    assert {t["name"] for t in from_file["tools"]} == {t["name"] for t in received["tools"]}


def langfuse_lines(spans: list[Any], scored: str, score: float) -> bytes:
    """The same turns as Langfuse records them: `ObservationV2`s of its API models (the turn a
    SPAN, its GENERATION with the tools on offer, its TOOL observations) and a `Score_Numeric`,
    each as the API's JSON."""
    from datetime import UTC, datetime

    import langfuse.api as langfuse

    def when(ns: int) -> datetime:
        return datetime.fromtimestamp(ns / 1e9, UTC)

    lines = []
    for span in sorted(spans, key=lambda s: s.start_time):
        context, attributes = span.get_span_context(), dict(span.attributes or {})
        fields: dict[str, Any] = {"type": "SPAN", "name": span.name, "level": "DEFAULT"}
        if attributes.get("gen_ai.operation.name") == "chat":
            messages = json.loads(attributes["gen_ai.input.messages"])
            user = {"role": "user", "content": messages[0]["parts"][0]["content"]}
            fields |= {"type": "GENERATION", "input": {"messages": [user], "tools": TOOLS}}
        elif attributes.get("gen_ai.operation.name") == "execute_tool":
            fields |= {
                "type": "TOOL",
                "name": attributes["gen_ai.tool.name"],
                "level": "ERROR" if "error.type" in attributes else "DEFAULT",
                "metadata": {"agentgym.probability": attributes["agentgym.probability"]},
            }
        observation = langfuse.ObservationV2(
            id=format(context.span_id, "016x"), trace_id=format(context.trace_id, "032x"),
            start_time=when(span.start_time), end_time=when(span.end_time), project_id="shop",
            parent_observation_id=None if span.parent is None else format(span.parent.span_id, "016x"),
            **fields,
        )  # fmt: skip
        lines.append(observation.json())
    now = datetime.now(UTC)
    lines.append(
        langfuse.Score_Numeric(
            id="score-1", trace_id=scored, name="resolved", value=score, source="API",
            timestamp=now, created_at=now, updated_at=now, data_type="NUMERIC",
            environment="default",
        ).json()
    )  # fmt: skip
    return "\n".join(lines).encode()


def test_a_langfuse_export_pushed_gives_the_episodes_the_receiver_gives(api: httpx.Client) -> None:
    finished, first, received = sent_over_otlp(api)
    from_file = pushed(api, "from-langfuse", langfuse_lines(finished, first, 0.75))
    assert episodes_of(from_file) == episodes_of(received)
    assert {t["name"] for t in from_file["tools"]} == {t["name"] for t in received["tools"]}


def openai_agents_lines(turns: list[tuple[str, list[str]]]) -> bytes:
    """Turns of an OpenAI Agents SDK agent, run by its Runner with a scripted model (nothing
    calls out), each traced by the SDK and exported by a processor as a JSON line."""
    import asyncio

    from agents import Agent, Runner, function_tool
    from agents.items import ModelResponse
    from agents.models.interface import Model
    from agents.tracing import TracingProcessor, generation_span, set_trace_processors, trace
    from agents.usage import Usage
    from openai.types.responses import (
        ResponseFunctionToolCall,
        ResponseOutputMessage,
        ResponseOutputText,
    )

    exported: list[dict[str, Any]] = []

    class Export(TracingProcessor):
        def on_trace_start(self, trace: Any) -> None: ...
        def on_trace_end(self, trace: Any) -> None:
            exported.append(trace.export())

        def on_span_start(self, span: Any) -> None: ...
        def on_span_end(self, span: Any) -> None:
            exported.append(span.export())

        def shutdown(self) -> None: ...
        def force_flush(self) -> None: ...

    class Scripted(Model):
        """Calls the tools it is given, then answers; its generation span records its input,
        as the SDK's own models do."""

        def __init__(self, calls: list[str]) -> None:
            self.calls = calls

        async def get_response(
            self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any
        ) -> ModelResponse:
            with generation_span(model="scripted") as span:
                span.span_data.input = (
                    [{"role": "user", "content": input}] if isinstance(input, str) else list(input)
                )
            if self.calls:
                name = self.calls.pop(0)
                output: list[Any] = [
                    ResponseFunctionToolCall(
                        type="function_call",
                        call_id=name,
                        name=name,
                        arguments="{}",
                        status="completed",
                    )
                ]
            else:
                text = ResponseOutputText(type="output_text", text="Done.", annotations=[])
                output = [
                    ResponseOutputMessage(
                        id="m", type="message", role="assistant", status="completed", content=[text]
                    )
                ]
            return ModelResponse(output=output, usage=Usage(), response_id=None)

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

    @function_tool
    def lookup_order() -> str:
        """Find an order by its number"""
        return "shipped"

    @function_tool
    def issue_refund() -> str:
        """Refund an order to the card"""
        raise TimeoutError("the card network did not answer")

    set_trace_processors([Export()])
    for number, (text, calls) in enumerate(turns):
        agent = Agent(name="shop", tools=[lookup_order, issue_refund], model=Scripted(list(calls)))
        with trace("shop turn", group_id=f"conversation-{number}"):
            asyncio.run(Runner.run(agent, text))
    set_trace_processors([])
    return "\n".join(json.dumps(item) for item in exported).encode()


def test_the_openai_agents_sdks_traces_push_as_episodes(api: httpx.Client) -> None:
    lines = openai_agents_lines(
        [
            ("Where is order 5?", ["lookup_order"]),
            ("Refund order 6", ["lookup_order", "issue_refund"]),
        ]
    )
    scenario = pushed(api, "from-agents-sdk", lines)
    logs = {log["id"]: log for log in scenario["logs"]}
    assert set(logs) == {"conversation-0", "conversation-1"}  # a trace's group: its conversation
    assert logs["conversation-0"]["text"] == "Where is order 5?"
    assert logs["conversation-1"]["calls"] == [
        {"tool": "lookup_order"},
        {"tool": "issue_refund", "succeeded": False},
    ]
    assert set(logs["conversation-1"]["tools"]) == {"lookup_order", "issue_refund"}


def test_attributes_nested_past_any_exporters_are_refused_and_nothing_kept(
    api: httpx.Client,
) -> None:
    request = encoded([("lookup_order", True)])
    span = request.resource_spans[0].scope_spans[0].spans[0]
    value = span.attributes.add(key="deep").value
    for _ in range(2000):  # an AnyValue inside an AnyValue, past Python's recursion limit
        value = value.kvlist_value.values.add(key="k").value
    answer = api.post("/v1/traces", content=request.SerializeToString(),
                      headers={"Content-Type": "application/x-protobuf"})  # fmt: skip
    assert answer.status_code == 400, answer.text
    assert api.get("/api/scenarios/shop-agent/traces").json()["spans"] == 0


def test_a_trace_of_more_calls_than_a_log_keeps_is_cut_and_says_so(api: httpx.Client) -> None:
    request = encoded([("lookup_order", True)] * 300)
    answer = api.post("/v1/traces", content=request.SerializeToString(),
                      headers={"Content-Type": "application/x-protobuf"})  # fmt: skip
    assert answer.status_code == 200
    api.post("/api/scenarios/shop-agent/snapshot")
    (log,) = api.get("/api/scenarios/shop-agent/download").json()["logs"]
    assert len(log["calls"]) == 256
    counts = api.get("/api/scenarios/shop-agent/traces").json()
    assert counts["skipped"] == {"calls past the 256 a logged episode keeps": 44}
