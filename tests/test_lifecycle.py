"""The session lifecycle as tables: every status and pending request against every user action
and trainer event, with what the record becomes and what must be done."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from agentgym import lifecycle
from agentgym.contracts import Framework
from agentgym.lifecycle import Do
from agentgym.records import SessionRecord
from agentgym.state import Action, IllegalTransitionError, SessionStatus

S, A = SessionStatus, Action
ME, OTHER = "worker-me", "worker-other"
NOW, ACK_WAIT = 1_000.0, 30.0


def record(status: S, pending: A | None = None, **fields: Any) -> SessionRecord:
    return SessionRecord(
        session_id="session_t", scenario_id="customer_support", framework=Framework.LANGCHAIN,
        status=status, max_episodes=100, learning_rate=0.001, seed=1, pending=pending, **fields,
    )  # fmt: skip


def sends(decision: lifecycle.Decision) -> str:
    """The message a decision sends, as `command:<action>`, `control:<action>` or `-`."""
    for effect in decision.effects:
        if effect.do is Do.SEND_COMMAND:
            return f"command:{effect.action}"
        if effect.do is Do.SEND_CONTROL:
            return f"control:{effect.action}"
    return "-"


def announces(decision: lifecycle.Decision) -> S | None:
    found = [e.status for e in decision.effects if e.do is Do.ANNOUNCE]
    return found[0] if found else None


# --- the user's actions ------------------------------------------------------------------------

# (status, pending, action) -> None for a 409, or (status, pending, message, announced) after;
# status None: nothing is written (a repeat of the pending request, answered as the first).
USER: list[tuple[S, A | None, A, tuple[S | None, A | None, str, S | None] | None]] = [
    (S.QUEUED, None, A.PAUSE, (S.PAUSED, None, "-", S.PAUSED)),
    (S.QUEUED, None, A.RESUME, None),
    (S.QUEUED, None, A.STOP, (S.QUEUED, A.STOP, "command:stop", None)),
    (S.QUEUED, A.RESUME, A.PAUSE, (S.PAUSED, None, "-", S.PAUSED)),
    (S.QUEUED, A.RESUME, A.RESUME, (None, None, "-", None)),  # its command went, or was undone
    (S.QUEUED, A.RESUME, A.STOP, (S.QUEUED, A.STOP, "command:stop", None)),
    (S.QUEUED, A.STOP, A.PAUSE, None),
    (S.QUEUED, A.STOP, A.RESUME, None),
    (S.QUEUED, A.STOP, A.STOP, (None, None, "command:stop", None)),
    (S.RUNNING, None, A.PAUSE, (S.RUNNING, A.PAUSE, "control:pause", None)),
    (S.RUNNING, None, A.RESUME, None),
    (S.RUNNING, None, A.STOP, (S.RUNNING, A.STOP, "control:stop", None)),
    (S.RUNNING, A.PAUSE, A.PAUSE, (None, None, "control:pause", None)),
    (S.RUNNING, A.PAUSE, A.RESUME, None),
    (S.RUNNING, A.PAUSE, A.STOP, (S.RUNNING, A.STOP, "control:stop", None)),
    (S.RUNNING, A.STOP, A.PAUSE, None),
    (S.RUNNING, A.STOP, A.RESUME, None),
    (S.RUNNING, A.STOP, A.STOP, (None, None, "control:stop", None)),
    (S.PAUSED, None, A.PAUSE, None),
    (S.PAUSED, None, A.RESUME, (S.QUEUED, A.RESUME, "command:resume", S.QUEUED)),
    (S.PAUSED, None, A.STOP, (S.PAUSED, A.STOP, "command:stop", None)),
    (S.PAUSED, A.STOP, A.PAUSE, None),
    (S.PAUSED, A.STOP, A.RESUME, None),
    (S.PAUSED, A.STOP, A.STOP, (None, None, "command:stop", None)),
    *((ended, None, action, None) for ended in (S.COMPLETED, S.STOPPED, S.FAILED) for action in A),
]


@pytest.mark.parametrize(("status", "pending", "action", "expected"), USER)
def test_a_user_action_in_each_status(
    status: S, pending: A | None, action: A, expected: tuple[Any, ...] | None
) -> None:
    before = record(status, pending)
    if expected is None:
        with pytest.raises(IllegalTransitionError) as caught:
            lifecycle.control(before, action)
        assert f"a session that is {status}" in str(caught.value)  # names the status
        return
    decision = lifecycle.control(before, action)
    new_status, new_pending, message, announced = expected
    if new_status is None:
        assert decision.record is None
    else:
        assert decision.record is not None
        assert (decision.record.status, decision.record.pending) == (new_status, new_pending)
    assert sends(decision) == message
    assert announces(decision) == announced


def test_every_status_and_action_is_in_the_table() -> None:
    covered = {(status, action) for status, _, action, _ in USER}
    assert covered == {(status, action) for status in S for action in A}


def api_decisions() -> list[lifecycle.Decision]:
    """Every decision a user's request can lead to."""
    decisions = [lifecycle.start(record(S.QUEUED))]
    for status in S:
        decisions.append(lifecycle.start_again(record(status)))
        for pending in (None, *A):
            decisions.append(lifecycle.resume_unsent(record(status, pending)))
            for action in A:
                with contextlib.suppress(IllegalTransitionError):  # a 409: no decision
                    decisions.append(lifecycle.control(record(status, pending), action))
    return decisions


def test_the_api_is_only_asked_for_what_it_carries_out() -> None:
    done = {effect.do for decision in api_decisions() for effect in decision.effects}
    assert done == lifecycle.API_EFFECTS  # all of them, and no trainer's


async def test_the_api_refuses_an_effect_it_does_not_carry_out() -> None:
    from functions.training import _carry_out

    decision = lifecycle.Decision(None, (lifecycle.Effect(Do.TRAIN),))
    with pytest.raises(AssertionError, match="train"):
        await _carry_out(None, None, None, "session_t", decision, 0)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", list(S))
def test_a_start_repeated_sends_its_command_again_only_while_queued(status: S) -> None:
    decision = lifecycle.start_again(record(status))
    assert decision.record is None and announces(decision) is None
    if status is S.QUEUED:
        assert [e.do for e in decision.effects] == [Do.MARK_ACTIVE, Do.SEND_COMMAND]
        assert sends(decision) == "command:start"
    else:
        assert decision.effects == ()


def test_a_start_queues_sends_its_command_and_announces() -> None:
    decision = lifecycle.start(record(S.QUEUED))
    assert sends(decision) == "command:start" and announces(decision) is S.QUEUED


def test_a_resume_that_could_not_be_sent_goes_back_to_paused() -> None:
    resumed = lifecycle.control(record(S.PAUSED), A.RESUME).record
    assert resumed is not None
    back = lifecycle.resume_unsent(resumed).record
    assert back is not None and (back.status, back.pending) == (S.PAUSED, None)
    # Someone acted since (a stop, a trainer took it): nothing to undo.
    assert lifecycle.resume_unsent(record(S.QUEUED, A.STOP)).record is None
    assert lifecycle.resume_unsent(record(S.RUNNING)).record is None


# --- the trainer: a command arrives --------------------------------------------------------------

LIVE = {"owner": OTHER, "heartbeat": NOW - 1}
DEAD = {"owner": OTHER, "heartbeat": NOW - 10 * ACK_WAIT}
MINE = {"owner": ME, "heartbeat": NOW - 1}

# (status, pending, owner, command) -> what the trainer does: ack, later, train, or leave:<status>
COMMANDS: list[tuple[S, A | None, dict[str, Any], str, str]] = [
    (S.QUEUED, None, {}, "start", "train"),
    (S.QUEUED, A.RESUME, {}, "resume", "train"),
    (S.QUEUED, A.STOP, {}, "stop", "leave:stopped"),
    (S.QUEUED, A.STOP, {}, "start", "leave:stopped"),  # the start waited behind a stop
    (S.PAUSED, None, {}, "resume", "ack"),  # paused again while the resume waited
    (S.PAUSED, None, {}, "start", "ack"),
    (S.PAUSED, A.STOP, {}, "stop", "leave:stopped"),
    (S.RUNNING, None, LIVE, "start", "later"),  # a duplicate, or its owner just died
    (S.RUNNING, None, DEAD, "start", "train"),  # redelivered after a crash
    (S.RUNNING, None, MINE, "resume", "train"),
    (S.RUNNING, A.PAUSE, LIVE, "start", "later"),
    (S.RUNNING, A.PAUSE, DEAD, "start", "leave:paused"),  # the owner died before pausing
    (S.RUNNING, A.STOP, LIVE, "stop", "ack"),  # its owner is stopping it
    (S.RUNNING, A.STOP, LIVE, "resume", "ack"),  # a stale resume: its owner is stopping it
    (S.RUNNING, A.STOP, LIVE, "start", "ack"),
    (S.RUNNING, A.STOP, DEAD, "stop", "leave:stopped"),
    (S.RUNNING, A.STOP, DEAD, "start", "leave:stopped"),
    *(
        (ended, None, {}, action, "ack")
        for ended in (S.COMPLETED, S.STOPPED, S.FAILED)
        for action in ("start", "resume", "stop")
    ),
]


def trainer_decisions() -> list[lifecycle.Decision]:
    """Every decision a trainer's events can lead to: a command in any state; between slices
    of a running session; a stop that wins over an ending; a failure."""
    decisions = []
    for status in S:
        for pending in (None, *A):
            for owner in ({}, LIVE, DEAD, MINE):
                for action in ("start", "resume", "stop"):
                    held = record(status, pending, **owner)
                    decisions.append(lifecycle.command(held, action, ME, NOW, ACK_WAIT))
            if status is S.RUNNING:
                for shutting_down in (False, True):
                    for finished in (False, True):
                        ending = lifecycle.between_slices(
                            record(status, pending), pending, shutting_down, finished
                        )
                        decisions += [] if ending is None else [ending]
            if not status.terminal:
                decisions.append(lifecycle.leave(record(status, pending), S.STOPPED))
                decisions.append(lifecycle.unrunnable(record(status, pending), "gone"))
                with contextlib.suppress(IllegalTransitionError):  # a paused one cannot fail
                    decisions.append(lifecycle.failed(record(status, pending), "broken"))
    return decisions


@pytest.mark.parametrize(
    ("status", "ends"), [(S.QUEUED, S.FAILED), (S.RUNNING, S.FAILED), (S.PAUSED, S.STOPPED)]
)
def test_a_session_whose_run_cannot_be_rebuilt_ends_saying_why(status: S, ends: S) -> None:
    # A paused one is being stopped: it never ran here, so it stops, without a model.
    decision = lifecycle.unrunnable(record(status, A.STOP if status is S.PAUSED else None), "gone")
    assert decision.record is not None
    assert (decision.record.status, decision.record.error) == (ends, "gone")
    assert decision.record.pending is None and announces(decision) is ends
    assert decision.does(Do.PUBLISH_LAST) and decision.does(Do.ACK)


def test_a_trainer_is_only_asked_for_what_it_carries_out() -> None:
    done = {effect.do for decision in trainer_decisions() for effect in decision.effects}
    assert done == lifecycle.TRAINER_EFFECTS  # all of them, and no other


def test_every_decision_a_session_leaves_a_trainer_with_says_what_becomes_of_its_message() -> None:
    messages = {Do.ACK, Do.HAND_BACK, Do.RETRY_LATER}
    for decision in trainer_decisions():
        said = [effect.do for effect in decision.effects if effect.do in messages]
        assert len(said) == (0 if decision.does(Do.TRAIN) else 1), decision


def what_the_trainer_does(decision: lifecycle.Decision) -> str:
    if decision.does(Do.TRAIN):
        return "train"
    if decision.does(Do.CHECKPOINT):
        assert decision.record is not None
        return f"leave:{decision.record.status}"
    if decision.does(Do.RETRY_LATER):
        return "later"
    assert decision.effects == (lifecycle.Effect(Do.ACK),), decision
    return "ack"


@pytest.mark.parametrize(("status", "pending", "owner", "action", "expected"), COMMANDS)
def test_a_command_in_each_status(
    status: S, pending: A | None, owner: dict[str, Any], action: Any, expected: str
) -> None:
    before = record(status, pending, **owner)
    decision = lifecycle.command(before, action, ME, NOW, ACK_WAIT)
    assert what_the_trainer_does(decision) == expected
    if expected == "train":
        assert decision.record is not None
        claimed = decision.record
        assert (claimed.status, claimed.owner, claimed.pending) == (S.RUNNING, ME, None)
        assert claimed.heartbeat == NOW and announces(decision) is S.RUNNING


def test_a_command_for_a_session_that_is_gone_is_acked() -> None:
    assert what_the_trainer_does(lifecycle.command(None, "start", ME, NOW, ACK_WAIT)) == "ack"


@pytest.mark.parametrize(
    ("status", "saves_model", "message"),
    [
        (S.PAUSED, False, Do.ACK),
        (S.QUEUED, False, Do.HAND_BACK),  # its worker shuts down: another takes it now
        (S.STOPPED, True, Do.ACK),
        (S.COMPLETED, True, Do.ACK),
    ],
)
def test_leaving_checkpoints_saves_the_model_when_it_ends_and_frees_the_message(
    status: S, saves_model: bool, message: Do
) -> None:
    decision = lifecycle.leave(record(S.RUNNING, owner=ME), status)
    done = [e.do for e in decision.effects]
    assert done[0] is Do.CHECKPOINT and (Do.SAVE_MODEL in done) is saves_model
    assert done[-1] is message and announces(decision) is status
    assert decision.record is not None
    assert (decision.record.status, decision.record.owner) == (status, None)


def test_a_failure_ends_the_session_failed_saying_why() -> None:
    decision = lifecycle.failed(record(S.RUNNING, owner=ME), "training failed: boom")
    assert decision.record is not None
    assert (decision.record.status, decision.record.error) == (S.FAILED, "training failed: boom")
    assert announces(decision) is S.FAILED and decision.does(Do.ACK)


# --- the trainer: between slices of training ---------------------------------------------------

# (stored pending, control message's, shutting down, finished) -> None (go on) or how it leaves
SLICES: list[tuple[A | None, A | None, bool, bool, S | None]] = [
    (None, None, False, False, None),
    (None, None, False, True, S.COMPLETED),
    (None, None, True, False, S.QUEUED),
    (None, None, True, True, S.QUEUED),  # handed back: the next trainer completes it
    (A.PAUSE, None, False, False, S.PAUSED),
    (None, A.PAUSE, False, False, S.PAUSED),  # the control message came before the record
    (None, A.PAUSE, True, True, S.PAUSED),
    (A.STOP, None, False, False, S.STOPPED),
    (None, A.STOP, False, True, S.STOPPED),
    (A.PAUSE, A.STOP, True, True, S.STOPPED),  # a stop wins over everything
    (A.STOP, A.PAUSE, False, False, S.STOPPED),
]


@pytest.mark.parametrize(("stored", "control", "shutting_down", "finished", "leaves"), SLICES)
def test_between_slices(
    stored: A | None, control: A | None, shutting_down: bool, finished: bool, leaves: S | None
) -> None:
    now = record(S.RUNNING, stored, owner=ME)
    decision = lifecycle.between_slices(now, control, shutting_down, finished)
    if leaves is None:
        assert decision is None
    else:
        assert decision is not None and decision.record is not None
        assert decision.record.status is leaves


# --- races -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("leaving", [S.PAUSED, S.QUEUED])
def test_a_stop_accepted_while_the_trainer_lets_go_wins(leaving: S) -> None:
    """The trainer decided to pause (or hand back); the user's stop was written meanwhile."""
    stored = lifecycle.control(record(S.RUNNING, A.PAUSE, owner=ME), A.STOP).record
    assert stored is not None and stored.pending is A.STOP
    with pytest.raises(lifecycle.StopRequested):
        lifecycle.ended(stored, leaving)
    stopped = lifecycle.ended(stored, S.STOPPED)
    assert (stopped.status, stopped.pending, stopped.owner) == (S.STOPPED, None, None)


def test_a_pause_of_a_queued_session_beats_the_start_waiting_in_the_queue() -> None:
    paused = lifecycle.control(record(S.QUEUED), A.PAUSE).record
    assert paused is not None
    assert what_the_trainer_does(lifecycle.command(paused, "start", ME, NOW, ACK_WAIT)) == "ack"


def test_a_claim_decided_again_on_a_record_changed_meanwhile_does_not_train() -> None:
    """The trainer re-decides inside its compare-and-set: a stop written since wins."""
    queued = record(S.QUEUED)
    assert what_the_trainer_does(lifecycle.command(queued, "start", ME, NOW, ACK_WAIT)) == "train"
    stopped = lifecycle.control(queued, A.STOP).record
    assert stopped is not None
    decided = lifecycle.command(stopped, "start", ME, NOW, ACK_WAIT)
    assert what_the_trainer_does(decided) == "leave:stopped"


def test_a_pause_answers_paused_and_the_status_shows_it_pending() -> None:
    """What a pause answers agrees with what a GET right after shows."""
    paused = lifecycle.control(record(S.RUNNING, owner=ME), A.PAUSE).record
    assert paused is not None
    view = paused.status_view()
    assert (view.status, view.pending) == (S.RUNNING, A.PAUSE)
    resumed = lifecycle.control(record(S.PAUSED), A.RESUME).record
    assert resumed is not None
    assert (resumed.status_view().status, resumed.status_view().pending) == (S.QUEUED, A.RESUME)


# --- what counts against the tenant's active limit -----------------------------------------------


def marks(decision: lifecycle.Decision) -> str:
    done = {e.do for e in decision.effects}
    return "mark" if Do.MARK_ACTIVE in done else "unmark" if Do.UNMARK_ACTIVE in done else "-"


@pytest.mark.parametrize(
    ("decide", "expected"),
    [
        (lambda: lifecycle.start(record(S.QUEUED)), "mark"),
        (lambda: lifecycle.control(record(S.QUEUED), A.PAUSE), "unmark"),
        (lambda: lifecycle.control(record(S.PAUSED), A.RESUME), "mark"),
        (lambda: lifecycle.control(record(S.RUNNING), A.STOP), "-"),  # until its trainer stops it
        (lambda: lifecycle.resume_unsent(record(S.QUEUED, A.RESUME)), "unmark"),
        (lambda: lifecycle.command(record(S.QUEUED), "start", ME, NOW, ACK_WAIT), "-"),
        (lambda: lifecycle.leave(record(S.RUNNING), S.PAUSED), "unmark"),
        (lambda: lifecycle.leave(record(S.RUNNING), S.QUEUED), "-"),  # handed back: still active
        (lambda: lifecycle.leave(record(S.RUNNING), S.COMPLETED), "unmark"),
        (lambda: lifecycle.leave(record(S.QUEUED, A.STOP), S.STOPPED), "unmark"),
        (lambda: lifecycle.leave(record(S.PAUSED, A.STOP), S.STOPPED), "-"),  # paused: unmarked
        (lambda: lifecycle.failed(record(S.RUNNING), "boom"), "unmark"),
    ],
)
def test_a_session_counts_as_active_while_queued_or_running(decide: Any, expected: str) -> None:
    assert marks(decide()) == expected


def test_an_ending_written_over_one_another_trainer_wrote_is_dropped() -> None:
    """Two trainers took a stop of the same paused session at once: the second writes nothing."""
    stopped = lifecycle.ended(record(S.PAUSED, A.STOP), S.STOPPED)
    with pytest.raises(lifecycle.AlreadyEnded):
        lifecycle.ended(stopped, S.STOPPED)
