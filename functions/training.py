"""`/api/training`: start, watch, pause, resume and stop sessions. Lambda: `functions.training.handler`.

Handlers record what `agentgym.lifecycle` decides in the store first (compare-and-set), then
carry out its effects: tell the trainers over NATS, and watchers. What the store holds is what
counts; NATS only makes it prompt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from agentgym import adapters, aliases, lifecycle, retries
from agentgym.bus import Bus
from agentgym.contracts import (
    ActionResponse,
    Episode,
    EpisodePage,
    Split,
    TrainingStartRequest,
    TrainingStartResponse,
    TrainingStatus,
    built,
    utc_now,
)
from agentgym.errors import (
    ArtifactNotFoundError,
    BusUnavailableError,
    InvalidKeyError,
    KeyExistsError,
    KeyNotFoundError,
    ModelNotFoundError,
)
from agentgym.lifecycle import Do
from agentgym.messages import ControlMessage, SessionEvaluation, StatusEvent, TrainCommand
from agentgym.records import (
    Keys,
    SessionRecord,
    mark_active,
    modify,
    status_json_of,
)
from agentgym.state import Action, SessionStatus
from agentgym.store import KeyValueStore
from functions import errors, lambda_entry, lookups, quotas
from functions.errors import HttpError
from functions.resources import (
    ArtifactsDep,
    BusDep,
    HistoryDep,
    KeysDep,
    SettingsDep,
    StoreDep,
    keys_of,
    store_of,
)
from functions.starting import new_session

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/training", tags=["training"], responses=errors.DOCUMENTED)
built(TrainingStartRequest)  # before its route (contracts.Body)

JSON = "application/json"
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]


def _session_id(keys: Keys, idempotency_key: str | None) -> str:
    """A new session's id; the same one for every request of a tenant with the same
    Idempotency-Key."""
    if idempotency_key is None:
        return f"session_{secrets.token_hex(12)}"
    digest = hashlib.sha256(f"{keys.tenant}\n{idempotency_key}".encode()).hexdigest()
    return f"session_{digest[:24]}"


def _same_request(existing: SessionRecord, body: TrainingStartRequest) -> bool:
    """Whether a replayed Idempotency-Key asks for what the first request did."""
    asked = body.model_dump(exclude_none=True)
    return all(getattr(existing, field) == value for field, value in asked.items())


async def _announce(
    bus: Bus,
    keys: Keys,
    session_id: str,
    status: SessionStatus,
    previous: SessionStatus | None = None,
) -> None:
    """Tell watchers a status changed. Best effort: the store already holds the truth."""
    event = StatusEvent(session_id=session_id, tenant=keys.tenant, status=status, previous=previous)
    try:
        await bus.publish_event(event)
    except BusUnavailableError as exc:
        logger.warning("status event for %s not published: %s", session_id, exc)


@router.post("/start", response_model=TrainingStartResponse)
async def start_training(
    body: TrainingStartRequest,
    store: StoreDep,
    keys: KeysDep,
    bus: BusDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> TrainingStartResponse:
    """Queue a new session. With an `Idempotency-Key`, a repeat returns the same session."""
    scenario = await lookups.scenario(store, keys, body.scenario_id)
    if body.warm_start is not None:  # an alias: the model it names now
        try:
            named = await aliases.resolve_model(store, keys, body.warm_start)
        except ModelNotFoundError:
            raise HttpError(422, f"warm_start: no model or alias {body.warm_start!r} "
                            "(GET /api/models lists them)") from None  # fmt: skip
        body = body.model_copy(update={"warm_start": named})
    defaults, _ = await lookups.settings(store, keys)
    session = new_session(body, scenario, defaults, _session_id(keys, idempotency_key))
    session.idempotency_key, session.tenant = idempotency_key, keys.tenant
    key = keys.session(session.session_id)
    decision = lifecycle.start(session)
    if idempotency_key is None or not await _exists(store, key):
        await quotas.check_new_session(store, keys, settings)
    try:
        revision = await store.create(key, session.dump())
    except KeyExistsError:
        existing, _ = await lookups.session(store, keys, session.session_id)
        if not _same_request(existing, body):
            raise HttpError(
                422, "this Idempotency-Key was already used for a different request; "
                "use a new key for a new session",
            ) from None  # fmt: skip
        again = lifecycle.start_again(existing)
        await _carry_out(store, bus, keys, existing.session_id, again, 0)
        return _started(existing)
    try:
        await _carry_out(store, bus, keys, session.session_id, decision, 0)  # its id is its own
    except BusUnavailableError:
        await store.delete(key, revision)  # no command, no session: the retry starts afresh
        await mark_active(store, keys, session.session_id, False)
        await quotas.forget_session(store, keys)
        raise
    await quotas.count_session(store, keys)
    return _started(session)


def _started(session: SessionRecord) -> TrainingStartResponse:
    framework = session.framework
    return TrainingStartResponse(
        session_id=session.session_id,
        adapter=adapters.adapter_for(framework),
        notice=adapters.missing_adapter(framework),
    )


async def _exists(store: KeyValueStore, key: str) -> bool:
    try:
        await store.get(key)
    except KeyNotFoundError:
        return False
    return True


# The status routes answer JSON written straight from the records: the response model stays
# for the schema, but FastAPI's validate-then-serialize of it would cost more than the read.
@router.get("", response_model=list[TrainingStatus])
async def list_sessions(store: StoreDep, keys: KeysDep) -> Response:
    sessions = await lookups.sessions(store, keys)
    ordered = sorted(sessions, key=lambda s: (s.created_at, s.session_id))
    return Response(b"[" + b",".join(s.status_json() for s in ordered) + b"]", media_type=JSON)


@router.get("/{session_id}", response_model=TrainingStatus)
async def get_session(session_id: str, store: StoreDep, keys: KeysDep) -> Response:
    """A session's status: what dashboards poll (served through `status`, below)."""
    found = await lookups.session_entry(store, keys, session_id)
    return Response(status_json_of(found.value), media_type=JSON)


async def status(scope: Scope, receive: Receive, send: Send) -> None:
    """`get_session`, called without FastAPI's per-request dependency solving or Starlette's
    request wrapper, which cost more than the read itself on the API's busiest route: its
    dependencies are the same calls (the caller's tenant, 401 without credentials; the
    store), and an HttpError reaches the app's error handlers like any other."""
    request = Request(scope)
    keys, store = await keys_of(request), await store_of(request)
    response = await get_session(scope["path_params"]["session_id"], store, keys)
    await response(scope, receive, send)


class _Endpoint:
    """Starlette serves an object that is not a function as an ASGI app (no request wrapper)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


# Matched before get_session's own route (routes match in order), which documents it.
router.routes.insert(0, Route("/api/training/{session_id}", _Endpoint(status), methods=["GET"]))


@router.get("/{session_id}/metrics")
async def get_metrics(
    session_id: str,
    store: StoreDep,
    keys: KeysDep,
    history: HistoryDep,
    since: Annotated[int, Query(ge=0, description="return updates after this seq")] = 0,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
    points: Annotated[
        int | None,
        Query(ge=2, le=100_000, description="at most this many, evenly spaced, the last kept"),
    ] = None,
) -> Response:
    """The recorded training updates after `since`, in `seq` order: the very objects the
    WebSocket sends, for charts and for clients that reconnect. With `points`, all of them
    (`limit` aside) thinned to at most that many, evenly spaced, the first and the last kept:
    a chart of a long session's whole history, in one small answer."""
    await lookups.session(store, keys, session_id)
    if points is not None and since == 0:
        updates = await history.sampled_updates(session_id, points)
    else:
        updates = await history.updates(session_id, since, None if points else limit)
        if points is not None and len(updates) > points:  # after `since`: read, then thinned
            last = len(updates) - 1
            updates = [updates[round(i * last / (points - 1))] for i in range(points)]
    return Response(b"[" + b",".join(updates) + b"]", media_type=JSON)


@router.get("/{session_id}/episodes", response_model=EpisodePage)
async def list_episodes(
    session_id: str,
    store: StoreDep,
    keys: KeysDep,
    history: HistoryDep,
    split: Annotated[Split | None, Query(description="train or heldout")] = None,
    solved: Annotated[bool | None, Query()] = None,
    intent: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="the cursor: a seq")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> EpisodePage:
    """The session's recorded episodes after `after`, in the order they were recorded (a
    sample of its training episodes, and every episode of each held-out evaluation; the last
    10,000 are kept), those of `split`, `solved` and `intent` only if given. `next` is the
    cursor of the next page: a filtered page reads at most 5,000 episodes, so it may come back
    short with a `next` to read on from."""
    await lookups.session(store, keys, session_id)
    wanted = {
        name: value
        for name, value in (("split", split), ("solved", solved), ("intent", intent))
        if value is not None
    }

    def keep(raw: bytes) -> bool:
        data = json.loads(raw)["data"]
        return all(data.get(name) == value for name, value in wanted.items())

    found, cursor, last = await history.episodes(session_id, after, limit, keep if wanted else None)
    return EpisodePage(episodes=[_episode(raw) for raw in found], next=cursor, last=last)


@router.get("/{session_id}/episodes/{seq}", response_model=Episode)
async def get_episode(
    session_id: str, seq: Annotated[int, Path(ge=1, le=2**63 - 1)], store: StoreDep,
    keys: KeysDep, history: HistoryDep,
) -> Episode:  # fmt: skip
    """One recorded episode, by its `seq`."""
    await lookups.session(store, keys, session_id)
    found, _, _ = await history.episodes(session_id, seq - 1, 1)
    if not found or (episode := _episode(found[0])).seq != seq:
        raise HttpError(
            404, f"session {session_id!r} has no recorded episode {seq} (the latest are "
            f"kept; list them at /api/training/{session_id}/episodes)",
        )  # fmt: skip
    return episode


def _episode(raw: bytes) -> Episode:
    message = json.loads(raw)
    return Episode.model_validate(message["data"] | {"seq": message["seq"]})


@router.get("/{session_id}/evaluation", response_model=SessionEvaluation)
async def get_evaluation(
    session_id: str, store: StoreDep, keys: KeysDep, artifacts: ArtifactsDep
) -> Response:
    """The session's latest held-out evaluation: accuracy, per-tool precision and recall, the
    confusion of expected against chosen tool, accuracy per intent, calls per task and
    recoveries from transient failures."""
    await lookups.session(store, keys, session_id)
    try:
        report = await artifacts.get(keys.evaluation(session_id))
    except ArtifactNotFoundError:
        raise HttpError(
            404, f"session {session_id!r} has not been evaluated yet: it is, every "
            "eval_every episodes and when it ends",
        ) from None  # fmt: skip
    return Response(report, media_type=JSON)


async def _decide(
    store: KeyValueStore, keys: Keys, session_id: str, action: Action
) -> tuple[lifecycle.Decision, int]:
    """Record what `lifecycle.control` decides for `action` (compare-and-set on the latest record):
    the decision and the revision written (or read, when nothing was to be written)."""
    key = keys.session(session_id)

    async def once() -> tuple[lifecycle.Decision, int]:
        try:
            entry = await store.get(key)
        except (KeyNotFoundError, InvalidKeyError):
            raise lookups.session_missing(session_id) from None
        decision = lifecycle.control(SessionRecord.load(entry.value), action)
        if decision.record is None:
            return decision, entry.revision
        decision.record.updated_at = utc_now()
        return decision, await store.update(key, decision.record.dump(), entry.revision)

    # Someone wrote first: decide again on what they wrote (bounded, with jitter).
    return await retries.compare_and_set(key, once)


async def _carry_out(
    store: KeyValueStore,
    bus: Bus,
    keys: Keys,
    session_id: str,
    decision: lifecycle.Decision,
    revision: int,
) -> None:
    """The decision's effects, in order: every one of `lifecycle.API_EFFECTS`, and no other
    (a trainer's effect here is a bug). A command's message id names the revision it was
    decided at, so a retried publish is dropped while a resume after another pause is new."""
    for effect in decision.effects:
        match effect.do:
            case Do.SEND_COMMAND:
                command = TrainCommand.model_validate(
                    {"session_id": session_id, "action": effect.action, "tenant": keys.tenant}
                )
                await bus.send_command(command, command.msg_id(revision))
            case Do.SEND_CONTROL:
                control = ControlMessage.model_validate(
                    {"session_id": session_id, "action": effect.action}
                )
                await bus.send_control(control)
            case Do.ANNOUNCE:
                assert effect.status is not None
                await _announce(bus, keys, session_id, effect.status, effect.previous)
            case Do.MARK_ACTIVE | Do.UNMARK_ACTIVE:
                await mark_active(store, keys, session_id, effect.do is Do.MARK_ACTIVE)
            case _:
                raise AssertionError(f"the API does not carry out {effect.do}: a trainer does")


@router.post("/{session_id}/pause", response_model=ActionResponse)
async def pause_training(
    session_id: str, store: StoreDep, keys: KeysDep, bus: BusDep
) -> ActionResponse:
    """Pause: the trainer checkpoints and frees its slot; the session keeps its progress.
    Until it has, the status reads running with `pending: "pause"`."""
    decision, revision = await _decide(store, keys, session_id, Action.PAUSE)
    await _carry_out(store, bus, keys, session_id, decision, revision)
    return ActionResponse(status="paused")


@router.post("/{session_id}/resume", response_model=ActionResponse)
async def resume_training(
    session_id: str, store: StoreDep, keys: KeysDep, bus: BusDep, settings: SettingsDep
) -> ActionResponse:
    """Resume a paused session: any trainer continues from its checkpoint. It takes a place
    among the tenant's active sessions again, so the limit applies as at a start. Until a
    trainer has it, the status reads queued with `pending: "resume"`."""
    session, _ = await lookups.session(store, keys, session_id)
    if session.status is SessionStatus.PAUSED:  # anything else is the 409 below
        await quotas.check_active(store, keys, settings)
    decision, revision = await _decide(store, keys, session_id, Action.RESUME)
    try:
        await _carry_out(store, bus, keys, session_id, decision, revision)
    except BusUnavailableError:
        if decision.record is not None:  # back to paused, so that a retry can resume
            key = keys.session(session_id)
            undone = lifecycle.Decision(None)

            def undo(record: SessionRecord) -> SessionRecord:
                nonlocal undone
                undone = lifecycle.resume_unsent(record)
                return undone.record or record

            await modify(store, key, SessionRecord, undo)
            await _carry_out(store, bus, keys, session_id, undone, 0)
        raise
    return ActionResponse(status="resumed")


@router.post("/{session_id}/stop", response_model=ActionResponse)
async def stop_training(
    session_id: str, store: StoreDep, keys: KeysDep, bus: BusDep
) -> ActionResponse:
    """Stop: the trainer saves the model so far and the session ends `stopped`."""
    decision, revision = await _decide(store, keys, session_id, Action.STOP)
    await _carry_out(store, bus, keys, session_id, decision, revision)
    return ActionResponse(status="stopped")


@router.delete("/{session_id}")
async def delete_session(
    session_id: str, store: StoreDep, keys: KeysDep, history: HistoryDep, artifacts: ArtifactsDep
) -> dict[str, str]:
    """Delete a session that no trainer holds or is about to take (paused or ended): its
    checkpoint, its latest evaluation, its recorded updates and episodes, then its record, so that a retry after a failure still
    finds the record and finishes the job. Its model, if it saved one, stays."""
    found = await lookups.session_entry(store, keys, session_id)
    session = SessionRecord.load(found.value)
    if not session.deletable:
        pending = f" ({session.pending} requested)" if session.pending else ""
        raise HttpError(
            409, f"session {session_id!r} is {session.status}{pending}; pause or stop it, and "
            "wait until it is paused or stopped, before deleting it",
        )  # fmt: skip
    for artifact in (keys.checkpoint(session_id), keys.evaluation(session_id)):
        with contextlib.suppress(ArtifactNotFoundError):
            await artifacts.delete(artifact)
    await history.forget(session_id)
    await store.delete(keys.session(session_id), found.revision)
    await mark_active(store, keys, session_id, False)  # one a crash may have left
    await quotas.forget_session(store, keys)
    return {"status": "deleted"}


def __getattr__(name: str) -> Any:
    """`app` and `handler`, this Lambda entry point's, built on first use (lambda_entry)."""
    return lambda_entry.attribute(__name__, router, name)
