"""Learning from logged episodes (trainer/training/logged.py): logs whose right answers are
known but hidden from training, learned off-policy, as a source of the one training loop."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from trainer import scenarios
from trainer.model.decision import decide
from trainer.run import Run
from trainer.scenarios.base import LoggedCall, LogSpec, ScenarioSpec
from trainer.training.logged import returns_of
from trainer.training.loop import Evaluating, Recording, StopAt
from trainer.training.loop import train as train_loop

from .logging_policy import logged, logs_alone


def first_call_accuracy(run: Run, spec: ScenarioSpec) -> float:
    heldout = [task for task in spec.tasks if task.split == "heldout"]
    right = [decide(run.model, t.text, ()).next == t.solution[0] for t in heldout]
    return 100.0 * float(np.mean(right))


def train(run: Run, until: int = 0) -> Run:
    train_loop(run, [Evaluating(100), StopAt(until)])
    return run


@pytest.fixture(scope="module")
def support() -> ScenarioSpec:
    return scenarios.get("customer_support")


def test_a_steps_return_is_the_outcome_and_the_rewards_of_it_and_the_steps_after() -> None:
    calls = (LoggedCall("a", True, None, -0.1), LoggedCall("b"), LoggedCall("c", True, None, 0.5))
    log = LogSpec("x", "text", calls, reward=1.0)
    assert returns_of(log) == pytest.approx((1.4, 1.5, 1.5, 1.0))  # the finish: the outcome


@pytest.mark.parametrize("probabilities", [True, False])
def test_logs_alone_teach_more_than_the_policy_that_logged_them_knew(
    support: ScenarioSpec, probabilities: bool
) -> None:
    # Right a third of the time, and at random otherwise: what went well is all there is.
    spec = logs_alone(logged(support, probabilities, right=1 / 3))
    run = train(Run(spec, 0.001, seed=1, max_episodes=1500, encoder=None))
    assert run.source_names == ("logs",)
    learned = run.metrics()["logs"]
    trained = sum(log.split == "train" for log in spec.logs)
    if probabilities:
        assert (learned.how, learned.weighted, learned.imitated) == (
            "importance-weighted",
            trained,
            0,
        )
    else:
        assert (learned.how, learned.weighted, learned.imitated) == ("imitation", 0, trained)
    assert first_call_accuracy(run, logged(support)) >= 85.0  # the logger: 40% (1/3 + 2/3K)
    assert run.metrics()["accuracy"] > 50.0  # agreeing with what went well, on its logs
    assert run.report is not None and run.report["offline"]["n"] > 0  # estimated on held-out logs


def test_a_logged_episodes_record_is_the_log_each_call_said_right_where_it_went_well(
    support: ScenarioSpec,
) -> None:
    """What a logs session records is what the log did: every call in order, then the finish,
    each with the model's probability of it, right where its return beat the reward model's
    baseline (a log has no solution to compare with)."""
    spec = logs_alone(logged(support, right=1 / 3))
    run = Run(spec, 0.001, seed=1, max_episodes=200, encoder=None)
    train_loop(run, [Recording()])
    by_id = {log.id: log for log in spec.logs}
    assert run.recorded
    for record in run.recorded:
        log = by_id[record.task_id]
        assert [c.tool for c in record.calls] == [c.tool for c in log.calls] + ["finish"]
        assert all(c.expected == c.tool and 0.0 <= c.probability <= 1.0 for c in record.calls)
        went_well = (log.reward or 0.0) > 0.0  # right or not: the only reward these logs give
        assert [c.right for c in record.calls[:-1]] == [went_well] * len(log.calls)


def test_a_scenario_with_tasks_and_logs_learns_from_both(support: ScenarioSpec) -> None:
    spec = logged(support)
    run = Run(spec, 0.001, seed=0, max_episodes=400, encoder=None)
    assert run.source_names == ("demonstrations", "simulator", "logs")
    drawn = [run._source().name for _ in range(2000)]
    assert 0.45 < drawn.count("logs") / len(drawn) < 0.55  # Config.log_share
    train(run)
    assert run.metrics()["logs"].how == "importance-weighted"
    assert run.metrics()["accuracy_n"] > 0  # training accuracy: the simulated episodes'


def test_a_logs_run_restored_from_a_checkpoint_continues_exactly(support: ScenarioSpec) -> None:
    spec = logs_alone(logged(support))
    straight = train(Run(spec, 0.001, seed=3, max_episodes=300, encoder=None))
    interrupted = train(Run(spec, 0.001, seed=3, max_episodes=300, encoder=None), 150)
    resumed = train(Run.restore(interrupted.checkpoint(), spec))
    assert resumed.model.weights() == straight.model.weights()
    assert resumed.metrics() == straight.metrics()


def test_logs_without_an_outcome_or_a_request_are_left_unused(support: ScenarioSpec) -> None:
    spec = logs_alone(logged(support))
    trained = [log for log in spec.logs if log.split == "train"]
    blank = [dataclasses.replace(log, reward=None) for log in trained[:3]]
    blank += [dataclasses.replace(log, text="") for log in trained[3:5]]
    spec = dataclasses.replace(spec, logs=(*blank, *trained[5:]))
    run = Run(spec, 0.001, seed=0, max_episodes=10, encoder=None)
    assert run.logged is not None and run.logged.learned.unused == 5


def test_a_source_the_data_cannot_feed_is_refused_and_no_data_is_a_clear_error(
    support: ScenarioSpec,
) -> None:
    with pytest.raises(ValueError, match="no data for sources"):
        Run(support, 0.001, seed=0, max_episodes=10, sources=["logs"])
    nothing = logs_alone(support)
    with pytest.raises(ValueError, match="nothing to learn from"):
        train(Run(nothing, 0.001, seed=0, max_episodes=10, encoder=None))
