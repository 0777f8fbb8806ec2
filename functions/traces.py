"""The OTLP receiver: an agent's OpenTelemetry traces and evaluation events in, as pieces of
logged episodes of its scenario (agentgym.traces), until a snapshot makes them a version
(functions/snapshots.py).

- `POST /v1/traces`, `POST /v1/logs`: OTLP/HTTP as the standard exporters send it (protobuf or
  JSON, plain or gzip, up to `AGENTGYM_MAX_OTLP_BYTES`), authenticated like every route; each
  trace's pieces are kept per tenant and scenario until the next snapshot. Answered as OTLP
  answers, in the request's encoding: `partial_success` says how many spans (or records) were
  not read, and why.
What was read for a scenario, and skipped and why, is `GET /api/scenarios/{id}/traces`
(functions/snapshots.py, with the other routes of a scenario's logs).

Decoding runs off the event loop, so /healthz answers while a large export is read.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import Field

from agentgym.config import ApiSettings
from agentgym.records import Keys, Record, upsert
from agentgym.store import KeyValueStore
from agentgym.traces.episodes import Pending, response_key
from agentgym.traces.genai import Piece, Read
from agentgym.traces.privacy import redact
from functions import errors, lookups
from functions.errors import HttpError
from functions.resources import Authenticated, KeysDep, SettingsDep, StoreDep

PROTOBUF = "application/x-protobuf"

router = APIRouter(tags=["traces"], dependencies=[Authenticated], responses=errors.DOCUMENTED)


class TraceCounts(Record):
    """What the receiver read for a scenario since it began, and what it did not use."""

    spans: int = 0  # spans and log records read
    ignored: int = 0  # not GenAI
    skipped: dict[str, int] = Field(default_factory=dict)  # GenAI but unusable, by reason
    episodes: int = 0  # taken into versions by snapshots
    late: int = 0  # traces that came for an episode a snapshot had taken
    # Decisions (agentgym/decisions.py): where snapshots read on from, how many they took, and
    # how many they left out having no call after them.
    decisions_after: int = 0
    decisions: int = 0
    decisions_without_calls: int = 0
    # Decisions and calls snapshots read, and those the scenario's cap dropped before
    # (agentgym/subjects.py DECISIONS_PER_SCENARIO): sent, less read, less held still.
    decision_items_read: int = 0
    decisions_lost: int = 0

    def add(self, read: Read) -> TraceCounts:
        skipped = Counter(self.skipped) + read.skipped
        return self.model_copy(
            update={
                "spans": self.spans + read.spans,
                "ignored": self.ignored + read.ignored,
                "skipped": dict(skipped),
            }
        )


@router.post("/v1/traces", summary="OTLP/HTTP traces (GenAI spans) in")
async def receive_traces(
    request: Request, store: StoreDep, keys: KeysDep, settings: SettingsDep
) -> Response:
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as service

    from agentgym.traces.genai import read_spans

    patterns = (await lookups.privacy(store, keys)).redact_patterns

    def redacted(message: Any) -> Read:
        """The spans read, users' words redacted (before anything is stored)."""
        read = read_spans(message)
        for piece in read.pieces.values():
            if piece.text is not None:
                piece.text = (piece.text[0], redact(piece.text[1], patterns))
        return read

    read = await _read(request, service.ExportTraceServiceRequest, redacted, settings)
    now = time.time()
    for piece in read.pieces.values():

        def merged(pending: Pending, piece: Piece = piece) -> Pending:
            return pending.merged(piece, now)

        # Spans are sent as they end, a trace's most often in one export: its record is new.
        await upsert(store, keys.traces(piece.scenario) + piece.trace, Pending, merged, new=True)
    await _count(store, keys, read)
    return _answer(request, service.ExportTraceServiceResponse(), "rejected_spans", read)


@router.post("/v1/logs", summary="OTLP/HTTP logs (GenAI evaluation events) in")
async def receive_logs(
    request: Request, store: StoreDep, keys: KeysDep, settings: SettingsDep
) -> Response:
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as service

    from agentgym.traces.genai import read_log_records

    read = await _read(request, service.ExportLogsServiceRequest, read_log_records, settings)
    now = time.time()
    for scenario, trace, response, said_by, reward in read.outcomes:
        if scenario is None:
            read.skipped["an evaluation whose resource names no scenario"] += 1
            continue
        key = (
            keys.traces(scenario) + trace
            if trace
            else keys.trace_outcomes(scenario) + response_key(response or "")
        )

        def add(
            p: Pending, trace: str = trace, said_by: str = said_by, reward: float = reward
        ) -> Pending:
            return p.with_reward(said_by, reward, now).model_copy(update={"trace": trace})

        await upsert(store, key, Pending, add)
    await _count(store, keys, read)
    return _answer(request, service.ExportLogsServiceResponse(), "rejected_log_records", read)


async def _read(
    request: Request, message: type[Any], reader: Callable[[Any], Read], settings: ApiSettings
) -> Read:
    """The body decoded as `message` and read by `reader`, off the event loop; HttpError
    saying what could not be read."""
    from agentgym.traces.otlp import OtlpError, body_of, read_request

    data = await request.body()
    encoding = request.headers.get("content-encoding")
    content_type = request.headers.get("content-type", "")

    def decode() -> Read:
        body = body_of(data, encoding, settings.max_otlp_bytes)
        return reader(read_request(body, content_type, message))

    try:
        return await asyncio.to_thread(decode)
    except OtlpError as exc:
        raise HttpError(exc.status, str(exc)) from None
    except RecursionError:  # attribute values nested past what any exporter sends
        raise HttpError(400, "attribute values are nested too deep to read") from None


def _answer(request: Request, answer: Any, rejected_field: str, read: Read) -> Response:
    """OTLP's answer, in the request's encoding: what was not read in `partial_success`."""
    rejected = sum(read.skipped.values())
    if rejected or read.ignored:
        setattr(answer.partial_success, rejected_field, rejected)
        answer.partial_success.error_message = _said(read)
    if request.headers.get("content-type", "").startswith(PROTOBUF):
        return Response(answer.SerializeToString(), media_type=PROTOBUF)
    from google.protobuf import json_format

    return Response(json_format.MessageToJson(answer, indent=None), media_type="application/json")


def _said(read: Read) -> str:
    parts = [f"{n} {why}" for why, n in read.skipped.most_common()]
    if read.ignored:
        parts.append(f"{read.ignored} not GenAI, ignored")
    return "; ".join(parts)


async def _count(store: KeyValueStore, keys: Keys, read: Read) -> None:
    """Add what `read` read to its scenarios' counts (all of it to the first: an export is
    one resource's, almost always)."""
    nothing = Read()
    for index, scenario in enumerate(sorted(read.scenarios)):
        added = read if index == 0 else nothing

        def counted(counts: TraceCounts, added: Read = added) -> TraceCounts:
            return counts.add(added)

        await upsert(store, keys.trace_counts(scenario), TraceCounts, counted)
