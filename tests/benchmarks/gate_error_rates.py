"""How often the improvement loop's gate (trainer/gate.py) promotes: a candidate worse in truth,
one 5 points better, and one exactly as good (an A/A test), each over 20 replicates of logged
decisions (different logging seeds), as a loop's first test.

    .venv/bin/python tests/benchmarks/gate_error_rates.py [--replicates 20] [--decisions 2000] [--seed 0]

The world: customer_support's held-out requests, each with its right first tool (hidden from
the gate: only the logged action's reward, 1 when right and 0 otherwise, is seen). The serving
model A is trained briefly; the logging policy is A with ε = 0.1 uniform exploration (its
probabilities logged). Candidates, each with a true value computed exactly from the answers:

- worse: a model trained as A is on corrupted rewards (a share of the training tasks'
  solutions a wrong tool);
- better: A, but on a share f of decisions the right tool (f set so it is 5 points better);
- equal: A, but on a share f of decisions a coin that is right as often as A is (same value,
  other choices: the decisions disagree, the value does not).

The gate's reward model is fitted on another sample of the same size (cross-fitting), as the
loop fits it on the training logs. Targets (issue 31): worse never promoted, better at least 18
of 20, equal at most 1. It never fails: it prints.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script, sys.path[0] is tests/benchmarks
    sys.path.insert(0, str(ROOT))

EPSILON = 0.1
GAIN = 0.05


def main() -> None:
    from trainer import gate, scenarios
    from trainer.model.decision import decide
    from trainer.run import Run
    from trainer.training.loop import train

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--episodes", type=int, default=40, help="the serving model's training")
    parser.add_argument("--corrupted", type=float, default=0.3, help="share of wrong solutions")
    parser.add_argument("--seed", type=int, default=0, help="of the replicates' logging")
    parser.add_argument("--guided", action="store_true",
                        help="a prospective loop's world: first choices, a guided page")  # fmt: skip
    parser.add_argument("--min-ess", type=float, default=None, help="the gate's n_eff floor")
    args = parser.parse_args()
    floor = gate.MIN_TRIAL_ESS if args.guided else gate.MIN_ESS
    args.min_ess = floor if args.min_ess is None else args.min_ess

    spec = scenarios.get("customer_support")
    _, heldout = spec.split()
    tools = list(spec.tools)
    actions = [*tools, "finish"]
    right = np.array([actions.index(task.solution[0]) for task in heldout])

    def policy_of(run: Run) -> np.ndarray:
        rows = []
        for task in heldout:
            p = decide(run.model, task.text, (), None, plan=False).probabilities
            rows.append([p.get(a, 0.0) for a in actions])
        table = np.array(rows)
        return table / table.sum(axis=1, keepdims=True)

    started = time.perf_counter()
    serving = Run(spec, 0.001, seed=1, max_episodes=args.episodes)
    train(serving, [])
    rng = random.Random(7)
    corrupted = dataclasses.replace(spec, tasks=tuple(
        dataclasses.replace(task, solution=(rng.choice([t for t in tools if t != task.solution[0]]),
                                            *task.solution[1:]))
        if task.split == "train" and rng.random() < args.corrupted else task
        for task in spec.tasks
    ))  # fmt: skip
    worse_run = Run(corrupted, 0.001, seed=1, max_episodes=args.episodes)
    train(worse_run, [])
    print(f"models trained in {time.perf_counter() - started:.1f}s")

    a = policy_of(serving)
    oracle = np.eye(len(actions))[right]
    value_a = float((a * oracle).sum(axis=1).mean())
    wrong = (1 - oracle) * (1 - oracle[:, -1:])  # any tool but the right one
    wrong[:, -1] = 0.0
    wrong /= wrong.sum(axis=1, keepdims=True)
    as_good = value_a * oracle + (1 - value_a) * wrong  # right as often as A, choices its own
    share = GAIN / (1 - value_a)
    candidates = {
        "worse": policy_of(worse_run),
        "better": (1 - share) * a + share * oracle,
        "equal": 0.7 * a + 0.3 * as_good,
    }
    logging = (1 - EPSILON) * a + EPSILON / len(actions)
    if args.guided:  # first choices, as the loop's models serve them, and a guided page
        candidates, a, logging_of = _guided(candidates, a, right, args.corrupted)
        value_a = float((a * oracle).sum(axis=1).mean())
    print(f"{len(heldout)} held-out requests, {len(actions)} actions; serving model's true value "
          f"{value_a:.3f}; logging ε={EPSILON}{' guided' if args.guided else ''}; "
          f"{args.replicates} replicates of {args.decisions:,} decisions; "
          f"n_eff at least {args.min_ess:g}")  # fmt: skip
    for name, candidate in candidates.items():
        truth = float((candidate * oracle).sum(axis=1).mean()) - value_a
        if args.guided:
            logging = logging_of(candidate)
        promoted, estimates, widths, ess_seen = 0, [], [], []
        started = time.perf_counter()
        for replicate in range(args.replicates):
            rng = np.random.default_rng([args.seed, replicate])
            terms, ess, own = _replicate(rng, candidate, a, logging, right,
                                         args.decisions, gate)  # fmt: skip
            if args.guided:  # a trial's test: worth what speaks for the candidate's choices
                ess = own
            verdict = gate.decide(terms, ess, test=1, min_ess=args.min_ess)
            promoted += verdict.promote
            estimates.append(verdict.difference)
            widths.append(verdict.upper - verdict.lower)
            ess_seen.append(ess or 0.0)
        per = (time.perf_counter() - started) / args.replicates
        print(f"  {name:6s} true difference {100 * truth:+5.1f} points: promoted "
              f"{promoted}/{args.replicates}; estimate {100 * np.mean(estimates):+5.1f} ± "
              f"{100 * np.std(estimates):.1f} points, mean two-sided width "
              f"{100 * np.mean(widths):.1f}, mean n_eff {np.mean(ess_seen):,.0f}; "
              f"{1000 * per:.0f} ms a test")  # fmt: skip


def _guided(candidates, a, right, corrupted):  # type: ignore[no-untyped-def]
    """A prospective loop's world (gateway/ranking.py): every model serves its first choice;
    the logging policy serves A's, and exploring (ε) half the time the candidate's, half one
    of A's first three drawn uniformly. Candidates, as first choices: worse, the corrupted
    model's; better, the right tool on a share of requests (5 points in all); equal, on as
    many requests where A is right as where it is wrong, A's second choice and the right tool
    (same value, other choices)."""
    n, k = a.shape
    rng = np.random.default_rng(11)
    first = np.eye(k)[a.argmax(axis=1)]
    second = np.eye(k)[np.argsort(-a, axis=1)[:, 1]]
    oracle = np.eye(k)[right]
    is_right = (first * oracle).sum(axis=1) == 1
    value = is_right.mean()
    better = first.copy()
    wrong = np.flatnonzero(~is_right)
    fixed = rng.choice(wrong, min(len(wrong), round(GAIN * n)), replace=False)
    better[fixed] = oracle[fixed]
    swaps = round(0.3 * min(is_right.sum(), (~is_right).sum()))
    equal = first.copy()
    down = rng.choice(np.flatnonzero(is_right), swaps, replace=False)
    up = rng.choice(wrong, swaps, replace=False)
    equal[down], equal[up] = second[down], oracle[up]
    worse = np.eye(k)[candidates["worse"].argmax(axis=1)]
    top3 = np.zeros_like(a)
    np.put_along_axis(top3, np.argsort(-a, axis=1)[:, :3], 1.0 / 3, axis=1)

    def logging_of(candidate):  # type: ignore[no-untyped-def]
        return (1 - EPSILON) * first + EPSILON / 2 * top3 + EPSILON / 2 * candidate

    assert abs((equal * oracle).sum(axis=1).mean() - value) < 1e-9 and corrupted
    return {"worse": worse, "better": better, "equal": equal}, first, logging_of


def _replicate(rng, candidate, serving, logging, right, n, gate):  # type: ignore[no-untyped-def]
    """One loop run's held-out decisions and its reward model's sample: the paired terms."""

    def logged(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        contexts = rng.integers(0, len(right), size)
        cumulative = logging[contexts].cumsum(axis=1)
        chosen = (cumulative < rng.random((size, 1))).sum(axis=1)
        chosen = np.minimum(chosen, logging.shape[1] - 1)
        return contexts, chosen, (chosen == right[contexts]).astype(float)

    fit_contexts, fit_actions, fit_rewards = logged(n)  # the reward model's own sample
    sums = np.zeros(logging.shape)
    counts = np.zeros(logging.shape)
    np.add.at(sums, (fit_contexts, fit_actions), fit_rewards)
    np.add.at(counts, (fit_contexts, fit_actions), 1.0)
    prior = fit_rewards.mean()
    q = (sums + prior) / (counts + 1.0)  # per request and action, shrunk to the mean
    contexts, chosen, rewards = logged(n)
    rows = np.arange(n)
    c, s = candidate[contexts], serving[contexts]
    mu = logging[contexts][rows, chosen]
    terms, ess = gate.paired_terms(
        rewards, c[rows, chosen], s[rows, chosen], mu, q[contexts, chosen],
        ((c - s) * q[contexts]).sum(axis=1),
    )  # fmt: skip
    return terms, ess, gate.own_ess(c[rows, chosen], s[rows, chosen], mu)


if __name__ == "__main__":
    main()
