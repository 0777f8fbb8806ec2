"""k-fold cross-validation: an estimate of held-out accuracy from every task, for a scenario too
small for its held-out split to say much (three held-out tasks: 0% or 100%, and an interval
from nothing to everything).

The scenario's tasks, both splits, are dealt into K folds, each intent's spread over them (in
the order of their ids' hashes, as the validation split takes them); an intent's only task is
trained on in every fold and measured in none (as a split keeps it: held out, nothing of its
kind would have been learned to carry over to it, and it would measure only that; with one
task per intent, nothing is measured, `n` is 0). For each fold, a run of
the session's recipe (learning rate, seed, episodes, learner, sources, encoder) trains on the
other folds, keeps its best on its own validation tasks, and is evaluated greedily on the fold:
every task is then solved or not by a model that never trained on it, and the estimate is the
share solved, over all the tasks (its Wilson interval over as many). A session's own model
trains on its training split, about the 80% of the tasks each fold's run trains on at K = 5:
the estimate is of a model like it.

Pure of I/O: a trainer's slot advances it a slice at a time (`advance`), like a run.
"""

from __future__ import annotations

import dataclasses
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

from agentgym.contracts import KFold
from trainer.run import Run
from trainer.scenarios.base import ScenarioSpec, TaskSpec
from trainer.training.loop import Evaluating, StopAt, train

K = 5
EVAL_EVERY = 100  # episodes between a fold run's validations (as a session's default)


def measured(tasks: Sequence[TaskSpec]) -> list[TaskSpec]:
    """The tasks a cross-validation measures: those of intents with more than one."""
    count = Counter(task.intent for task in tasks)
    return [task for task in tasks if count[task.intent] > 1]


def folds(tasks: Sequence[TaskSpec], k: int) -> list[tuple[TaskSpec, ...]]:
    """The tasks `measured` dealt into `k` folds, each intent's in turn, in task order within
    each fold."""
    by_intent: dict[str, list[TaskSpec]] = defaultdict(list)
    for task in measured(tasks):
        by_intent[task.intent].append(task)
    which: dict[str, int] = {}
    dealt = 0
    for intent in sorted(by_intent):
        for task in sorted(by_intent[intent], key=lambda t: (zlib.crc32(t.id.encode()), t.id)):
            which[task.id] = dealt % k
            dealt += 1
    return [tuple(t for t in tasks if which.get(t.id) == fold) for fold in range(k)]


def fold_spec(spec: ScenarioSpec, held: tuple[TaskSpec, ...]) -> ScenarioSpec:
    """The scenario with `held` as its held-out tasks and every other as a training one."""
    ids = {task.id for task in held}
    return dataclasses.replace(
        spec,
        tasks=tuple(
            dataclasses.replace(task, split="heldout" if task.id in ids else "train")
            for task in spec.tasks
        ),
    )


class CrossValidation:
    """The folds of `recipe`'s scenario, trained and evaluated one after another."""

    def __init__(self, recipe: Run, k: int = K) -> None:
        self.recipe = recipe
        n = len(measured(recipe.spec.tasks))
        self.k = min(k, n) if n >= 2 else 0  # nothing to measure: done at once
        self.folds = folds(recipe.spec.tasks, self.k)
        self.solved: list[int] = []  # per fold done, its tasks solved
        self.run: Run | None = None  # the current fold's

    @property
    def done(self) -> bool:
        return len(self.solved) == self.k

    def where(self) -> str:
        """What it is doing, for a status."""
        episode = 0 if self.run is None else self.run.episode
        return (
            f"cross-validating: fold {len(self.solved) + 1} of {self.k}, "
            f"episode {episode:,} of {self.recipe.max_episodes:,}"
        )

    def advance(self, deadline: float, interrupted: Callable[[], bool] | None = None) -> bool:
        """Train and evaluate folds until `deadline` (time.perf_counter's) or `interrupted`;
        True once every fold is done."""
        while not self.done:
            if self.run is None:
                self.run = self._fold_run(self.folds[len(self.solved)])
            train(
                self.run, [Evaluating(EVAL_EVERY, heldout=False), StopAt(0, deadline, interrupted)]
            )
            if not self.run.finished:
                return False
            evaluation = self.run.evaluate_best()
            self.solved.append(round(evaluation.accuracy * len(self.run.heldout) / 100))
            self.run = None
            if time.perf_counter() >= deadline or (interrupted is not None and interrupted()):
                break
        return self.done

    def _fold_run(self, held: tuple[TaskSpec, ...]) -> Run:
        recipe = self.recipe
        return Run(
            fold_spec(recipe.spec, held),
            recipe.learning_rate,
            recipe.seed,
            recipe.max_episodes,
            recipe.encoder_name,
            recipe.config,
            recipe.source_names,
        )

    def result(self) -> KFold:
        assert self.done
        n = sum(len(fold) for fold in self.folds)
        return KFold(
            k=self.k,
            accuracy=round(100 * sum(self.solved) / n, 2) if n else 0.0,
            n=n,
            folds=[
                round(100 * s / len(f), 2) for s, f in zip(self.solved, self.folds, strict=True)
            ],
        )


def cross_validate(recipe: Run, k: int = K) -> KFold:
    """The whole cross-validation at once (`agentgym train`, the benchmarks)."""
    validation = CrossValidation(recipe, k)
    validation.advance(float("inf"))
    return validation.result()
