"""Training speed per scenario on one core: episodes per second of a plain `Run` loop.

    .venv/bin/python tests/benchmarks/training_speed.py [--episodes 2000] [--seed 0]
        [--learning-rate 0.001] [--cpu N] [--eval-every 100]

Each scenario trains `--episodes` episodes with a held-out evaluation every `--eval-every`
episodes, as the worker does (no bus, store or checkpoints: see worker_overhead.py for those).
The process is pinned to one core (`--cpu`, default: the last one it may use) so the figure is
one core's. Prints episodes/s per scenario, with the final training and held-out accuracy. It
reports; it never fails on a slow machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script, sys.path[0] is tests/benchmarks
    sys.path.insert(0, str(ROOT))

SCENARIOS = ("customer_support", "code_review", "data_analysis")


def pin(cpu: int | None) -> str:
    """Pin this process to one core; say which (or why not)."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity here)"
    allowed = sorted(os.sched_getaffinity(0))
    chosen = allowed[-1] if cpu is None else cpu
    os.sched_setaffinity(0, {chosen})
    return f"pinned to CPU {chosen} (of {len(allowed)} allowed)"


def measure(
    scenario_id: str, episodes: int, seed: int, learning_rate: float, eval_every: int
) -> tuple[float, float, float, float]:
    """(seconds, episodes/s, training accuracy, held-out accuracy) of one plain run."""
    from trainer import scenarios
    from trainer.run import Run
    from trainer.training.loop import Evaluating, train

    run = Run(scenarios.get(scenario_id), learning_rate, seed, episodes)
    started = time.perf_counter()
    train(run, [Evaluating(eval_every)])
    seconds = time.perf_counter() - started
    accuracy = float(run.metrics()["accuracy"])
    return seconds, episodes / seconds, accuracy, run.heldout_accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=2000, help="episodes per scenario")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--learning-rate", type=float, default=0.001)
    parser.add_argument("--eval-every", type=int, default=100, help="held-out evaluation period")
    parser.add_argument("--cpu", type=int, default=None, help="the core to pin to")
    args = parser.parse_args()

    where = pin(args.cpu)
    from trainer import scenarios  # imports (numpy, gymnasium) outside the timed loop

    for scenario_id in SCENARIOS:
        scenarios.get(scenario_id)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {where}; {args.episodes} "
        f"episodes per scenario, seed {args.seed}, learning rate {args.learning_rate:g}, "
        f"held-out evaluation every {args.eval_every}"
    )
    total_episodes, total_seconds = 0, 0.0
    for scenario_id in SCENARIOS:
        seconds, rate, accuracy, heldout = measure(
            scenario_id, args.episodes, args.seed, args.learning_rate, args.eval_every
        )
        total_episodes += args.episodes
        total_seconds += seconds
        print(
            f"  {scenario_id:<17} {rate:8,.0f} episodes/s  ({seconds:6.2f}s; training accuracy "
            f"{accuracy:5.1f}%, held-out {heldout:5.1f}%)"
        )
    print(f"  {'all three':<17} {total_episodes / total_seconds:8,.0f} episodes/s overall")


if __name__ == "__main__":
    main()
