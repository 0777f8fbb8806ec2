"""The session state machine: which actions and status changes are legal."""

from __future__ import annotations

import itertools

import pytest

from agentgym import state
from agentgym.state import (
    TRANSITIONS,
    Action,
    IllegalTransitionError,
    SessionStatus,
    accepts,
    check_action,
    check_transition,
)

S = SessionStatus


@pytest.mark.parametrize(
    ("status", "action", "legal"),
    [
        (S.QUEUED, Action.PAUSE, True),
        (S.RUNNING, Action.PAUSE, True),
        (S.PAUSED, Action.PAUSE, False),
        (S.COMPLETED, Action.PAUSE, False),
        (S.PAUSED, Action.RESUME, True),
        (S.RUNNING, Action.RESUME, False),
        (S.QUEUED, Action.RESUME, False),
        (S.RUNNING, Action.STOP, True),
        (S.PAUSED, Action.STOP, True),
        (S.QUEUED, Action.STOP, True),
        (S.STOPPED, Action.STOP, False),
        (S.FAILED, Action.RESUME, False),
    ],
)
def test_actions_follow_the_state_machine(status: S, action: Action, legal: bool) -> None:
    assert accepts(status, action) is legal


def test_pause_of_completed_session_says_the_current_status() -> None:
    with pytest.raises(IllegalTransitionError) as caught:
        check_action(S.COMPLETED, Action.PAUSE)
    assert "completed" in str(caught.value)
    assert "queued, running" in str(caught.value)


def test_the_documented_life_is_legal() -> None:
    life = [S.QUEUED, S.RUNNING, S.PAUSED, S.QUEUED, S.RUNNING, S.COMPLETED]
    for current, new in itertools.pairwise(life):
        check_transition(current, new)


def test_terminal_statuses_go_nowhere() -> None:
    for status in S:
        assert (not TRANSITIONS[status]) is status.terminal
    with pytest.raises(IllegalTransitionError):
        check_transition(S.COMPLETED, S.RUNNING)


@pytest.mark.parametrize(
    ("status", "pending", "offered", "deletable"),
    [
        (S.QUEUED, None, ["pause", "stop"], False),
        (S.RUNNING, None, ["pause", "stop"], False),
        (S.RUNNING, Action.PAUSE, ["stop"], False),  # asked once: not offered again
        (S.RUNNING, Action.STOP, [], False),  # a pending stop is final
        (S.PAUSED, None, ["resume", "stop"], True),
        (S.PAUSED, Action.STOP, [], False),  # a trainer is about to take it
        (S.COMPLETED, None, [], True),
        (S.FAILED, None, [], True),
    ],
)
def test_what_a_session_offers_its_controls(
    status: S, pending: Action | None, offered: list[str], deletable: bool
) -> None:
    assert state.allowed_actions(status, pending) == offered
    assert state.deletable(status, pending) is deletable
