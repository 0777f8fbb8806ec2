"""Probabilities that mean what they say: a model's decisions on tasks it did not train on, the
temperature that calibrates them, and how far off they are (expected calibration error).

A decision is a step of a task's solution, the right calls before it made (its finish
included); its right action is the solution's next tool, or finish. Temperature scaling (Guo et
al., "On Calibration of Modern Neural Networks") divides every score by one number T fitted on
the validation tasks' decisions to minimise their negative log-likelihood; it changes no
choice, only how sure each is (p ** (1 / T), renormalised). The calibration error is measured
over equal-mass bins of the first choice's probability, with a bootstrap interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainer.model import conformal, scope
from trainer.model.conformal import Conformal
from trainer.model.features import OK, Context, State
from trainer.model.model import Model, Params
from trainer.model.scope import Scope
from trainer.model.scoring import temper
from trainer.model.toolbox import Array, Rows
from trainer.scenarios.base import TaskSpec

BINS = 10  # equal-mass bins of the first choice's probability
RESAMPLES = 1000  # bootstrap resamples of the decisions for the error's interval
# Searched, a step of 1% apart. Not below 0.5: decisions the model gets all right would drive
# it to 0 (every probability 1), where a new wording's mistake would be certain.
_TEMPERATURES = np.geomspace(0.5, 20.0, 372)


@dataclass
class Decisions:
    """Decisions laid out as a matrix: each row's probabilities (zero-padded) and its right
    action's column (-1 where the right tool was not among those scored)."""

    probs: Array  # (K, A)
    right: Rows  # (K,)

    def right_probabilities(self) -> Array:
        found = self.probs[np.arange(len(self.right)), np.maximum(self.right, 0)]
        return np.where(self.right >= 0, found, 0.0)


def context_of(model: Model, task: TaskSpec) -> Context:
    """A task's request, with the tools it offers."""
    index = model.toolbox.index
    return model.context(
        task.text, None if task.tools is None else sorted(index[t] for t in task.tools)
    )


def decisions(model: Model, tasks: Sequence[TaskSpec]) -> Decisions:
    """`model`'s decisions at every step of every task's solution (as it answers `act`)."""
    index = model.toolbox.index
    rows: list[Array] = []
    right: list[int] = []
    for task in tasks:
        context = context_of(model, task)
        calls: list[tuple[int, int]] = []
        for k in range(len(task.solution) + 1):
            _, probs, _ = model.decide(context, State.of_calls(calls))
            rows.append(probs)
            if k == len(task.solution):
                right.append(len(probs) - 1)  # finish
                break
            tool = index[task.solution[k]]
            action = context.position(tool)
            right.append(-1 if action is None else action)
            calls.append((tool, OK))
    width = max((len(p) for p in rows), default=1)
    matrix = np.zeros((len(rows), width))
    for k, probs in enumerate(rows):
        matrix[k, : len(probs)] = probs
    return Decisions(matrix, np.array(right, dtype=np.intp))


def fit_temperature(found: Decisions) -> float:
    """The temperature minimising the right actions' negative log-likelihood (1.0 where no
    decision's right action was scored)."""
    scored = found.right >= 0
    if not scored.any():
        return 1.0
    with np.errstate(divide="ignore"):
        logs = np.log(found.probs[scored])  # (K, A); -inf where padded or 0
    right = logs[np.arange(int(scored.sum())), found.right[scored]]
    best, best_loss = 1.0, np.inf
    for temperature in _TEMPERATURES:
        scaled = logs / temperature
        top = scaled.max(axis=1)
        normaliser = top + np.log(np.exp(scaled - top[:, None]).sum(axis=1))
        loss = float(np.mean(normaliser - right / temperature))
        if loss < best_loss:
            best, best_loss = float(temperature), loss
    return best


def _ece(confidence: Array, correct: Array, order: Rows) -> float:
    """Expected calibration error over BINS equal-mass bins of `confidence` (sorted: `order`)."""
    total = 0.0
    for chunk in np.array_split(order, min(BINS, len(order))):
        total += len(chunk) * abs(float(correct[chunk].mean() - confidence[chunk].mean()))
    return total / len(order)


def reliability(found: Decisions, seed: int = 0) -> dict[str, Any]:
    """The first choice's calibration: `ece`, its bootstrap 95% interval `ci95`, the number of
    `decisions`, and per equal-mass bin its mean `confidence`, `accuracy` and `count`."""
    confidence = found.probs.max(axis=1)
    correct = (found.probs.argmax(axis=1) == found.right).astype(float)
    n = len(confidence)
    if not n:
        return {"ece": 0.0, "ci95": [0.0, 0.0], "decisions": 0, "bins": []}
    order = np.argsort(confidence, kind="stable")
    rng = np.random.default_rng(seed)
    resampled = []
    for _ in range(RESAMPLES):
        pick = rng.integers(0, n, n)
        resampled.append(_ece(confidence[pick], correct[pick], np.argsort(confidence[pick])))
    low, high = np.percentile(resampled, [2.5, 97.5])
    bins = [
        {
            "confidence": float(confidence[chunk].mean()),
            "accuracy": float(correct[chunk].mean()),
            "count": len(chunk),
        }
        for chunk in np.array_split(order, min(BINS, n))
    ]
    return {
        "ece": _ece(confidence, correct, order),
        "ci95": [float(low), float(high)],
        "decisions": n,
        "bins": bins,
    }


def fit_policy(
    model: Model, params: Params, tasks: Sequence[TaskSpec]
) -> tuple[float, Conformal | None, Scope]:
    """What the policy `params` (read into `model`, whose own are put back after) is fitted on
    `tasks` (validation ones): its temperature on their decisions, its prediction sets on them
    as tempered, and its scope on their requests; (1.0, None, unfitted) without tasks."""
    if not tasks:
        return 1.0, None, scope.unfitted(model)
    current, temperature = model.snapshot(), model.temperature
    model.load_params(params)
    model.temperature = 1.0
    try:
        found = decisions(model, tasks)
        fitted = fit_temperature(found)
        found.probs = temper(found.probs, fitted)
        nearness = [
            scope.nearness(model, task.text, context_of(model, task).step(State.of_calls([])))
            for task in tasks
        ]
        return (
            fitted,
            conformal.fit(found.right_probabilities()),
            scope.fit(scope.measure_of(model), nearness),
        )
    finally:
        model.load_params(current)
        model.temperature = temperature
