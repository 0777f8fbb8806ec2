"""`agentgym train`: a whole run in this process, with a progress bar and a report."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from agentgym.contracts import Framework
from trainer import scenarios
from trainer.run import Run

BAR_WIDTH = 30
EVAL_EVERY = 100


def _bar(run: Run, started: float) -> str:
    done = run.episode / run.max_episodes
    filled = int(BAR_WIDTH * done)
    metrics = run.metrics()
    rate = run.episode / max(time.perf_counter() - started, 1e-9)
    return (
        f"\r{run.spec.id} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {100 * done:5.1f}% "
        f"episode {run.episode}/{run.max_episodes}  accuracy {metrics['accuracy']:5.1f}%  "
        f"held-out {metrics['heldout_accuracy']:5.1f}%  {rate:,.0f} episodes/s"
    )


def train(
    scenario_id: str,
    *,
    episodes: int | None = None,
    seed: int = 0,
    learning_rate: float | None = None,
    as_json: bool = False,
    save: Path | None = None,
) -> int:
    try:
        spec = scenarios.get(scenario_id)
    except KeyError as exc:
        print(f"agentgym train: {exc.args[0]}", file=sys.stderr)
        return 2
    ranges = spec.hyperparameters
    run = Run(
        spec.id,
        learning_rate if learning_rate is not None else ranges.learning_rate.default,
        seed,
        episodes if episodes is not None else ranges.max_episodes.default,
    )
    started = time.perf_counter()
    shown = -1
    while not run.finished:
        run.train_episode()
        if run.episode % EVAL_EVERY == 0:
            run.evaluate_heldout()
        percent = 100 * run.episode // run.max_episodes
        if percent != shown and sys.stderr.isatty():
            print(_bar(run, started), end="", file=sys.stderr, flush=True)
            shown = percent
    seconds = time.perf_counter() - started
    evaluation = run.evaluate()
    run.heldout_accuracy = evaluation.accuracy
    if sys.stderr.isatty():
        print(_bar(run, started), file=sys.stderr)
    metrics = run.metrics()
    report = {
        "scenario_id": spec.id,
        "episodes": run.episode,
        "seed": seed,
        "learning_rate": run.learning_rate,
        "accuracy": metrics["accuracy"],
        "heldout_accuracy": evaluation.accuracy,
        "avg_reward": metrics["avg_reward"],
        "heldout_avg_reward": evaluation.avg_reward,
        "episodes_per_second": run.episode / seconds,
        "seconds": seconds,
        "per_tool": evaluation.per_tool,
    }
    if save is not None:
        save.write_bytes(run.bundle(Framework.LANGCHAIN)[1])
        report["bundle"] = str(save)
    if as_json:
        print(json.dumps(report))
    else:
        print(
            f"{spec.name}: {run.episode} episodes in {seconds:.1f}s ({report['episodes_per_second']:,.0f}/s)"
        )
        print(f"  training accuracy (last 100): {metrics['accuracy']:.1f}%")
        print(
            f"  held-out accuracy ({len(spec.split()[1])} unseen tasks): {evaluation.accuracy:.1f}%"
        )
        print(
            f"  average reward: {metrics['avg_reward']:.2f} (held-out {evaluation.avg_reward:.2f})"
        )
        for tool, scores in evaluation.per_tool.items():
            precision = "   -" if scores["precision"] is None else f"{scores['precision']:.2f}"
            print(f"    {tool:24s} precision {precision}  recall {scores['recall']:.2f}")
        if save is not None:
            print(f"  model bundle: {save}")
    return 0
