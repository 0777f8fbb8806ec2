"""How often the 95% prediction sets `act` answers hold the right choice on held-out decisions,
and how many choices they hold.

    .venv/bin/python tests/benchmarks/coverage.py [--seeds 0 1 2 3 4] [--episodes 2000] [--jobs 2]

Each run is the one training loop with a held-out evaluation every 100 episodes, as a worker
trains, on the three built-ins and on tests/data/many_tools.json (hundreds of tools, every one
offered); its bundle (whose sets were fitted on the validation tasks, trainer/model/conformal.py)
is loaded back, and every step of every held-out task (the right calls before it, its finish
included) is a decision: covered when the right choice is in the set. Prints, per scenario, the
empirical coverage (target 93-97%, issue 26) and the mean set size for each seed, pooled over the
seeds too; it never fails.
"""

from __future__ import annotations

import argparse
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
MANY_TOOLS = ROOT / "tests" / "data" / "many_tools.json"
SCENARIOS = ("customer_support", "code_review", "data_analysis", "many_tools")


def spec_of(scenario_id: str):  # type: ignore[no-untyped-def]
    from trainer import scenarios

    if scenario_id != "many_tools":
        return scenarios.get(scenario_id)
    from agentgym.scenario.parse import parse_scenario

    definition, _ = parse_scenario(MANY_TOOLS.read_bytes(), "application/json")
    return scenarios.spec_of(definition)


def measure(scenario_id: str, seed: int, episodes: int) -> tuple[int, int, float, int]:
    """(decisions, covered, mean set size, fitted on) of a run's saved model, held out."""
    from trainer.model.conformal import right_probabilities
    from trainer.run import Run
    from trainer.training.loop import Evaluating, train

    spec = spec_of(scenario_id)
    run = Run(spec, 0.001, seed, episodes)
    train(run, [Evaluating(100)])
    loaded, _ = Run.from_bundle(run.bundle("LangChain")[1], spec)
    conformal = loaded.model.conformal
    assert conformal is not None
    right = right_probabilities(loaded.model, loaded.heldout)
    covered = int(np.sum(right >= 1.0 - conformal.threshold - 1e-12))
    sizes = [len(loaded.act(task.text, [], task.tools).prediction_set) for task in loaded.heldout]
    return len(right), covered, float(np.mean(sizes)), conformal.n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    jobs = [(s, seed) for s in SCENARIOS for seed in args.seeds]
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = {job: pool.submit(measure, *job, args.episodes) for job in jobs}
        results = {job: future.result() for job, future in futures.items()}
    print(f"95% prediction sets on held-out decisions after {args.episodes:,} episodes:")
    for scenario_id in SCENARIOS:
        rows = [results[(scenario_id, seed)] for seed in args.seeds]
        per_seed = " ".join(f"{100 * c / n:.1f}%" for n, c, _, _ in rows)
        decisions, covered = sum(r[0] for r in rows), sum(r[1] for r in rows)
        size = statistics.mean(r[2] for r in rows)
        print(
            f"  {scenario_id:17s} coverage {100 * covered / decisions:5.1f}% over {decisions:,}"
            f" decisions [{per_seed}]; first-step set size {size:.2f};"
            f" fitted on {rows[0][3]} validation decisions"
        )


if __name__ == "__main__":
    main()
