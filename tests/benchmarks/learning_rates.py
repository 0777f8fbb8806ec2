"""Held-out accuracy of each built-in scenario across the learning rates a user may type.

    .venv/bin/python tests/benchmarks/learning_rates.py [--rates 0.0001 0.0003 0.001 0.01 0.05]
        [--seeds 0 1 2 3 4] [--episodes 2000] [--jobs 2]

Each run is the one training loop with a held-out evaluation every 100 episodes, as a worker
trains; the figure is the saved model's (the best on validation) held-out accuracy, as a new
process reads the sentence encoder (AGENTGYM_ENCODER as set; `make install` installs it).
Target (issue 24): every rate from 0.0001 to 0.05 trains customer_support to at least 90%
held out at 2,000 episodes. It prints every seed's figure and never fails.
"""

from __future__ import annotations

import argparse
import statistics
from concurrent.futures import ProcessPoolExecutor

SCENARIOS = ("customer_support", "code_review", "data_analysis")


def measure(scenario_id: str, rate: float, seed: int, episodes: int) -> float:
    from trainer import scenarios
    from trainer.run import Run
    from trainer.training.loop import Evaluating, train

    run = Run(scenarios.get(scenario_id), rate, seed, episodes)
    train(run, [Evaluating(100)])
    assert run.best is not None
    return run.best.heldout_accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rates", type=float, nargs="+", default=[0.0001, 0.0003, 0.001, 0.01, 0.05]
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    jobs = [(s, r, seed) for s in SCENARIOS for r in args.rates for seed in args.seeds]
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = {job: pool.submit(measure, *job, args.episodes) for job in jobs}
        results = {job: future.result() for job, future in futures.items()}
    print(f"held-out accuracy at {args.episodes:,} episodes, seeds {args.seeds}:")
    for scenario_id in SCENARIOS:
        for rate in args.rates:
            values = [results[(scenario_id, rate, seed)] for seed in args.seeds]
            print(
                f"  {scenario_id:17s} lr {rate:<7g} min {min(values):5.1f}%  "
                f"median {statistics.median(values):5.1f}%  "
                f"[{' '.join(f'{v:.1f}' for v in values)}]"
            )
    worst = min(results[("customer_support", r, s)] for r in args.rates for s in args.seeds)
    print(f"customer_support's worst over every rate and seed: {worst:.1f}% (target >= 90%)")


if __name__ == "__main__":
    main()
