"""Calibration and prediction sets: a temperature that makes probabilities mean what they say,
an error measured over equal-mass bins, and sets fitted on validation decisions that hold the
right action on held-out ones about as often as promised, which `act` answers."""

from __future__ import annotations

import numpy as np

from agentgym import bundle
from trainer import scenarios
from trainer.model.calibration import Decisions, decisions, fit_temperature, reliability
from trainer.model.conformal import COVERAGE, Conformal, fit, prediction_set
from trainer.model.scoring import temper
from trainer.run import Run
from trainer.training.loop import Evaluating, train


def overconfident(n: int, seed: int = 0) -> Decisions:
    """Decisions between 4 actions whose scores are 3 times too sharp: drawn from p ** (1/3)."""
    rng = np.random.default_rng(seed)
    true = rng.dirichlet(np.ones(4) * 0.7, size=n)
    right = np.array([rng.choice(4, p=p) for p in true])
    return Decisions(temper(true, 1 / 3), right)


def test_the_temperature_undoes_overconfidence_and_the_error_shrinks() -> None:
    found = overconfident(4000)
    temperature = fit_temperature(found)
    assert 2.6 < temperature < 3.4  # the sharpening drawn
    before = reliability(found)
    after = reliability(Decisions(temper(found.probs, temperature), found.right))
    assert after["ece"] < 0.03 < before["ece"]
    low, high = after["ci95"]
    assert low <= after["ece"] <= high and after["decisions"] == 4000
    assert sum(b["count"] for b in after["bins"]) == 4000 and len(after["bins"]) == 10


def test_decisions_all_right_sharpen_at_most_twice() -> None:
    probs = np.array([[0.6, 0.4], [0.7, 0.3]])
    assert fit_temperature(Decisions(probs, np.array([0, 0]))) == 0.5


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
    assert loaded.model.temperature == manifest.temperature > 0
    conformal = loaded.model.conformal
    assert conformal is not None
    right = decisions(loaded.model, loaded.heldout).right_probabilities()
    covered = float(np.mean(conformal.covers(right)))
    assert covered >= 0.85, covered  # 95% promised; a few hundred decisions vary

    answer = loaded.act(spec.tasks[0].text, [])
    assert answer.coverage == COVERAGE
    assert answer.prediction_set[0] == answer.next
    ranked = sorted(answer.probabilities, key=answer.probabilities.__getitem__, reverse=True)
    assert answer.prediction_set == ranked[: len(answer.prediction_set)]  # most probable first
