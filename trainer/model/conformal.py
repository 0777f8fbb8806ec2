"""Prediction sets: the actions a decision may take, holding the right one with a chosen
probability, by split conformal prediction (Angelopoulos and Bates, "A Gentle Introduction to
Conformal Prediction", the least ambiguous set-valued classifier).

Fitted on decisions the model did not train on, the validation tasks' (each step given the
right calls before it, trainer/model/calibration.py), with its probabilities calibrated: a
decision's score is 1 minus the probability the model gives its right action, and the
threshold is the ceil((n + 1) * coverage)-th smallest of the n scores. A new decision's set is
every action whose probability is at least 1 minus the threshold: on requests like those it
holds the right action with probability at least `coverage`, whatever the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from trainer.model.toolbox import Array, Rows

COVERAGE = 0.95  # the share of decisions whose set holds the right action


@dataclass(frozen=True)
class Conformal:
    coverage: float  # what the threshold was fitted for
    threshold: float  # of a decision's score, 1 - p(right action)
    n: int  # decisions it was fitted on

    def covers(self, probs: Array) -> NDArray[np.bool_]:
        """Whether each of `probs` is enough for its action to be in a set."""
        return probs >= 1.0 - self.threshold - 1e-12  # the threshold's own rounding in


def fit(right: Array, coverage: float = COVERAGE) -> Conformal | None:
    """The threshold for `coverage` from the right actions' probabilities; None where too few
    decisions were seen to promise it (fewer than 1 / (1 - coverage) - 1)."""
    n = len(right)
    rank = math.ceil((n + 1) * coverage)
    if rank > n:
        return None
    scores = np.sort(1.0 - right)
    return Conformal(coverage, float(scores[rank - 1]), n)


def prediction_set(probs: Array, conformal: Conformal | None) -> Rows:
    """The actions of a decision (its probabilities) in the set, most probable first; every one
    where the model was not calibrated, and the most probable one always."""
    order = np.argsort(-probs, kind="stable")
    if conformal is None:
        return order
    keep = conformal.covers(probs[order])
    keep[0] = True
    return order[keep]
