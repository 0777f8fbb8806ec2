"""Whether a saved model's probabilities mean what they say, and how often its 95% prediction
sets hold the right choice, on held-out decisions.

    .venv/bin/python tests/benchmarks/calibration.py [--seeds 0 1 2 3 4] [--episodes 2000]
        [--jobs 2]

Each run is the one training loop with a held-out evaluation every 100 episodes, as a worker
trains, on the three built-ins and on tests/data/many_tools.json (hundreds of tools, every one
offered); its bundle is loaded back, and every step of every held-out task (the right calls
before it, its finish included) is a decision (trainer/model/calibration.py). Printed per
scenario, pooled over the seeds:

- calibration: the expected calibration error of the first choice (equal-mass bins, with a
  bootstrap 95% interval), as the scores come (temperature 1) and as the bundle's temperature,
  fitted on the validation tasks, calibrates them; target at most 0.05 (issue 26);
- coverage: the share of decisions whose 95% prediction set holds the right choice (target 93 to
  97%), and the mean size of the set of a task's first decision.

It never fails.
"""

from __future__ import annotations

import argparse
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
MANY_TOOLS = ROOT / "tests" / "data" / "many_tools.json"
SCENARIOS = ("customer_support", "code_review", "data_analysis", "many_tools")


def spec_of(scenario_id: str) -> Any:
    from trainer import scenarios

    if scenario_id != "many_tools":
        return scenarios.get(scenario_id)
    from agentgym.scenario.parse import parse_scenario

    definition, _ = parse_scenario(MANY_TOOLS.read_bytes(), "application/json")
    return scenarios.spec_of(definition)


def measure(scenario_id: str, seed: int, episodes: int) -> dict[str, Any]:
    """A run's saved model on the held-out decisions: their probabilities before and after its
    temperature, the right actions, its prediction sets' threshold and first-step sizes."""
    from trainer.model.calibration import decisions
    from trainer.model.scoring import temper
    from trainer.run import Run
    from trainer.training.loop import Evaluating, train

    spec = spec_of(scenario_id)
    run = Run(spec, 0.001, seed, episodes)
    train(run, [Evaluating(100)])
    loaded, _ = Run.from_bundle(run.bundle("LangChain")[1], spec)
    model = loaded.model
    temperature, model.temperature = model.temperature, 1.0
    raw = decisions(model, loaded.heldout)
    model.temperature = temperature
    assert model.conformal is not None
    sizes = [len(loaded.act(task.text, [], task.tools).prediction_set) for task in loaded.heldout]
    return {
        "raw": raw.probs,
        "calibrated": temper(raw.probs, temperature),
        "right": raw.right,
        "temperature": temperature,
        "conformal": model.conformal,
        "size": float(np.mean(sizes)),
    }


def pooled(found: list[Any]) -> Any:
    """Decisions as one set (padded to the widest)."""
    from trainer.model.calibration import Decisions

    width = max(f.probs.shape[1] for f in found)
    probs = np.concatenate(
        [np.pad(f.probs, ((0, 0), (0, width - f.probs.shape[1]))) for f in found]
    )
    return Decisions(probs, np.concatenate([f.right for f in found]))


def main() -> None:
    from trainer.model.calibration import Decisions, reliability

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    jobs = [(s, seed) for s in SCENARIOS for seed in args.seeds]
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = {job: pool.submit(measure, *job, args.episodes) for job in jobs}
        results = {job: future.result() for job, future in futures.items()}
    print(
        f"held-out decisions of the saved model after {args.episodes:,} episodes, seeds {args.seeds}:"
    )
    everything: dict[str, list[Decisions]] = {"raw": [], "calibrated": []}
    for scenario_id in SCENARIOS:
        rows = [results[(scenario_id, seed)] for seed in args.seeds]
        line = [f"  {scenario_id:17s}"]
        for key in ("raw", "calibrated"):
            found = pooled([Decisions(r[key], r["right"]) for r in rows])
            everything[key].append(found)
            figures = reliability(found)
            low, high = figures["ci95"]
            line.append(f"ECE {key} {figures['ece']:.3f} [{low:.3f}, {high:.3f}]")
        covered = [
            float(
                np.mean(
                    r["conformal"].covers(
                        Decisions(r["calibrated"], r["right"]).right_probabilities()
                    )
                )
            )
            for r in rows
        ]
        temperatures = " ".join(f"{r['temperature']:.2f}" for r in rows)
        line.append(
            f"coverage {100 * statistics.mean(covered):.1f}% "
            f"[{' '.join(f'{100 * c:.1f}' for c in covered)}], first-step set "
            f"{statistics.mean(r['size'] for r in rows):.2f}; temperatures {temperatures}"
        )
        print("; ".join(line))
    for key in ("raw", "calibrated"):
        figures = reliability(pooled(everything[key]))
        low, high = figures["ci95"]
        print(
            f"all scenarios, {key}: ECE {figures['ece']:.3f} [{low:.3f}, {high:.3f}] over "
            f"{figures['decisions']:,} decisions (target <= 0.05 calibrated)"
        )


if __name__ == "__main__":
    main()
