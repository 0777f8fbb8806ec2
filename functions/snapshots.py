"""A scenario's logged episodes from traces: the snapshot that makes a version of them, and
their deletion for a conversation or a person (the receiver is functions/traces.py).

- `POST /api/scenarios/{id}/snapshot`: a new version of the scenario (made on first traffic)
  holding the complete episodes (agentgym.traces.episodes) as `logs`, the tools their traces
  named added with what they were said to do, and without those past the tenant's retention
  period (`PUT /api/settings/privacy`).
- `GET /api/scenarios/{id}/traces`: what the receiver read for it, skipped and why.
- `DELETE /api/scenarios/{id}/logs?conversation=|user=`: those episodes gone from what waits
  for a snapshot, from the current version (a new one without them) and from every earlier
  version no session trained on; the versions sessions trained on keep them, and say so.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from agentgym import catalog
from agentgym.artifacts import ArtifactStore
from agentgym.bus import Decisions
from agentgym.config import ApiSettings
from agentgym.contracts import Privacy, Schema
from agentgym.decisions import Feedback
from agentgym.decisions import logs_of as decision_logs
from agentgym.errors import ArtifactNotFoundError, KeyNotFoundError
from agentgym.records import Keys, ScenarioRecord, SessionRecord, readable, upsert
from agentgym.scenario.definition import TOOL_NAME
from agentgym.store import KeyValueStore
from agentgym.traces.episodes import MAX_CALLS, Pending, episode_id, logs_of
from agentgym.traces.genai import user_key
from functions import errors, lookups, uploads
from functions.errors import HttpError
from functions.resources import (
    ArtifactsDep,
    Authenticated,
    DecisionsDep,
    KeysDep,
    SettingsDep,
    StoreDep,
)
from functions.scenarios import add_version, create_from
from functions.traces import TraceCounts

router = APIRouter(tags=["traces"], dependencies=[Authenticated], responses=errors.DOCUMENTED)


@router.get("/api/scenarios/{scenario_id}/traces", response_model=TraceCounts)
async def trace_counts(scenario_id: str, store: StoreDep, keys: KeysDep) -> TraceCounts:
    """What the receiver read for the scenario, skipped and why, and snapshots took (all 0
    before any trace came for it)."""
    return await counts_of(store, keys, scenario_id)


class SnapshotAnswer(Schema):
    scenario_id: str
    version: str | None  # the version holding its logs (None: none was made)
    logs_added: int
    waiting: int  # traces not complete yet: their root span to come, or sent to recently
    late: int  # episodes a snapshot had taken already, left out
    skipped: int  # episodes naming a tool no scenario can hold
    expired: int = 0  # episodes older than the tenant's retention period, dropped
    decisions_added: int = 0  # of those added, decisions served (gateways', act's)
    # Decisions and calls the scenario's cap (500,000 kept; the oldest go) dropped before any
    # snapshot read them, since the last snapshot.
    decisions_lost: int = 0


class LogsDeleted(Schema):
    scenario_id: str
    deleted: int  # logged episodes deleted: waiting for a snapshot, or in versions
    version: str | None  # the scenario's current version, without them
    versions_removed: list[str]  # earlier versions that held them, no session having used them
    # Versions that hold them still: sessions trained on them (their models learned from
    # them; SECURITY.md, "Traces").
    versions_trained_on: list[str]


@router.post("/api/scenarios/{scenario_id}/snapshot", response_model=SnapshotAnswer)
async def snapshot(
    scenario_id: str,
    store: StoreDep,
    keys: KeysDep,
    artifacts: ArtifactsDep,
    settings: SettingsDep,
    decisions: DecisionsDep,
) -> SnapshotAnswer:
    """A new version of the scenario holding the episodes its traces have told, complete
    since the last snapshot, and the decisions served for it that have settled (made
    `decision_settle_s` ago), as `logs` (the scenario made, of them alone, on its first)."""
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
    counts = await counts_of(store, keys, scenario_id)
    served, cursor = await settled(decisions, keys.tenant, scenario_id, counts.decisions_after,
                                    now - settings.decision_settle_s)  # fmt: skip
    sent, held = await decisions.decisions_kept(keys.tenant, scenario_id, cursor)
    read = counts.decision_items_read + len(served)
    lost = max(counts.decisions_lost, sent - read - held)  # never less than said before
    given = await decisions.feedback(
        keys.tenant, [i["id"] for i in served if i["kind"] == "decision"]
    )
    feedback = {key: Feedback.model_validate_json(value) for key, value in given.items()}
    from_decisions, without_calls = decision_logs(served, feedback)
    from_decisions = [log for log in from_decisions if log["id"] not in taken]
    for log in from_decisions:
        for call in log["calls"]:
            tools.setdefault(call["tool"], "")
    logs += from_decisions
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
    privacy = await lookups.privacy(store, keys)
    before = content.get("logs", [])
    kept, fresh = _retained(before, privacy, now), _retained(fit, privacy, now)
    content["logs"] = [*kept, *fresh]
    if fresh or len(kept) < len(before):
        version = await _store(
            content, found[0] if found else None, store, keys, artifacts, settings
        )
    for key in [*complete, *late]:
        with contextlib.suppress(KeyNotFoundError):  # taken by a snapshot beside this one
            await store.delete(key)

    dropped = sum(trace.dropped for trace in complete.values())

    def counted(c: TraceCounts) -> TraceCounts:
        skipped = dict(c.skipped)
        if dropped:  # a trace of more calls than a log keeps (a runaway agent, or an attack)
            reason = f"calls past the {MAX_CALLS} a logged episode keeps"
            skipped[reason] = skipped.get(reason, 0) + dropped
        return c.model_copy(
            update={
                "episodes": c.episodes + len(fresh),
                "late": c.late + len(late),
                "skipped": skipped,
                "decisions_after": max(c.decisions_after, cursor),
                "decisions": c.decisions + len(from_decisions),
                "decisions_without_calls": c.decisions_without_calls + without_calls,
                "decision_items_read": c.decision_items_read + len(served),
                "decisions_lost": max(c.decisions_lost, lost),
            }
        )

    await upsert(store, keys.trace_counts(scenario_id), TraceCounts, counted)
    return SnapshotAnswer(
        scenario_id=scenario_id,
        version=version,
        logs_added=len(fresh),
        waiting=len(pending) - len(complete) - len(late),
        late=len(late),
        skipped=len(logs) - len(fit),
        expired=len(before) - len(kept) + len(fit) - len(fresh),
        decisions_added=sum(log["id"].startswith("dec_") for log in fresh),
        decisions_lost=lost - counts.decisions_lost,
    )


async def counts_of(store: KeyValueStore, keys: Keys, scenario_id: str) -> TraceCounts:
    """What the receiver and snapshots counted for the scenario (all 0 before any came)."""
    try:
        return TraceCounts.load((await store.get(keys.trace_counts(scenario_id))).value)
    except KeyNotFoundError:
        return TraceCounts()


DECISIONS_PAGE = 1000


async def settled(
    decisions: Decisions, tenant: str, scenario_id: str, after: int, settled_before: float
) -> tuple[list[dict[str, Any]], int]:
    """The scenario's decisions and calls after cursor `after`, up to its first decision made
    at `settled_before` or later (what is after it waits for the next snapshot); and the
    cursor to read on from next time."""
    taken: list[dict[str, Any]] = []
    cursor = after
    while True:
        page, _ = await decisions.decisions(tenant, scenario_id, cursor, DECISIONS_PAGE)
        for seq, data in page:
            item = json.loads(data)
            if item.get("kind") == "decision" and item["time"] >= settled_before:
                return taken, cursor
            taken.append(item)
            cursor = seq
        if len(page) < DECISIONS_PAGE:
            return taken, cursor


@router.delete("/api/scenarios/{scenario_id}/logs", response_model=LogsDeleted)
async def delete_logs(
    scenario_id: str,
    store: StoreDep,
    keys: KeysDep,
    artifacts: ArtifactsDep,
    settings: SettingsDep,
    conversation: Annotated[str | None, Query(max_length=256)] = None,
    user: Annotated[str | None, Query(max_length=256)] = None,
) -> LogsDeleted:
    """Delete the logged episodes of a conversation (`?conversation=`, its id or its trace's)
    or of an end user (`?user=`, their `user.id`): those waiting for a snapshot, those of the
    current version (a new version without them), and every earlier version that holds them
    and no session trained on."""
    if (conversation is None) == (user is None):
        raise HttpError(422, "say whose episodes to delete: ?conversation=ID or ?user=ID")
    wanted = _wanted(conversation, user)
    deleted = 0
    for entry in await store.list(keys.traces(scenario_id)):
        pending = Pending.load(entry.value)
        if wanted({"id": episode_id(pending), "user": pending.user}):
            with contextlib.suppress(KeyNotFoundError):
                await store.delete(entry.key)
                deleted += 1
    found = await lookups.own_scenario(store, keys, scenario_id)
    if found is None:
        return LogsDeleted(scenario_id=scenario_id, deleted=deleted, version=None,
                           versions_removed=[], versions_trained_on=[])  # fmt: skip
    record = found[0]
    content = await _content(artifacts, keys, scenario_id, record)
    kept = [log for log in content.get("logs", []) if not wanted(log)]
    deleted += len(content.get("logs", [])) - len(kept)
    version: str | None = record.version
    if len(kept) < len(content.get("logs", [])):
        content["logs"] = kept
        # Nothing left (a scenario of those logs alone): no version is made of it.
        empty = not kept and not content.get("tasks")
        version = None if empty else await _store(content, record, store, keys, artifacts, settings)
    trained = await _trained_versions(store, keys, scenario_id)
    removed: list[str] = []
    holding: list[str] = []
    for earlier in [v for v in record.versions if v != version]:
        earlier_content = await _content(artifacts, keys, scenario_id, record, earlier)
        if not any(wanted(log) for log in earlier_content.get("logs", [])):
            continue
        (holding if earlier in trained else removed).append(earlier)
    left = [v for v in record.versions if v not in removed]
    if version is None and left:  # the latest version left becomes the current one again
        content = await _content(artifacts, keys, scenario_id, record, left[-1])
        current = (await lookups.own_scenario(store, keys, scenario_id) or (record, 0))[0]
        version = await _store(content, current, store, keys, artifacts, settings)
    await _drop_versions(store, keys, artifacts, scenario_id, removed)
    return LogsDeleted(
        scenario_id=scenario_id,
        deleted=deleted,
        version=version,
        versions_removed=removed,
        versions_trained_on=holding,
    )


async def _content(
    artifacts: ArtifactStore,
    keys: Keys,
    scenario_id: str,
    record: ScenarioRecord | None,
    version: str | None = None,
) -> dict[str, Any]:
    """The scenario's file (its current version, or `version`) as data, or a new one's."""
    if record is None:
        return {"id": scenario_id, "tools": [], "logs": []}
    try:
        data = await artifacts.get(keys.scenario_definition(scenario_id, version or record.version))
    except ArtifactNotFoundError:
        raise HttpError(409, f"a version of {scenario_id!r} is missing from the artifact "
                        "store; push the scenario again") from None  # fmt: skip
    content: dict[str, Any] = json.loads(data)
    content.pop("version", None)
    return content


async def _store(
    content: dict[str, Any],
    record: ScenarioRecord | None,
    store: KeyValueStore,
    keys: Keys,
    artifacts: ArtifactStore,
    settings: ApiSettings,
) -> str:
    """`content` validated and stored as the scenario's new version (the scenario made where
    there is none); its version."""
    body = json.dumps(content).encode()
    upload = await uploads.read_off_loop(body, "application/json", str(content["id"]), None)
    if isinstance(upload, uploads.Refusal):
        raise HttpError(
            upload.status, upload.message, errors=[p.to_dict() for p in upload.problems]
        )
    if record is None:
        return (await create_from(upload, store, keys, artifacts, settings)).version
    return (await add_version(upload, record, store, keys, artifacts, settings)).version


def _retained(logs: list[dict[str, Any]], privacy: Privacy, now: float) -> list[dict[str, Any]]:
    """The logs within the tenant's retention period (those without a time, all)."""
    if privacy.log_retention_days is None:
        return logs
    cutoff = datetime.fromtimestamp(now - 86400 * privacy.log_retention_days, UTC)
    stamp = cutoff.isoformat().replace("+00:00", "Z")
    return [log for log in logs if not log.get("time") or str(log["time"]) >= stamp]


def _wanted(conversation: str | None, user: str | None) -> Callable[[dict[str, Any]], bool]:
    """Whether a log (its file form) is the conversation's or the user's."""
    if conversation is not None:
        ids = {conversation, episode_id(Pending(conversation=conversation))}
        return lambda log: str(log.get("id")) in ids
    assert user is not None
    users = {user, user_key(user)}
    return lambda log: log.get("user") in users


async def _trained_versions(store: KeyValueStore, keys: Keys, scenario_id: str) -> set[str]:
    """The versions of the scenario the tenant's sessions trained on."""
    sessions = readable(SessionRecord, await store.list(keys.sessions))
    return {
        s.scenario_version for s in sessions if s.scenario_id == scenario_id and s.scenario_version
    }


async def _drop_versions(
    store: KeyValueStore,
    keys: Keys,
    artifacts: ArtifactStore,
    scenario_id: str,
    versions: list[str],
) -> None:
    """Remove `versions` of a scenario, and the scenario with the last of them."""
    if not versions:
        return
    found = await lookups.own_scenario(store, keys, scenario_id)
    if found is not None:
        record, revision = found
        left = [v for v in record.versions if v not in versions]
        if left:
            await store.update(
                keys.scenario(scenario_id),
                record.model_copy(update={"versions": left}).dump(),
                revision,
            )
        else:
            await store.delete(keys.scenario(scenario_id), revision)
    for version in versions:
        with contextlib.suppress(ArtifactNotFoundError):
            await artifacts.delete(keys.scenario_definition(scenario_id, version))


def _tool_name(name: str) -> bool:
    return re.fullmatch(TOOL_NAME, name) is not None
