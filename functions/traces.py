"""The OTLP receiver: an agent's OpenTelemetry traces and evaluation events in, as logged
episodes of its scenario (agentgym.traces), and the snapshot that makes them a version.

- `POST /v1/traces`, `POST /v1/logs`: OTLP/HTTP as the standard exporters send it (protobuf or
  JSON, plain or gzip, up to `AGENTGYM_MAX_OTLP_BYTES`), authenticated like every route; each
  trace's pieces are kept per tenant and scenario until the next snapshot. Answered as OTLP
  answers, in the request's encoding: `partial_success` says how many spans (or records) were
  not read, and why.
- `POST /api/scenarios/{id}/snapshot`: a new version of the scenario (made on first traffic)
  holding the complete episodes (agentgym.traces.episodes) as `logs`, the tools their traces
  named added with what they were said to do.

Decoding runs off the event loop, so /healthz answers while a large export is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import Field

from agentgym import catalog
from agentgym.config import ApiSettings
from agentgym.contracts import Schema
from agentgym.errors import ArtifactNotFoundError, KeyNotFoundError
from agentgym.records import Keys, Record, upsert
from agentgym.scenario.definition import TOOL_NAME
from agentgym.store import KeyValueStore
from agentgym.traces.episodes import Pending, episode_id, logs_of, response_key
from agentgym.traces.genai import Piece, Read
from functions import errors, lookups, uploads
from functions.errors import HttpError
from functions.resources import ArtifactsDep, Authenticated, KeysDep, SettingsDep, StoreDep
from functions.scenarios import add_version, create_from

PROTOBUF = "application/x-protobuf"

router = APIRouter(tags=["traces"], dependencies=[Authenticated], responses=errors.DOCUMENTED)


class TraceCounts(Record):
    """What the receiver read for a scenario since it began, and what it did not use."""

    spans: int = 0  # spans and log records read
    ignored: int = 0  # not GenAI
    skipped: dict[str, int] = Field(default_factory=dict)  # GenAI but unusable, by reason
    episodes: int = 0  # taken into versions by snapshots
    late: int = 0  # traces that came for an episode a snapshot had taken

    def add(self, read: Read) -> TraceCounts:
        skipped = Counter(self.skipped) + read.skipped
        return self.model_copy(
            update={
                "spans": self.spans + read.spans,
                "ignored": self.ignored + read.ignored,
                "skipped": dict(skipped),
            }
        )


class SnapshotAnswer(Schema):
    scenario_id: str
    version: str | None  # the version holding its logs (None: none was made)
    logs_added: int
    waiting: int  # traces not complete yet: their root span to come, or sent to recently
    late: int  # episodes a snapshot had taken already, left out
    skipped: int  # episodes naming a tool no scenario can hold


@router.post("/v1/traces", summary="OTLP/HTTP traces (GenAI spans) in")
async def receive_traces(
    request: Request, store: StoreDep, keys: KeysDep, settings: SettingsDep
) -> Response:
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as service

    from agentgym.traces.genai import read_spans

    read = await _read(request, service.ExportTraceServiceRequest, read_spans, settings)
    now = time.time()
    for piece in read.pieces.values():

        def merged(pending: Pending, piece: Piece = piece) -> Pending:
            return pending.merged(piece, now)

        await upsert(store, keys.traces(piece.scenario) + piece.trace, Pending, merged)
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


@router.post("/api/scenarios/{scenario_id}/snapshot", response_model=SnapshotAnswer)
async def snapshot(
    scenario_id: str,
    store: StoreDep,
    keys: KeysDep,
    artifacts: ArtifactsDep,
    settings: SettingsDep,
) -> SnapshotAnswer:
    """A new version of the scenario holding the episodes its traces have told, complete
    since the last snapshot, as `logs` (the scenario made, of them alone, on its first)."""
    if catalog.is_builtin(scenario_id):
        raise HttpError(409, f"{scenario_id!r} is a built-in scenario: name your traces' "
                        "scenario otherwise (the resource attribute agentgym.scenario)")  # fmt: skip
    now = time.time()
    entries = await store.list(keys.traces(scenario_id))
    pending = {entry.key: Pending.load(entry.value) for entry in entries}
    found = await lookups.own_scenario(store, keys, scenario_id)
    content = await _content(artifacts, keys, scenario_id, found[0] if found else None)
    version = found[0].version if found else None
    taken = {str(log["id"]) for log in content.get("logs", [])}
    late = {k for k, p in pending.items() if episode_id(p) in taken}
    complete = {
        k: p for k, p in pending.items() if k not in late and p.complete(now, settings.trace_idle_s)
    }
    waiting_outcomes = await store.list(keys.trace_outcomes(scenario_id))
    outcomes = {e.key.rsplit("/", 1)[1]: Pending.load(e.value) for e in waiting_outcomes}
    logs, tools = logs_of(list(complete.values()), outcomes)
    fit = [log for log in logs if all(_tool_name(c["tool"]) for c in log["calls"])]
    known = {tool["name"] for tool in content["tools"]}
    named = {
        name for log in fit for name in [*log.get("tools", []), *(c["tool"] for c in log["calls"])]
    }
    content["tools"] += [
        {"name": name, "description": description}
        for name, description in tools.items()
        if name not in known and name in named
    ]
    content["logs"] = [*content.get("logs", []), *fit]
    if fit:
        body = json.dumps(content).encode()
        upload = await uploads.read_off_loop(body, "application/json", scenario_id, None)
        if isinstance(upload, uploads.Refusal):
            raise HttpError(
                upload.status, upload.message, errors=[p.to_dict() for p in upload.problems]
            )
        record = (
            await add_version(upload, found[0], store, keys, artifacts, settings)
            if found
            else await create_from(upload, store, keys, artifacts, settings)
        )
        version = record.version
    for key in [*complete, *late]:
        with contextlib.suppress(KeyNotFoundError):  # taken by a snapshot beside this one
            await store.delete(key)

    def counted(c: TraceCounts) -> TraceCounts:
        return c.model_copy(update={"episodes": c.episodes + len(fit), "late": c.late + len(late)})

    await upsert(store, keys.trace_counts(scenario_id), TraceCounts, counted)
    return SnapshotAnswer(
        scenario_id=scenario_id,
        version=version,
        logs_added=len(fit),
        waiting=len(pending) - len(complete) - len(late),
        late=len(late),
        skipped=len(logs) - len(fit),
    )


@router.get("/api/scenarios/{scenario_id}/traces", response_model=TraceCounts)
async def trace_counts(scenario_id: str, store: StoreDep, keys: KeysDep) -> TraceCounts:
    """What the receiver read for the scenario, skipped and why, and snapshots took."""
    try:
        return TraceCounts.load((await store.get(keys.trace_counts(scenario_id))).value)
    except KeyNotFoundError:
        raise HttpError(404, f"no traces have come for scenario {scenario_id!r}") from None


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


async def _content(
    artifacts: ArtifactsDep, keys: Keys, scenario_id: str, record: Any
) -> dict[str, Any]:
    """The scenario's current file as data, or a new one's."""
    if record is None:
        return {"id": scenario_id, "tools": [], "logs": []}
    try:
        data = await artifacts.get(keys.scenario_definition(scenario_id, record.version))
    except ArtifactNotFoundError:
        raise HttpError(409, f"the current version of {scenario_id!r} is missing from the "
                        "artifact store; push the scenario again") from None  # fmt: skip
    content: dict[str, Any] = json.loads(data)
    content.pop("version", None)
    return content


def _tool_name(name: str) -> bool:
    import re

    return re.fullmatch(TOOL_NAME, name) is not None
