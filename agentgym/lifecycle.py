"""A session's life, in one place: every change of its status, for the API and the trainer.

Pure (no I/O, no asyncio). Given a session record and what happened, a user's action or a
trainer's event, each function returns a `Decision`: the record to write (with
compare-and-set, by the caller) and the effects to carry out once it is written, or raises
IllegalTransitionError naming the current status. The API handlers and the trainer only
read, write and carry out effects; every status they write passes `agentgym.state`'s table.

    queued -> running -> paused -> queued -> running -> completed | stopped | failed

`pending` is the user's request that the trainer has not carried out yet (pause or stop of a
running session, stop of a queued or paused one, resume of a queued one until a trainer takes
it). It wins over message order: a trainer reads it before it trains and between slices.
A pending stop is final; a repeat of the pending request answers as the first did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from agentgym.records import SessionRecord
from agentgym.state import (
    Action,
    IllegalTransitionError,
    SessionStatus,
    check_action,
    check_transition,
)

S = SessionStatus
CommandAction = Literal["start", "resume", "stop"]


class Do(StrEnum):
    """An effect: what the caller carries out once the decision's record is written."""

    SEND_COMMAND = "send_command"  # queue a command for any trainer (`action`)
    SEND_CONTROL = "send_control"  # tell the trainer holding it, at once (`action`)
    ANNOUNCE = "announce"  # publish a status event (`status`, `previous`)
    TRAIN = "train"  # go on training it (a trainer that claimed it)
    CHECKPOINT = "checkpoint"  # write a checkpoint before the record
    SAVE_MODEL = "save_model"  # save the model bundle and its record before the record
    PUBLISH_LAST = "publish_last"  # publish the record as the session's last update
    MARK_ACTIVE = "mark_active"  # it became queued or running: it counts against the limit
    UNMARK_ACTIVE = "unmark_active"  # it no longer does
    ACK = "ack"  # the work message is done with
    HAND_BACK = "hand_back"  # the work message goes to another trainer now
    RETRY_LATER = "retry_later"  # the work message comes back after the ack wait


# What each side carries out: the API the decisions of a user's request (`start`, `control`,
# `start_again`, `resume_unsent`), a trainer those of its events. Each side's executor handles
# exactly its set, and tests/test_lifecycle.py checks every decision against it.
API_EFFECTS = frozenset(
    {Do.SEND_COMMAND, Do.SEND_CONTROL, Do.ANNOUNCE, Do.MARK_ACTIVE, Do.UNMARK_ACTIVE}
)
TRAINER_EFFECTS = frozenset(
    {
        *(Do.TRAIN, Do.CHECKPOINT, Do.SAVE_MODEL, Do.PUBLISH_LAST, Do.ANNOUNCE),
        *(Do.UNMARK_ACTIVE, Do.ACK, Do.HAND_BACK, Do.RETRY_LATER),
    }
)


@dataclass(frozen=True)
class Effect:
    do: Do
    action: str | None = None
    status: SessionStatus | None = None
    previous: SessionStatus | None = None


@dataclass(frozen=True)
class Decision:
    """The record to write (None: write nothing) and what to do once it is written."""

    record: SessionRecord | None
    effects: tuple[Effect, ...] = field(default_factory=tuple)

    def does(self, do: Do) -> bool:
        return any(effect.do is do for effect in self.effects)


def _moved(record: SessionRecord, status: SessionStatus, **changes: object) -> SessionRecord:
    check_transition(record.status, status)
    return record.model_copy(update={"status": status, **changes})


def _announce(status: SessionStatus, previous: SessionStatus | None) -> Effect:
    return Effect(Do.ANNOUNCE, status=status, previous=previous)


ACTIVE = frozenset({S.QUEUED, S.RUNNING})  # what the tenant's limit on active sessions counts


def _activity(before: SessionStatus | None, after: SessionStatus) -> tuple[Effect, ...]:
    """The mark to set or clear when a status change makes a session active or not."""
    was, now = before in ACTIVE, after in ACTIVE
    if now and not was:
        return (Effect(Do.MARK_ACTIVE),)
    if was and not now:
        return (Effect(Do.UNMARK_ACTIVE),)
    return ()


# --- the user's actions (the API) -----------------------------------------------------------


def start(record: SessionRecord) -> Decision:
    """A new session: queued, its start command sent, watchers told."""
    assert record.status is S.QUEUED, record.status
    return Decision(
        record,
        (*_activity(None, S.QUEUED), Effect(Do.SEND_COMMAND, "start"), _announce(S.QUEUED, None)),
    )


def start_again(record: SessionRecord) -> Decision:
    """A start repeated with its Idempotency-Key: if the session is still queued, the first
    request may have failed before sending its command (or marking it active), so both are
    done again (a command's message id drops it if the first went out); watchers were told."""
    if record.status is not S.QUEUED:
        return Decision(None)
    return Decision(None, (*_activity(None, S.QUEUED), Effect(Do.SEND_COMMAND, "start")))


def control(record: SessionRecord, action: Action) -> Decision:
    """The user asks `action` of the session (IllegalTransitionError when it may not be)."""
    status = record.status
    if action is record.pending and status in _REPEATABLE[action]:
        # The same request again: answered as the first was, with nothing to write. A pause
        # or a stop is told again (a stop's first command may not have gone out; a second is
        # harmless, as an ended session drops it); a resume's first command went out, or it
        # was undone (`resume_unsent`), so a second one would only be a duplicate.
        return Decision(None, () if action is Action.RESUME else (_send(status, action),))
    check_action(status, action, record.pending)
    if action is Action.PAUSE and status is S.QUEUED:
        # No trainer holds it yet: paused at once; its queued command will find it so.
        paused = _moved(record, S.PAUSED, pending=None)
        return Decision(paused, (*_activity(status, S.PAUSED), _announce(S.PAUSED, status)))
    if action is Action.RESUME:
        queued = _moved(record, S.QUEUED, pending=Action.RESUME)
        effects = (*_activity(status, S.QUEUED), _send(status, action), _announce(S.QUEUED, status))
        return Decision(queued, effects)
    return Decision(record.model_copy(update={"pending": action}), (_send(status, action),))


def _send(status: SessionStatus, action: Action) -> Effect:
    """How `action` reaches the trainers: the one holding a running session is told at once;
    otherwise whichever takes the command carries it out (a stop saves the model)."""
    if status is S.RUNNING:
        return Effect(Do.SEND_CONTROL, action.value)
    return Effect(Do.SEND_COMMAND, action.value)


# A repeat of the pending request, answered as the first was, in the statuses it leaves.
_REPEATABLE: dict[Action, frozenset[SessionStatus]] = {
    Action.PAUSE: frozenset({S.RUNNING}),
    Action.RESUME: frozenset({S.QUEUED}),
    Action.STOP: frozenset({S.QUEUED, S.RUNNING, S.PAUSED}),
}


def resume_unsent(record: SessionRecord) -> Decision:
    """The resume command could not be sent: back to paused, so that a retry can resume."""
    if record.status is S.QUEUED and record.pending is Action.RESUME:
        return Decision(_moved(record, S.PAUSED, pending=None), _activity(S.QUEUED, S.PAUSED))
    return Decision(None)


# --- the trainer's events ----------------------------------------------------------------------


def owned_elsewhere(record: SessionRecord, worker_id: str, now: float, ack_wait_s: float) -> bool:
    """Whether another worker holds the session and wrote lately (a silent owner is gone)."""
    alive = now - record.heartbeat < ack_wait_s
    return record.owner not in (None, worker_id) and alive


def command(
    record: SessionRecord | None,
    action: CommandAction,
    worker_id: str,
    now: float,
    ack_wait_s: float,
) -> Decision:
    """A trainer took a command (first delivery, or redelivered after a crash): what now.

    The effects say what to do with the session (TRAIN after claiming it, or the steps of an
    ending) and with the work message (ACK, RETRY_LATER)."""
    done = Decision(None, (Effect(Do.ACK),))
    if record is None or record.status.terminal:
        return done
    elsewhere = owned_elsewhere(record, worker_id, now, ack_wait_s)
    if action == "stop" or record.pending is Action.STOP:
        if record.status is S.RUNNING and elsewhere:
            return done  # its owner is stopping it (whatever command this is)
        return leave(record, S.STOPPED)
    if record.status is S.PAUSED:
        return done  # paused while the command waited; a resume sends a new one
    if record.status is S.RUNNING and elsewhere:
        # Its owner wrote lately: a duplicate, or the owner died a moment ago. Look again once
        # a live owner's heartbeat could not be this old.
        return Decision(None, (Effect(Do.RETRY_LATER),))
    if record.pending is Action.PAUSE:
        return leave(record, S.PAUSED)
    claimed = _moved(record, S.RUNNING, owner=worker_id, heartbeat=now, pending=None)
    return Decision(claimed, (_announce(S.RUNNING, None), Effect(Do.TRAIN)))


def between_slices(
    record: SessionRecord, pending: Action | None, shutting_down: bool, finished: bool
) -> Decision | None:
    """Between slices of training: how the session leaves the trainer, or None to go on.

    `record` is the latest stored one (its `pending` is the user's word), `pending` what a
    control message asked meanwhile."""
    wanted = {record.pending, pending}
    if Action.STOP in wanted:
        return leave(record, S.STOPPED)
    if Action.PAUSE in wanted:
        return leave(record, S.PAUSED)
    if shutting_down:
        return leave(record, S.QUEUED)
    if finished:
        return leave(record, S.COMPLETED)
    return None


def unrunnable(record: SessionRecord, error: str) -> Decision:
    """Its run cannot be rebuilt (its scenario was deleted, its checkpoint is another trainer
    format's). A session to train fails, saying why; a paused one asked to stop ends stopped,
    saying why it has no model (nothing ran, so it did not fail: paused never becomes failed)."""
    if record.status is not S.PAUSED:
        return failed(record, error)
    return _ended_with(record, S.STOPPED, error)


def failed(record: SessionRecord, error: str) -> Decision:
    """Training could not go on (a bug, a broken checkpoint): the session ends failed."""
    return _ended_with(record, S.FAILED, error)


def _ended_with(record: SessionRecord, status: SessionStatus, error: str) -> Decision:
    """Ended `status` where it stands, saying why (`error`), without a checkpoint or a model."""
    ended = _moved(record, status, pending=None, owner=None, error=error)
    effects = (
        *_activity(record.status, status),
        Effect(Do.PUBLISH_LAST),
        _announce(status, record.status),
        Effect(Do.ACK),
    )
    return Decision(ended, effects)


def leave(record: SessionRecord, status: SessionStatus) -> Decision:
    """The session leaves its trainer `status`: the steps in order, the record last.

    Paused or queued (handed back), it is checkpointed; stopped or completed, its model is
    saved too. The record to write is `ended(stored, status)` of the latest stored one."""
    check_transition(record.status, status)
    steps = [Effect(Do.CHECKPOINT)]
    if status in (S.STOPPED, S.COMPLETED):
        steps.append(Effect(Do.SAVE_MODEL))
    message = Effect(Do.HAND_BACK) if status is S.QUEUED else Effect(Do.ACK)
    steps += [*_activity(record.status, status), Effect(Do.PUBLISH_LAST)]
    steps += [_announce(status, record.status), message]
    return Decision(_ended(record, status), tuple(steps))


def ended(stored: SessionRecord, status: SessionStatus) -> SessionRecord:
    """The record a trainer writes as a session leaves it `status`, over the stored one.

    Only a stop or an end ends a stop: a pause or a hand-back asked while the user's stop
    arrived must not swallow it, and raises StopRequested instead (the caller leaves it
    stopped, with its model)."""
    if stored.status.terminal:
        raise AlreadyEnded  # another trainer ended it (two took a stop of it at once)
    if status in (S.PAUSED, S.QUEUED) and stored.pending is Action.STOP:
        raise StopRequested
    return _ended(stored, status)


def _ended(record: SessionRecord, status: SessionStatus) -> SessionRecord:
    return _moved(record, status, pending=None, owner=None)


class StopRequested(Exception):
    """The user asked to stop the session while its trainer was letting go of it."""


class AlreadyEnded(Exception):
    """The session ended meanwhile, by another trainer's hand: nothing more to write."""


__all__ = [
    "ACTIVE",
    "AlreadyEnded",
    "Decision",
    "Do",
    "Effect",
    "IllegalTransitionError",
    "StopRequested",
    "between_slices",
    "command",
    "control",
    "ended",
    "failed",
    "leave",
    "owned_elsewhere",
    "resume_unsent",
    "start",
]
