"""Prediction sets: fitted on validation decisions, they hold the right action on held-out ones
about as often as promised, and `act` answers them."""

from __future__ import annotations

import numpy as np

from agentgym import bundle
from trainer import scenarios
from trainer.model.conformal import COVERAGE, Conformal, fit, prediction_set, right_probabilities
from trainer.run import Run
from trainer.training.loop import Evaluating, train


def test_the_threshold_is_the_scores_quantile_and_needs_enough_decisions() -> None:
    right = np.linspace(0.0, 1.0, 99)  # scores 1 - p: the same spread
    fitted = fit(right, 0.9)
    assert fitted is not None and fitted.n == 99
    # The ceil(100 * 0.9) = 90th smallest score of 99.
    assert fitted.threshold == np.sort(1.0 - right)[89]
    assert fit(right[:9], 0.95) is None  # 10 * 0.95 rounds up past 9: no promise to make


def test_a_set_holds_every_action_as_probable_as_the_threshold_allows_and_the_best_always() -> None:
    probs = np.array([0.05, 0.6, 0.3, 0.05])
    assert prediction_set(probs, Conformal(0.95, 0.75, 100)).tolist() == [1, 2]  # p >= 0.25
    assert prediction_set(probs, Conformal(0.95, 0.0, 100)).tolist() == [1]  # sure: the best
    assert prediction_set(probs, None).tolist() == [1, 2, 0, 3]  # not calibrated: every one


def test_a_bundle_carries_its_sets_which_cover_held_out_decisions_and_act_answers_them() -> None:
    spec = scenarios.get("customer_support")
    run = Run(spec, 0.001, 0, 600)
    train(run, [Evaluating(100)])
    manifest, data = run.bundle("LangChain")
    assert manifest.conformal is not None and manifest.conformal.coverage == COVERAGE
    assert bundle.unpack(data)[0].conformal == manifest.conformal

    loaded, _ = Run.from_bundle(data, spec)
    conformal = loaded.model.conformal
    assert conformal is not None
    right = right_probabilities(loaded.model, loaded.heldout)
    covered = float(np.mean(right >= 1.0 - conformal.threshold - 1e-12))
    assert covered >= 0.85, covered  # 95% promised; a few hundred decisions vary

    answer = loaded.act(spec.tasks[0].text, [])
    assert answer.coverage == COVERAGE
    assert answer.prediction_set[0] == answer.next
    ranked = sorted(answer.probabilities, key=answer.probabilities.__getitem__, reverse=True)
    assert answer.prediction_set == ranked[: len(answer.prediction_set)]  # most probable first
