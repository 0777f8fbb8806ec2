"""The improvement loop's gate (issue 31): whether a candidate model is better than the model
serving, on the same held-out logged decisions, with an error rate that holds over the loop's
life. Pure numpy.

The estimate is paired: per logged decision i (its context x, the action a the serving policy
took with probability mu, the reward r that followed), with c and s the candidate's and the
serving model's probabilities and q a reward model fitted on other decisions,

    d_i = sum_b (c(b|x) - s(b|x)) q(x, b) + (c(a|x) - s(a|x)) / mu * (r - q(x, a))

whose mean is the doubly robust estimate of V(c) - V(s): what both models do alike cancels
decision by decision, which is what makes a paired test far tighter than two intervals.

The loop tests again at every run, so the chance of a false promotion is spent, not reset: the
k-th test of a loop runs at level alpha_k = alpha * 6 / (pi^2 k^2) (alpha spending, as a
Bonferroni bound over an unbounded number of tests: the alpha_k sum to alpha), so that over
all the runs a loop ever makes, the chance that any promotes a candidate not better by the
margin is at most alpha. The bound is one-sided and a bootstrap-t bound: the mean minus the
(1 - alpha_k) quantile of the resampled studentized means, in standard errors. Importance
weights skew the d_i, and the normal's z(1 - alpha_k) then promotes an equal candidate more often
than alpha_k says (tests/benchmarks/gate_error_rates.py measures it); studentized resampling
takes the skew into account. It is trusted only with an effective sample size (of the
importance weights) of at least MIN_ESS; an estimate from the reward model alone (no logged
probabilities) never promotes unless the loop opts in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
ALPHA = 0.05  # a loop's chance, over its whole life, of ever promoting a candidate no better
# Importance-weighted decisions an estimate must be worth: the bound on the mean of the
# d_i needs on the order of a hundred terms that count; fewer, and a few large weights decide.
MIN_ESS = 100.0
# A trial's test (agentgym.loops.Gate's `prospective`) counts instead what speaks for the
# candidate's own choices (`own_ess`: each was served with probability epsilon / 2 or more
# where it chose otherwise), which the size of |c - s| / mu cannot show; this many keep the
# error rates where the gateway's exploring is guided (tests/benchmarks/gate_error_rates.py
# --guided).
MIN_TRIAL_ESS = 20.0
MIN_DECISIONS = 200  # held-out decisions a run needs before it tests at all


@dataclass(frozen=True)
class Verdict:
    promote: bool
    difference: float  # the estimated V(candidate) - V(serving), in reward units
    lower: float  # its one-sided lower bound at level `alpha`
    upper: float  # ... and the matching upper bound
    alpha: float  # this test's share of the loop's error rate
    n: int
    ess: float | None  # None: no logged probabilities (the reward model's estimate)
    why: str


def spent(test: int, alpha: float = ALPHA) -> float:
    """The level of a loop's `test`-th test (1, 2, ...): the alpha_k above."""
    return alpha * 6.0 / (math.pi**2 * test**2)


# Resamples: 50 beyond the level's quantile, from 4,000 to 20,000, and at most WORK terms
# resampled in all (under a second however many decisions: the more there are, the less
# their skew matters, and the fewer resamples it takes).
RESAMPLES = (4000, 20000)
WORK = 2 * 10**7


def studentized_quantiles(terms: Array, level: float, seed: int = 0) -> tuple[float, float]:
    """The `level` and 1 - `level` quantiles of the bootstrap's studentized mean,
    (mean* - mean) / se*: how far below (and above) the mean the bounds lie, in standard errors.
    Resampled in blocks, so that memory stays small however many terms there are."""
    n = len(terms)
    mean = float(terms.mean())
    low_count, high_count = RESAMPLES
    wanted = min(max(low_count, math.ceil(50 / level)), high_count)
    count = max(1000, min(wanted, WORK // max(n, 1)))
    rng = np.random.default_rng(seed)
    found: list[Array] = []
    block = max(1, min(count, 10**7 // max(n, 1)))
    for start in range(0, count, block):
        drawn = terms[rng.integers(0, n, (min(block, count - start), n))]
        errors = drawn.std(axis=1, ddof=1) / math.sqrt(n)
        found.append((drawn.mean(axis=1) - mean) / np.maximum(errors, 1e-12))
    studentized = np.concatenate(found)
    low, high = np.quantile(studentized, [level, 1.0 - level])
    if not (np.isfinite(low) and np.isfinite(high)):  # every term alike: no spread at all
        return 0.0, 0.0
    return float(low), float(high)


def paired_terms(
    rewards: Array,
    candidate: Array,
    serving: Array,
    logged: Array | None,
    predicted_logged: Array,
    predicted_difference: Array,
) -> tuple[Array, float | None]:
    """The d_i above, and the effective sample size of the weights |c - s| / mu (None
    without logged probabilities: then d_i is the reward model's difference alone).
    `candidate`, `serving`: each model's probability of the logged action;
    `predicted_difference`: sum_b (c - s)(b|x) q(x, b); `predicted_logged`: q(x, a)."""
    if logged is None:
        return np.asarray(predicted_difference, dtype=float), None
    weights = (np.asarray(candidate) - np.asarray(serving)) / np.asarray(logged)
    terms = predicted_difference + weights * (np.asarray(rewards) - predicted_logged)
    magnitude = np.abs(weights)
    ess = float(magnitude.sum() ** 2 / max(float((magnitude**2).sum()), 1e-300))
    # Decisions where both models act alike weigh nothing, and say nothing of the difference.
    return terms, ess if magnitude.any() else float(len(terms))


def own_ess(candidate: Array, serving: Array, logged: Array) -> float:
    """The effective number of decisions that speak for the candidate's own choices: the Kish
    size of its weights where it puts more on the logged action than the serving model does,
    max(c - s, 0) / mu. (The size of |c - s| / mu cannot show them: a choice of the candidate
    served seldom, from a long page, weighs much and shrinks it; never served, it weighs nothing
    and the size is that of the serving model's side alone.)"""
    weights = np.maximum(np.asarray(candidate) - np.asarray(serving), 0.0) / np.asarray(logged)
    squares = float((weights**2).sum())
    return float(weights.sum() ** 2 / squares) if squares > 0 else 0.0


def decide(
    terms: Array,
    ess: float | None,
    test: int,
    margin: float = 0.0,
    alpha: float = ALPHA,
    model_only_allowed: bool = False,
    coverage: tuple[int, int] | None = None,
    own: bool = False,
    min_ess: float | None = None,
) -> Verdict:
    """Whether the loop's `test`-th test promotes, on the paired terms d_i; and why, in words
    a person reads (`promoted: +4.1 points [+1.2, ...]`), with `coverage` where given: on how
    many of the decisions the candidate chose another first tool than the serving model, and on
    how many of those its choice was the one served. `own`: `ess` is `own_ess` (a trial's
    test), held against MIN_TRIAL_ESS, else MIN_ESS, unless `min_ess` says otherwise."""
    if min_ess is None:
        min_ess = MIN_TRIAL_ESS if own else MIN_ESS
    n = len(terms)
    level = spent(test, alpha)
    if n < MIN_DECISIONS:
        return Verdict(False, 0.0, 0.0, 0.0, level, n, ess,
                       f"skipped: {n} held-out decisions, fewer than {MIN_DECISIONS}")  # fmt: skip
    mean = float(np.mean(terms))
    error = float(np.std(terms, ddof=1)) / math.sqrt(n)
    low_t, high_t = studentized_quantiles(np.asarray(terms, dtype=float), level, seed=test)
    lower, upper = mean - high_t * error, mean - low_t * error
    said = f"{100 * mean:+.1f} points [{100 * lower:+.1f}, {100 * upper:+.1f}]"
    seen = "" if coverage is None else _covered(*coverage)
    if ess is None and not model_only_allowed:
        why = (f"kept: {said} is the reward model's estimate alone (the logs carry no "
               "probabilities); the loop promotes on it only where its gate allows model_only")  # fmt: skip
        return Verdict(False, mean, lower, upper, level, n, ess, why)
    if coverage is not None and coverage[0] and not coverage[1] and not model_only_allowed:
        why = (f"kept: {said}, but the candidate's choices were never served where it chose "
               f"otherwise ({coverage[0]:,} decisions): its side is the reward model's alone")  # fmt: skip
        return Verdict(False, mean, lower, upper, level, n, ess, why)
    of = " for the candidate's own choices" if own else ""
    if ess is not None and ess < min_ess:
        why = (f"kept: {said}, but worth {ess:,.0f} decisions (effective){of}, fewer than "
               f"{min_ess:,.0f}{seen}")  # fmt: skip
        return Verdict(False, mean, lower, upper, level, n, ess, why)
    worth = "" if ess is None else f", n_eff {ess:,.0f}{of}"
    if lower > margin:
        return Verdict(True, mean, lower, upper, level, n, ess, f"promoted: {said}{worth}{seen}")
    why = f"kept: difference {said} does not exceed {100 * margin:+.1f}{worth}{seen}"
    return Verdict(False, mean, lower, upper, level, n, ess, why)


def _covered(disagreed: int, served: int) -> str:
    """Where the estimate of the candidate's own choices comes from: what they earned where
    they were served, else the reward model alone (the importance weights cannot say which:
    a choice never served weighs nothing)."""
    return (f"; the candidate chose otherwise on {disagreed:,} of the decisions, "
            f"its choice served on {served:,}")  # fmt: skip
