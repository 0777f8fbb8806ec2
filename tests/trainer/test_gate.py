"""The improvement loop's gate (trainer/gate.py) on a simulated bandit whose truth is known: a
serving model logging with exploration, and candidates worse, equal and better in truth."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.gate import ALPHA, MIN_DECISIONS, MIN_TRIAL_ESS, decide, paired_terms, spent

CONTEXTS, ACTIONS, EXPLORE = 50, 4, 0.3


def world(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Each context's reward probability per action, and the serving model's choice: right
    on 60% of contexts (its value in truth is known)."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.1, 0.4, size=(CONTEXTS, ACTIONS))
    best = rng.integers(ACTIONS, size=CONTEXTS)
    p[np.arange(CONTEXTS), best] = 0.9
    serving = np.where(np.arange(CONTEXTS) < 0.6 * CONTEXTS, best, (best + 1) % ACTIONS)
    return p, serving


def value(p: np.ndarray, policy: np.ndarray) -> float:
    return float(p[np.arange(CONTEXTS), policy].mean())


def candidate_of(p: np.ndarray, serving: np.ndarray, kind: str) -> np.ndarray:
    """A candidate that differs from the serving model on some contexts and is, in truth,
    worse, as good (other actions of the same value), or better."""
    best = p.argmax(axis=1)
    changed = serving.copy()
    if kind == "better":  # right on 4 of the 20 contexts it was wrong on: about +5 points
        wrong = np.flatnonzero(serving != best)[:4]
        changed[wrong] = best[wrong]
    elif kind == "worse":
        right = np.flatnonzero(serving == best)[:10]
        changed[right] = (best[right] + 2) % ACTIONS
    else:  # equal: where it is wrong, wrong otherwise, at the same reward probability
        wrong = np.flatnonzero(serving != best)[:10]
        for context in wrong:
            others = [a for a in range(ACTIONS) if a not in (best[context], serving[context])]
            changed[context] = others[0]
            p[context, others[0]] = p[context, serving[context]]
    return changed


def logged_run(p: np.ndarray, serving: np.ndarray, candidate: np.ndarray, n: int, seed: int):  # type: ignore[no-untyped-def]
    """n decisions the serving model logged (with exploration), and the paired terms."""
    rng = np.random.default_rng(seed)
    x = rng.integers(CONTEXTS, size=n)
    explore = rng.random(n) < EXPLORE
    a = np.where(explore, rng.integers(ACTIONS, size=n), serving[x])
    mu = np.where(a == serving[x], 1 - EXPLORE + EXPLORE / ACTIONS, EXPLORE / ACTIONS)
    r = (rng.random(n) < p[x, a]).astype(float)
    # The reward model: each (context, action)'s mean reward on other decisions, as logged.
    fit_x = rng.integers(CONTEXTS, size=n)
    fit_a = np.where(rng.random(n) < EXPLORE, rng.integers(ACTIONS, size=n), serving[fit_x])
    fit_r = rng.random(n) < p[fit_x, fit_a]
    sums = np.zeros((CONTEXTS, ACTIONS))
    counts = np.zeros((CONTEXTS, ACTIONS))
    np.add.at(sums, (fit_x, fit_a), fit_r)
    np.add.at(counts, (fit_x, fit_a), 1)
    q = (sums + 0.3) / (counts + 1)
    c = (candidate[x] == a).astype(float)
    s = (serving[x] == a).astype(float)
    predicted_difference = q[x, candidate[x]] - q[x, serving[x]]
    return paired_terms(r, c, s, mu, q[x, a], predicted_difference)


@pytest.mark.parametrize(("kind", "most"), [("worse", 0), ("equal", 1)])
def test_a_candidate_no_better_is_not_promoted_over_a_loops_runs(kind: str, most: int) -> None:
    promoted = 0
    for run in range(1, 21):  # one loop's 20 runs, each on new logs
        p, serving = world(run)
        candidate = candidate_of(p, serving, kind)
        terms, ess = logged_run(p, serving, candidate, 20_000, seed=100 + run)
        promoted += decide(terms, ess, test=run).promote
    assert promoted <= most


def test_a_better_candidate_is_promoted_and_the_difference_held() -> None:
    promoted, held = 0, 0
    for replicate in range(20):  # 20 loops, each at its first run
        p, serving = world(replicate)
        candidate = candidate_of(p, serving, "better")
        truth = value(p, candidate) - value(p, serving)
        assert 0.04 <= truth <= 0.07
        terms, ess = logged_run(p, serving, candidate, 20_000, seed=200 + replicate)
        verdict = decide(terms, ess, test=1)
        promoted += verdict.promote
        held += verdict.lower <= truth <= verdict.upper
        assert verdict.promote == verdict.why.startswith("promoted: +")
    assert promoted >= 18 and held >= 18


def test_what_it_says_and_what_it_will_not_do() -> None:
    assert sum(spent(k) for k in range(1, 100_000)) == pytest.approx(ALPHA, rel=1e-3)
    few = decide(np.ones(MIN_DECISIONS - 1), 1000.0, test=1)
    assert not few.promote and few.why.startswith(f"skipped: {MIN_DECISIONS - 1} held-out")
    clearly = np.random.default_rng(0).normal(0.2, 0.1, size=1000)
    model_only = decide(clearly, None, test=1)
    assert not model_only.promote and "reward model's estimate alone" in model_only.why
    assert decide(clearly, None, test=1, model_only_allowed=True).promote
    assert not decide(clearly, 50.0, test=1).promote  # worth too few decisions
    impossible = decide(clearly, 1000.0, test=1, margin=0.5)
    assert not impossible.promote and "does not exceed +50.0" in impossible.why
    # Where the candidate's own choices were seen served, and where they rest on the reward
    # model alone: said with the verdict.
    said = decide(clearly, 1000.0, test=1, coverage=(1_240, 31)).why
    assert said.endswith("; the candidate chose otherwise on 1,240 of the decisions, its "
                         "choice served on 31")  # fmt: skip
    never = decide(clearly, 1000.0, test=1, coverage=(1_240, 0))
    assert not never.promote and never.why.endswith(
        "never served where it chose otherwise (1,240 decisions): its side is the reward model's alone"
    )
    assert decide(clearly, 1000.0, test=1, coverage=(1_240, 0), model_only_allowed=True).promote
    # A trial's test (a prospective loop's) counts what speaks for the candidate's own choices.
    trial = decide(clearly, 30.0, test=1, own=True)
    assert not decide(clearly, MIN_TRIAL_ESS - 1, test=1, own=True).promote
    assert trial.promote and "n_eff 30 for the candidate's own choices" in trial.why
