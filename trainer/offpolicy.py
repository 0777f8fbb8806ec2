"""Off-policy estimates: how much reward a policy would have earned on logged decisions that
another policy made, with intervals a team can act on (issue 29). Pure numpy.

A logged decision is a context, the action the logging policy took with the probability it
gave it (`logged`), and the reward that followed. For the policy evaluated, `target` is the
probability it gives the logged action, and `predicted` (for DR and DM) a reward model's
prediction of the logged action's reward and of the policy's expected reward in that context,
fitted on other decisions than these (cross-fitting: a model fitted on the decisions it
corrects would correct nothing).

- IPS: the mean of w * r, w = target / logged (unbiased; heavy-tailed when w is large).
- SNIPS: sum(w * r) / sum(w) (self-normalised: bounded by the rewards, slightly biased).
- DR: the reward model's value plus the importance-weighted error of its prediction
  (unbiased if either the weights or the model are right).
- DM: the reward model's value alone, for logs without probabilities (biased by the model:
  its interval is over the decisions only and does not hold the model's bias; on the
  bandit of tests/benchmarks/offpolicy_coverage.py it never held the truth).

Intervals are bootstrap percentile intervals over decisions (resampled together with their
weights, so that a few large weights widen them as they should), not a normal approximation
on raw weights, which undercovers when weights are heavy-tailed. No interval can show what the
logs never tried: where the logging policy seldom took the actions the policy evaluated takes
(a low ESS), SNIPS's is too narrow, and IPS's and DR's are the ones to read. ESS, the effective sample
size, is (sum w)^2 / sum(w^2): how many decisions the estimate is really worth.

Not a library's: Open Bandit Pipeline (`obp`) has these estimators, but it brings torch, CUDA
and matplotlib (gigabytes) into the trainer and was last released in 2023; they are these
few lines of numpy. tests/trainer/test_offpolicy.py checks them against known truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
RESAMPLES = 2000
LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    value: float
    ci95: tuple[float, float]


@dataclass(frozen=True)
class Estimates:
    ips: Estimate | None
    snips: Estimate | None
    dr: Estimate | None
    dm: Estimate | None
    ess: float | None
    logged_value: float  # the logging policy's own average reward on these decisions
    n: int
    reason: str | None = None  # why ips, snips and dr are missing, where they are


def estimate(
    rewards: Array,
    target: Array,
    logged: Array | None,
    predicted_logged: Array | None = None,
    predicted_value: Array | None = None,
    seed: int = 0,
) -> Estimates:
    """Every estimate these decisions allow: IPS, SNIPS and ESS with the logging probabilities,
    DR with a reward model too, DM with the model alone."""
    rewards = np.asarray(rewards, dtype=float)
    n = len(rewards)
    resampled = _resamples(n, seed)
    dm = None
    if predicted_value is not None:
        dm = _interval(np.asarray(predicted_value, dtype=float), resampled)
    if logged is None:
        return Estimates(None, None, None, dm, None, float(rewards.mean()), n,
                         "the logs carry no probabilities: only the reward model's estimate (dm)")  # fmt: skip
    weights = np.asarray(target, dtype=float) / np.asarray(logged, dtype=float)
    ips = _interval(weights * rewards, resampled)
    snips = _ratio_interval(weights * rewards, weights, resampled)
    dr = None
    if predicted_logged is not None and predicted_value is not None:
        corrected = np.asarray(predicted_value) + weights * (rewards - np.asarray(predicted_logged))
        dr = _interval(corrected, resampled)
    ess = float(weights.sum() ** 2 / max((weights**2).sum(), 1e-300))
    return Estimates(ips, snips, dr, dm, ess, float(rewards.mean()), n)


def _resamples(n: int, seed: int) -> NDArray[np.intp]:
    """RESAMPLES bootstrap draws of n decisions' indices (one row each)."""
    return np.random.default_rng(seed).integers(0, max(n, 1), size=(RESAMPLES, n))


def _bounds(samples: Array) -> tuple[float, float]:
    low, high = np.quantile(samples, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return float(low), float(high)


def _interval(terms: Array, resampled: NDArray[np.intp]) -> Estimate:
    """The mean of `terms`, and its bootstrap percentile interval."""
    if not len(terms):
        return Estimate(0.0, (0.0, 0.0))
    return Estimate(float(terms.mean()), _bounds(terms[resampled].mean(axis=1)))


def _ratio_interval(top: Array, bottom: Array, resampled: NDArray[np.intp]) -> Estimate:
    """sum(top) / sum(bottom), and its bootstrap percentile interval."""
    total = bottom.sum()
    if not len(top) or total <= 0:
        return Estimate(0.0, (0.0, 0.0))
    tops, bottoms = top[resampled].sum(axis=1), bottom[resampled].sum(axis=1)
    ratios = np.divide(tops, bottoms, out=np.zeros_like(tops), where=bottoms > 0)
    return Estimate(float(top.sum() / total), _bounds(ratios))
