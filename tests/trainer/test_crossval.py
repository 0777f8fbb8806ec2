"""k-fold cross-validation (trainer/training/crossval.py): every task measured once, by a run
of the same recipe that never trained on it."""

from __future__ import annotations

import dataclasses

from trainer import scenarios
from trainer.run import Run
from trainer.training.crossval import CrossValidation, cross_validate, fold_spec, folds


def test_every_task_falls_in_one_fold_each_intent_spread_over_them() -> None:
    tasks = scenarios.get("code_review").tasks
    dealt = folds(tasks, 5)
    assert sorted(t.id for fold in dealt for t in fold) == sorted(t.id for t in tasks)
    for intent in {t.intent for t in tasks}:
        per_fold = [sum(t.intent == intent for t in fold) for fold in dealt]
        assert max(per_fold) - min(per_fold) <= 1, (intent, per_fold)
    assert folds(tasks, 5) == dealt  # stable
    spec = fold_spec(scenarios.get("code_review"), dealt[2])
    train, heldout = spec.split()
    assert set(heldout) == {dataclasses.replace(t, split="heldout") for t in dealt[2]}
    assert len(train) == len(tasks) - len(dealt[2])


def test_a_small_scenario_gets_an_estimate_over_all_its_tasks() -> None:
    spec = scenarios.get("customer_support")
    small = dataclasses.replace(spec, tasks=spec.tasks[::10])  # 36 tasks, 3 per intent
    estimate = cross_validate(Run(small, 0.001, seed=0, max_episodes=300, encoder=None))
    assert (estimate.k, estimate.n, len(estimate.folds)) == (5, 36, 5)
    sizes = [len(fold) for fold in folds(small.tasks, 5)]
    solved = sum(round(a * n / 100) for a, n in zip(estimate.folds, sizes, strict=True))
    assert estimate.accuracy == round(100 * solved / 36, 2) > 0
    low, high = estimate.ci95
    assert low <= estimate.accuracy <= high and high - low < 40  # 36 tasks, not 7


def test_it_goes_a_slice_at_a_time_and_ends_where_one_call_does() -> None:
    spec = scenarios.get("data_analysis")
    tiny = dataclasses.replace(spec, tasks=spec.tasks[::12])
    recipe = Run(tiny, 0.001, seed=1, max_episodes=200, encoder=None)
    validation = CrossValidation(recipe, k=3)
    slices = 0
    while not validation.advance(0.0):  # one update per call: the deadline has passed
        assert validation.where().startswith("cross-validating: fold ")
        slices += 1
    assert slices > 3 and validation.result() == cross_validate(recipe, k=3)


def test_an_intents_only_task_always_trains_and_one_task_per_intent_measures_nothing() -> None:
    spec = scenarios.get("customer_support")
    alone = dataclasses.replace(spec, tasks=spec.tasks[::30])  # one task of each intent
    assert len({t.intent for t in alone.tasks}) == len(alone.tasks) == 12
    estimate = cross_validate(Run(alone, 0.001, seed=0, max_episodes=100, encoder=None))
    assert (estimate.k, estimate.n, estimate.folds, estimate.ci95) == (0, 0, [], [0.0, 100.0])
    one_more = dataclasses.replace(alone, tasks=alone.tasks + spec.tasks[1:2])
    dealt = folds(one_more.tasks, 5)
    assert sum(len(fold) for fold in dealt) == 2  # the intent with two tasks, one per fold
