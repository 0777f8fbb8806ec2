"""How often the off-policy estimates' 95% intervals hold the truth (trainer/offpolicy.py):
a contextual bandit whose reward probabilities are known but never shown to the estimators
(tests/trainer/test_offpolicy.py's world: 10 tools, ε-greedy logging by similarity, ε = 0.1),
over many replicates of the logs.

    .venv/bin/python tests/benchmarks/offpolicy_coverage.py [--replicates 50] [--decisions 2000]

Per estimator (IPS, SNIPS, DR; DM where probabilities are withheld): the share of replicates
whose interval holds the true value (target at least 90%), the mean interval width, the mean
absolute error of the point estimate, and the mean effective sample size. It never fails.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script, sys.path[0] is tests/benchmarks
    sys.path.insert(0, str(ROOT))


def main() -> None:
    from tests.trainer import test_offpolicy as bandit

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=50)
    parser.add_argument("--decisions", type=int, default=2000)
    args = parser.parse_args()
    bandit.DECISIONS = args.decisions
    world = bandit.world()
    truth = bandit.true_value(world)
    with_probabilities = [bandit.replicate(world, seed) for seed in range(args.replicates)]
    without = [bandit.replicate(world, seed, False) for seed in range(args.replicates)]
    print(
        f"true value {truth:.4f}; {args.replicates} replicates of {args.decisions:,} logged "
        f"decisions; the logging policy's own value {statistics.mean(e.logged_value for e in with_probabilities):.4f}; "
        f"mean ESS {statistics.mean(e.ess or 0 for e in with_probabilities):.1f}"
    )
    for name, found in (
        ("ips", with_probabilities), ("snips", with_probabilities), ("dr", with_probabilities),
        ("dm (no probabilities)", without),
    ):  # fmt: skip
        estimates = [getattr(e, name.split()[0]) for e in found]
        covered = sum(low <= truth <= high for low, high in (e.ci95 for e in estimates))
        width = statistics.mean(e.ci95[1] - e.ci95[0] for e in estimates)
        error = statistics.mean(abs(e.value - truth) for e in estimates)
        print(
            f"  {name:22s} coverage {100 * covered / len(estimates):5.1f}% (target >= 90%), "
            f"mean width {width:.3f}, mean absolute error {error:.4f}"
        )


if __name__ == "__main__":
    main()
