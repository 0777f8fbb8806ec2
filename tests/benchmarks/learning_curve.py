"""How fast customer_support learns: held-out accuracy against episodes, over five seeds.

    .venv/bin/python tests/benchmarks/learning_curve.py [--seeds 0 1 2 3 4]
        [--learning-rate 0.001] [--max-episodes 10000] [--eval-every 100] [--at 2000]
        [--threshold 95] [--full]

Each seed trains a plain `Run` and evaluates held-out accuracy (`run.evaluate_heldout()`,
greedy, on tasks training never sees) every `--eval-every` episodes. Per seed it prints the
first episode count at which held-out accuracy reached `--threshold` percent (or "not reached
by N", with the best it saw), and the held-out and training accuracy (last 100 episodes) after
exactly `--at` episodes; then the median and range over the seeds (a seed that never reached
the threshold counts as slower than every one that did), and how that compares with the
original project's claim: 94.7% "tool reliability" after 10,000 simulated episodes. A seed
stops as soon as it has both numbers (`--full` trains every seed to `--max-episodes` and also
prints the held-out accuracy there). It reports; it never fails.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script, sys.path[0] is tests/benchmarks
    sys.path.insert(0, str(ROOT))

SCENARIO = "customer_support"
CLAIM_ACCURACY = 94.7  # the original project's "tool reliability" ...
CLAIM_EPISODES = 10_000  # ... after this many simulated episodes


@dataclass
class Curve:
    seed: int
    reached_at: int | None  # first evaluated episode count with held-out >= threshold
    heldout_at: float | None  # held-out accuracy after exactly `at` episodes
    training_at: float | None  # training accuracy (last 100 episodes) after exactly `at`
    episodes: int  # episodes trained before stopping
    final_heldout: float  # held-out accuracy when it stopped
    best_heldout: float  # the highest held-out accuracy any evaluation saw
    seconds: float


def train(seed: int, args: argparse.Namespace) -> Curve:
    from trainer import scenarios
    from trainer.run import Run

    run = Run(scenarios.get(SCENARIO), args.learning_rate, seed, args.max_episodes)
    reached_at: int | None = None
    heldout_at: float | None = None
    training_at: float | None = None
    best = 0.0
    started = time.perf_counter()
    while not run.finished:
        first = run.episode
        run.update()
        evaluated = run.episode // args.eval_every > first // args.eval_every or run.finished
        if evaluated:
            heldout = run.evaluate_heldout()
            best = max(best, heldout)
            if reached_at is None and heldout >= args.threshold:
                reached_at = run.episode
        if run.episode == args.at:
            heldout_at = run.heldout_accuracy if evaluated else run.evaluate_heldout()
            training_at = float(run.metrics()["accuracy"])
        if reached_at is not None and run.episode >= args.at and not args.full:
            break
    return Curve(
        seed,
        reached_at,
        heldout_at,
        training_at,
        run.episode,
        run.heldout_accuracy,
        best,
        time.perf_counter() - started,
    )


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    median = statistics.median(values)
    return f"median {median:.1f}%, range {min(values):.1f}-{max(values):.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--learning-rate", type=float, default=0.001)
    parser.add_argument("--max-episodes", type=int, default=CLAIM_EPISODES)
    parser.add_argument("--eval-every", type=int, default=100, help="held-out evaluation period")
    parser.add_argument("--at", type=int, default=2000, help="report accuracy at this episode")
    parser.add_argument("--threshold", type=float, default=95.0, help="held-out percent to reach")
    parser.add_argument(
        "--full", action="store_true", help="train every seed to --max-episodes (slower)"
    )
    args = parser.parse_args()

    from trainer import scenarios

    spec = scenarios.get(SCENARIO)
    print(
        f"{SCENARIO} ({len(spec.split()[1])} held-out tasks), learning rate "
        f"{args.learning_rate:g}, seeds {' '.join(map(str, args.seeds))}; held-out evaluation "
        f"every {args.eval_every} episodes, up to {args.max_episodes}"
    )
    never = f"not reached by {args.max_episodes}"
    curves: list[Curve] = []
    for seed in args.seeds:
        curve = train(seed, args)
        curves.append(curve)
        if curve.reached_at is not None:
            reached = f">= {args.threshold:g}% at episode {curve.reached_at}"
        else:
            reached = (
                f">= {args.threshold:g}% not reached by {curve.episodes} "
                f"(best {curve.best_heldout:.1f}%)"
            )
        if curve.heldout_at is not None and curve.training_at is not None:
            at = (
                f"at {args.at}: held-out {curve.heldout_at:5.1f}%, "
                f"training {curve.training_at:5.1f}%"
            )
        else:
            at = f"at {args.at}: not trained that far"
        final = f"; held-out {curve.final_heldout:.1f}% at {curve.episodes}" if args.full else ""
        print(f"  seed {seed}: held-out {reached:<40} {at}{final}  ({curve.seconds:.1f}s)")

    # A seed that never got there counts as slower than every one that did.
    times = [float(c.reached_at) if c.reached_at is not None else math.inf for c in curves]
    median_reached = statistics.median(times) if times else math.inf
    reached_count = sum(t != math.inf for t in times)
    median_text = never if math.isinf(median_reached) else f"{median_reached:.0f}"
    low = never if math.isinf(min(times)) else f"{min(times):.0f}"
    high = never if math.isinf(max(times)) else f"{max(times):.0f}"
    heldout = [c.heldout_at for c in curves if c.heldout_at is not None]
    training = [c.training_at for c in curves if c.training_at is not None]
    print(f"over {len(curves)} seeds:")
    print(
        f"  episodes to held-out >= {args.threshold:g}%: median {median_text}, "
        f"range {low} to {high} ({reached_count} of {len(curves)} seeds reached it)"
    )
    print(f"  held-out accuracy at {args.at}: {spread(heldout)}")
    print(f"  training accuracy at {args.at}: {spread(training)}")
    if args.full:
        print(
            f"  held-out accuracy at {args.max_episodes}: "
            f"{spread([c.final_heldout for c in curves])}"
        )

    print(
        f'the original project claimed {CLAIM_ACCURACY}% "tool reliability" after '
        f"{CLAIM_EPISODES:,} simulated episodes; here, on unseen tasks acting greedily:"
    )
    if not math.isinf(median_reached):
        print(
            f"  the median seed passes {args.threshold:g}% held-out after {median_text} episodes "
            f"({median_reached / CLAIM_EPISODES:.0%} of {CLAIM_EPISODES:,}); "
            f"{reached_count} of {len(curves)} seeds got there within {args.max_episodes:,}"
        )
    else:
        print(
            f"  the median seed does not pass {args.threshold:g}% held-out within "
            f"{args.max_episodes:,} episodes ({reached_count} of {len(curves)} seeds do)"
        )
    if heldout:
        median_at = statistics.median(heldout)
        verdict = "above" if median_at > CLAIM_ACCURACY else "at or below"
        print(
            f"  median held-out accuracy after {args.at:,} episodes: {median_at:.1f}%, {verdict} "
            f"the claimed {CLAIM_ACCURACY}% (claimed after {CLAIM_EPISODES:,})"
        )


if __name__ == "__main__":
    main()
