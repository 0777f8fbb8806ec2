"""A session's life: its states, the user actions, and which transitions are legal.

Pure and tiny, so the functions (which accept actions) and the trainer (which carries them
out) agree by construction:

    queued -> running -> paused -> queued -> running -> completed | stopped | failed
"""

from __future__ import annotations

from enum import StrEnum


class SessionStatus(StrEnum):
    QUEUED = "queued"  # accepted; waiting for a trainer to pick up its start or resume command
    RUNNING = "running"  # a trainer is training it
    PAUSED = "paused"  # checkpointed; no trainer holds it until it is resumed
    COMPLETED = "completed"  # reached max_episodes; a model was saved
    STOPPED = "stopped"  # stopped by the user; a model was saved
    FAILED = "failed"  # the trainer could not go on; the record says why

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


class Action(StrEnum):
    """What a user can ask of a session."""

    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


_TERMINAL = frozenset({SessionStatus.COMPLETED, SessionStatus.STOPPED, SessionStatus.FAILED})

# The statuses from which each user action is accepted.
_ACCEPTS: dict[Action, frozenset[SessionStatus]] = {
    Action.PAUSE: frozenset({SessionStatus.QUEUED, SessionStatus.RUNNING}),
    Action.RESUME: frozenset({SessionStatus.PAUSED}),
    Action.STOP: frozenset({SessionStatus.QUEUED, SessionStatus.RUNNING, SessionStatus.PAUSED}),
}

# Every status change any process may write.
TRANSITIONS: dict[SessionStatus, frozenset[SessionStatus]] = {
    SessionStatus.QUEUED: frozenset(
        {SessionStatus.RUNNING, SessionStatus.PAUSED, SessionStatus.STOPPED, SessionStatus.FAILED}
    ),
    SessionStatus.RUNNING: frozenset(
        {
            SessionStatus.QUEUED,  # its worker shut down; another takes it from the checkpoint
            SessionStatus.PAUSED,
            SessionStatus.COMPLETED,
            SessionStatus.STOPPED,
            SessionStatus.FAILED,
        }
    ),
    SessionStatus.PAUSED: frozenset({SessionStatus.QUEUED, SessionStatus.STOPPED}),
    SessionStatus.COMPLETED: frozenset(),
    SessionStatus.STOPPED: frozenset(),
    SessionStatus.FAILED: frozenset(),
}


class IllegalTransitionError(ValueError):
    """An action or status change the current status does not allow."""

    def __init__(
        self, current: SessionStatus, wanted: Action | SessionStatus, stopping: bool = False
    ) -> None:
        self.current = current
        self.wanted = wanted
        if stopping:
            message = f"cannot {wanted} a session that is {current} and being stopped"
        elif isinstance(wanted, Action):
            allowed = ", ".join(sorted(_ACCEPTS[wanted]))
            message = (
                f"cannot {wanted} a session that is {current}; "
                f"{wanted} applies to a session that is {allowed}"
            )
        else:
            message = f"a session that is {current} cannot become {wanted}"
        super().__init__(message)


def accepts(status: SessionStatus, action: Action) -> bool:
    return status in _ACCEPTS[action]


def allowed_actions(status: SessionStatus, pending: Action | None) -> list[Action]:
    """What a session in `status` whose pending request is `pending` may be asked now: the
    controls a dashboard offers (a pending stop is final; a pending action is not offered
    again)."""
    if pending is Action.STOP:
        return []
    return [action for action in Action if accepts(status, action) and action is not pending]


def deletable(status: SessionStatus, pending: Action | None) -> bool:
    """Whether a session may be deleted: paused or ended (no trainer holds it or is about to
    take it), with nothing it was asked still pending."""
    return (status is SessionStatus.PAUSED or status.terminal) and pending is None


def check_action(status: SessionStatus, action: Action, desired: Action | None = None) -> None:
    """Raise IllegalTransitionError unless `action` may be asked of a session in `status`
    whose pending request is `desired` (a pending stop is final: only stop may follow)."""
    if not accepts(status, action):
        raise IllegalTransitionError(status, action)
    if desired is Action.STOP and action is not Action.STOP:
        raise IllegalTransitionError(status, action, stopping=True)


def check_transition(current: SessionStatus, new: SessionStatus) -> None:
    if new != current and new not in TRANSITIONS[current]:
        raise IllegalTransitionError(current, new)
