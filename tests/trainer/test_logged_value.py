"""A model's value on held-out logs (trainer/logged_value.py), as `POST /api/models/{id}/
evaluate` answers it: logs whose right first call is known (the tasks' solutions, hidden from
the estimators), logged by a policy that is right half the time."""

from __future__ import annotations

import numpy as np
import pytest

from trainer import scenarios
from trainer.run import Run
from trainer.training.loop import Evaluating, train
from trainer.worker import _evaluate

from .logging_policy import logged


@pytest.fixture(scope="module")
def bundle() -> bytes:
    run = Run(scenarios.get("customer_support"), 0.001, seed=0, max_episodes=300, encoder=None)
    train(run, [Evaluating(100)])
    return run.bundle("LangChain")[1]


def test_the_models_value_on_held_out_logs_is_estimated_with_intervals(bundle: bytes) -> None:
    spec = logged(scenarios.get("customer_support"))
    reply = _evaluate("m", bundle, spec)
    offline = reply.offline
    assert offline is not None and offline.reason is None
    heldout = [task for task in spec.tasks if task.split == "heldout"]
    assert offline.n == len(heldout)
    # The truth the logs hide: the chance the model's first call is the right one.
    run, _ = Run.from_bundle(bundle, spec)
    truth = float(np.mean([run.act(t.text, ()).probabilities[t.solution[0]] for t in heldout]))
    for estimator in (offline.ips, offline.dr):
        assert estimator is not None
        low, high = estimator.ci95
        assert low <= truth <= high, (estimator, truth)
    # SNIPS sees the model's few wrong first calls only where the logger happened to make
    # them too: with 72 logs it misses them, and its interval with them (trainer/offpolicy.py).
    assert offline.snips is not None and truth <= offline.snips.value <= 1
    assert offline.dr is not None and abs(offline.dr.value - truth) < 0.15
    assert offline.ess is not None and 0 < offline.ess <= offline.n
    assert 0 < offline.logged_value < 1  # the logging policy's own: right about half the time


def test_without_probabilities_the_reward_models_estimate_alone_says_why(bundle: bytes) -> None:
    reply = _evaluate("m", bundle, logged(scenarios.get("customer_support"), probabilities=False))
    offline = reply.offline
    assert offline is not None and (offline.ips, offline.snips, offline.dr) == (None, None, None)
    assert offline.dm is not None and offline.reason and "probabilities" in offline.reason


def test_a_scenario_without_logs_has_no_offline_estimate(bundle: bytes) -> None:
    assert _evaluate("m", bundle, scenarios.get("customer_support")).offline is None


def test_a_sessions_evaluations_report_it_beside_held_out_accuracy() -> None:
    spec = logged(scenarios.get("customer_support"))
    run = Run(spec, 0.001, seed=0, max_episodes=100, encoder=None)
    train(run, [Evaluating(100)])
    assert run.report is not None  # the last evaluation's, as the session stores it
    offline = run.report["offline"]
    assert offline["n"] == sum(task.split == "heldout" for task in spec.tasks)
    assert offline["dr"]["ci95"][0] <= offline["dr"]["value"] <= offline["dr"]["ci95"][1]
    from agentgym.messages import SessionEvaluation

    stored = SessionEvaluation.model_validate(run.report)
    assert stored.offline is not None and stored.offline.n == offline["n"]
