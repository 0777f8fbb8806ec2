"""The session state machine: which actions and status changes are legal."""

from __future__ import annotations

import itertools

import pytest

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
