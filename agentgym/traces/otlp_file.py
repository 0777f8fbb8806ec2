"""An OTLP JSON file pushed as a scenario: what the OpenTelemetry Collector's file exporter
writes (one `ExportTraceServiceRequest` or `ExportLogsServiceRequest` in OTLP JSON a line), or
one such request as a JSON document. Its GenAI spans and evaluation events are read as the
receiver reads them (agentgym.traces.genai) and every trace in it is an episode: a file is a
finished record. Users' words are redacted with the built-in patterns (the tenant's own apply
to what the receiver takes in).
"""

from __future__ import annotations

from typing import Any

from agentgym.scenario import safe_json
from agentgym.scenario.limits import Limits
from agentgym.scenario.parse import is_otlp
from agentgym.scenario.problems import Collector
from agentgym.traces.episodes import Pending, logs_of, response_key
from agentgym.traces.genai import Read, read_log_records, read_spans
from agentgym.traces.otlp import OtlpError, _ids_as_base64
from agentgym.traces.privacy import redact


def read_otlp(documents: list[tuple[int, object]], out: Collector) -> dict[str, Any]:
    """The scenario (a file's dict, without its id) of OTLP JSON documents, each with its line
    number (0: a JSON document)."""
    from google.protobuf import json_format
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
        message = ExportTraceServiceRequest() if spans else ExportLogsServiceRequest()
        try:
            json_format.ParseDict(_ids_as_base64(document), message, ignore_unknown_fields=True)
        except (OtlpError, json_format.ParseError, TypeError, ValueError) as exc:
            out.error(where, f"not OTLP JSON: {exc}")
            continue
        (read_spans if spans else read_log_records)(message, read)
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
