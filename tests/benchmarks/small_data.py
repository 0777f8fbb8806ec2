"""How much a result on few examples is worth: learning curves against examples per intent, and
k-fold estimates against the truth on small subsamples.

    .venv/bin/python tests/benchmarks/small_data.py [--seeds 0 1 2] [--episodes 2000]
        [--jobs 2] [--per-intent 1 2 3 5 10 20 50] [--sizes 12 30 100]

Each run is `agentgym train`'s: the one training loop, the best kept on validation tasks, the
model saved measured once on held-out tasks.

- Learning curves, for customer_support and the long-sequence retail_support
  (tests/data/retail_support.json): of each intent's training tasks, the first m (in an order
  each seed shuffles; every one where an intent has fewer), trained on and measured on the
  scenario's own held-out tasks, all of them, none ever trained on. Per m: the held-out
  accuracy per seed, their mean and the Wilson 95% interval of the seeds' tasks pooled.
- k-fold against the truth, for customer_support: a subsample of 12, 30 or 100 of its training
  tasks, as a team's own might be (of a third as many intents, all 12 past 36 tasks, dealt
  from each in turn), split as a file without splits is (a fifth of each intent held out, by
  the hash of the ids). Its truth: the model trained on the subsample's training split, as a
  session would, measured on every other task of customer_support of those intents (tasks of
  the same kinds, written alike, none trained on). Beside it, what a team would be told: the accuracy on
  the subsample's own held-out tasks, and the 5-fold estimate over all of the subsample's tasks
  (trainer/training/crossval.py); per size, each one's mean distance from the truth, and how
  often its 95% interval holds it.

It reports; it never fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RETAIL = ROOT / "tests" / "data" / "retail_support.json"
CURVES = ("customer_support", "retail_support")


def spec_of(scenario_id: str) -> Any:
    from trainer import scenarios

    if scenario_id != "retail_support":
        return scenarios.get(scenario_id)
    from agentgym.scenario.parse import parse_scenario

    definition, _ = parse_scenario(RETAIL.read_bytes(), "application/json")
    return scenarios.spec_of(definition)


def trained(spec: Any, seed: int, episodes: int, heldout: Any = None) -> tuple[float, int]:
    """(held-out accuracy, tasks) of `agentgym train`'s model of `spec`, measured on its own
    held-out tasks or on `heldout`."""
    from trainer.run import Run
    from trainer.training.loop import Evaluating, train

    run = Run(spec, 0.001, seed, episodes)
    train(run, [Evaluating(100, heldout=False)])
    evaluation = run.evaluate_best()
    if heldout is None:
        return evaluation.accuracy, len(run.heldout)
    return run.evaluate(tuple(heldout)).accuracy, len(heldout)


def by_intent(tasks: Any) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = {}
    for task in tasks:
        groups.setdefault(task.intent, []).append(task)
    return groups


def curve_point(scenario_id: str, per_intent: int, seed: int, episodes: int) -> tuple[float, int]:
    spec = spec_of(scenario_id)
    train, heldout = spec.split()
    chosen = []
    for group in by_intent(train).values():
        random.Random(seed).shuffle(group)
        chosen += group[:per_intent]
    kept = {task.id for task in chosen} | {task.id for task in heldout}
    subset = dataclasses.replace(spec, tasks=tuple(t for t in spec.tasks if t.id in kept))
    return trained(subset, seed, episodes)


def subsample(size: int, seed: int) -> Any:
    """`size` of customer_support's training tasks, as a team's own few might be: of a third
    as many of its intents (all 12 past 36 tasks), dealt from each in turn, split as a file
    without splits is."""
    from agentgym.scenario.split import assign_splits

    spec = spec_of("customer_support")
    groups = list(by_intent(spec.split()[0]).values())
    random.Random(seed).shuffle(groups)
    groups = groups[: max(2, min(len(groups), size // 3))]
    for group in groups:
        random.Random(seed).shuffle(group)
    dealt = [task for row in zip(*groups, strict=False) for task in row][:size]
    splits = assign_splits([t.id for t in dealt], [t.intent for t in dealt], [None] * len(dealt))
    tasks = tuple(
        dataclasses.replace(task, split=split) for task, split in zip(dealt, splits, strict=True)
    )
    return dataclasses.replace(spec, tasks=tasks)


def kfold_point(size: int, seed: int, episodes: int) -> dict[str, Any]:
    from trainer.run import Run
    from trainer.training.crossval import cross_validate

    spec = spec_of("customer_support")
    small = subsample(size, seed)
    intents = {task.intent for task in small.tasks}
    taken = {task.id for task in small.tasks}
    truth_tasks = [t for t in spec.tasks if t.intent in intents and t.id not in taken]
    truth, truth_n = trained(small, seed, episodes, truth_tasks)
    split, split_n = trained(small, seed, episodes)
    kfold = cross_validate(Run(small, 0.001, seed, episodes))
    return {
        "truth": truth,
        "truth_n": truth_n,
        "split": split,
        "split_n": split_n,
        "kfold": kfold.accuracy,
        "kfold_ci95": kfold.ci95,
        "kfold_n": kfold.n,  # 0: every intent of the subsample has one task, none measured
    }


def main() -> None:
    from agentgym.intervals import wilson

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--per-intent", type=int, nargs="*", default=[1, 2, 3, 5, 10, 20, 50])
    parser.add_argument("--sizes", type=int, nargs="*", default=[12, 30, 100])
    args = parser.parse_args()
    with ProcessPoolExecutor(args.jobs) as pool:
        curves = {
            (s, m, seed): pool.submit(curve_point, s, m, seed, args.episodes)
            for s in CURVES
            for m in args.per_intent
            for seed in args.seeds
        }
        folds = {
            (size, seed): pool.submit(kfold_point, size, seed, args.episodes)
            for size in args.sizes
            for seed in args.seeds
        }
        curve = {key: future.result() for key, future in curves.items()}
        kfold = {key: future.result() for key, future in folds.items()}

    print(f"held-out accuracy against training examples per intent, {args.episodes:,} episodes:")
    for scenario_id in CURVES:
        print(f"  {scenario_id}:")
        for m in args.per_intent:
            found = [curve[(scenario_id, m, seed)] for seed in args.seeds]
            mean = statistics.mean(accuracy for accuracy, _ in found)
            n = sum(tasks for _, tasks in found)
            low, high = wilson(mean, n)
            each = " ".join(f"{accuracy:.1f}" for accuracy, _ in found)
            print(
                f"    {m:3d} per intent: {mean:5.1f}% [{low:.1f}, {high:.1f}] over {n} "
                f"(seeds {each})"
            )
    print("estimates against the truth on customer_support subsamples:")
    for size in args.sizes:
        rows = [kfold[(size, seed)] for seed in args.seeds]
        for row in rows:
            split_ci = wilson(row["split"], row["split_n"])
            fold = (
                f"5-fold {row['kfold']:5.1f}% [{row['kfold_ci95'][0]:.0f}, "
                f"{row['kfold_ci95'][1]:.0f}] on {row['kfold_n']}"
                if row["kfold_n"]
                else "5-fold: nothing to measure (one task per intent)"
            )
            print(
                f"  {size:3d} tasks: truth {row['truth']:5.1f}% (on {row['truth_n']}); own held-out "
                f"{row['split']:5.1f}% [{split_ci[0]:.0f}, {split_ci[1]:.0f}] on {row['split_n']}; "
                f"{fold}"
            )
        measured = [r for r in rows if r["kfold_n"]]

        def off(key: str, among: list[dict[str, Any]]) -> str:
            if not among:
                return "-"
            return f"{statistics.mean(abs(r[key] - r['truth']) for r in among):.1f}"

        def holds(among: list[dict[str, Any]], key: str) -> int:
            return sum(
                low <= r["truth"] <= high
                for r in among
                for low, high in [
                    r["kfold_ci95"] if key == "kfold" else wilson(r["split"], r["split_n"])
                ]
            )

        print(
            f"  {size:3d} tasks: mean distance from the truth: own held-out "
            f"{off('split', rows)} points, 5-fold {off('kfold', measured)}; the truth within the "
            f"95% interval: own held-out {holds(rows, 'split')} of {len(rows)}, 5-fold "
            f"{holds(measured, 'kfold')} of {len(measured)}"
        )


if __name__ == "__main__":
    main()
