"""`agentgym train`: a whole run in this process, with a progress bar and a report."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from pydantic import ValidationError

from agentgym.contracts import FloatRange, Framework, IntRange, TrainingStartRequest
from trainer import scenarios
from trainer.run import Run
from trainer.scenarios.base import ScenarioSpec
from trainer.training.crossval import cross_validate
from trainer.training.loop import Callback, Evaluating
from trainer.training.loop import train as train_loop

BAR_WIDTH = 30
EVAL_EVERY = 100


def _bar(run: Run, started: float) -> str:
    done = run.episode / run.max_episodes
    filled = int(BAR_WIDTH * done)
    metrics = run.metrics()
    rate = run.episode / max(time.perf_counter() - started, 1e-9)
    validation = run.best.accuracy if run.best is not None else 0.0
    return (
        f"\r{run.spec.id} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {100 * done:5.1f}% "
        f"episode {run.episode}/{run.max_episodes}  accuracy {metrics['accuracy']:5.1f}%  "
        f"best on validation {validation:5.1f}%  {rate:,.0f} episodes/s"
    )


class _Bar:
    """The progress bar, redrawn at each whole percent."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.shown = -1

    def after_update(self, run: Run, first: int) -> bool:
        percent = 100 * run.episode // run.max_episodes
        if percent != self.shown:
            print(_bar(run, self.started), end="", file=sys.stderr, flush=True)
            self.shown = percent
        return False


class ArgumentError(ValueError):
    """An argument a run cannot take: `flag` names it, the message says what is allowed."""

    def __init__(self, flag: str, message: str) -> None:
        super().__init__(message)
        self.flag = flag


def _check_range(
    flag: str, value: float, allowed: IntRange | FloatRange, spec: ScenarioSpec
) -> None:
    if not allowed.min <= value <= allowed.max:  # NaN is in no range
        raise ArgumentError(
            flag, f"must be between {allowed.min} and {allowed.max} for {spec.id}; got {value}"
        )


def scenario(scenario_id: str | None, scenario_file: Path | None) -> ScenarioSpec:
    """The built-in scenario `scenario_id`, or the one a scenario file (or chat JSONL)
    defines, read as the API reads an upload. ArgumentError naming the flag otherwise."""
    if scenario_file is None:
        if scenario_id is None:
            raise ArgumentError("--scenario", "name a built-in scenario, or give --scenario-file")
        try:
            return scenarios.get(scenario_id)
        except KeyError as exc:
            raise ArgumentError("--scenario", exc.args[0]) from None
    from agentgym.scenario.media import media_type
    from agentgym.scenario.parse import ScenarioFileError, parse_scenario

    kind = media_type(scenario_file)
    if scenario_id is None and kind == "application/x-ndjson":  # chat logs name no scenario
        scenario_id = re.sub(r"[^A-Za-z0-9_-]", "_", scenario_file.stem)[:64]
    try:
        body = scenario_file.read_bytes()
        definition, _ = parse_scenario(body, kind, scenario_id=scenario_id)
    except OSError as exc:
        raise ArgumentError("--scenario-file", str(exc)) from None
    except ScenarioFileError as exc:
        raise ArgumentError("--scenario-file", f"{scenario_file}: {exc.message}") from None
    return scenarios.spec_of(definition)


def arguments(
    scenario_id: str | None,
    episodes: int | None,
    learning_rate: float | None,
    seed: int,
    scenario_file: Path | None = None,
) -> tuple[ScenarioSpec, int, float]:
    """The scenario, episodes and learning rate of a run, checked as the API checks a start
    request: against the ranges the scenario publishes in its catalog entry
    (`ScenarioRecord.hyperparameters`), with its defaults for what is not given, and the seed
    against the request's own bounds. ArgumentError naming the flag otherwise."""
    spec = scenario(scenario_id, scenario_file)
    try:
        TrainingStartRequest(scenario_id=spec.id, seed=seed)
    except ValidationError as exc:
        raise ArgumentError("--seed", f"{exc.errors()[0]['msg']}; got {seed}") from None
    ranges = spec.hyperparameters
    if episodes is None:
        episodes = ranges.max_episodes.default
    if learning_rate is None:
        learning_rate = ranges.learning_rate.default
    _check_range("--episodes", episodes, ranges.max_episodes, spec)
    _check_range("--learning-rate", learning_rate, ranges.learning_rate, spec)
    return spec, episodes, learning_rate


def train(
    scenario_id: str | None,
    *,
    scenario_file: Path | None = None,
    episodes: int | None = None,
    seed: int = 0,
    learning_rate: float | None = None,
    as_json: bool = False,
    save: Path | None = None,
    kfold: bool = False,
) -> int:
    """Train a run to its end and report it (`kfold`: and cross-validate its recipe, which
    the bundle records); ArgumentError, before anything runs, for an argument the scenario
    does not accept (see `arguments`)."""
    spec, episodes, learning_rate = arguments(
        scenario_id, episodes, learning_rate, seed, scenario_file
    )
    run = Run(spec, learning_rate, seed, episodes)
    started = time.perf_counter()
    # The best is chosen on validation tasks; the held-out ones are measured once, on the model
    # it saves (no one watches them along the way, as a session's status does).
    callbacks: list[Callback] = [Evaluating(EVAL_EVERY, heldout=False)]
    if sys.stderr.isatty():
        callbacks.append(_Bar(started))
    train_loop(run, callbacks)
    seconds = time.perf_counter() - started
    evaluation = run.evaluate_best()
    if kfold:
        run.kfold = cross_validate(run)
    data = run.bundle(Framework.LANGCHAIN)[1]
    assert run.best is not None
    if sys.stderr.isatty():
        print(_bar(run, started), file=sys.stderr)
    metrics = run.metrics()
    report = {
        "scenario_id": spec.id,
        "episodes": run.episode,
        "seed": seed,
        "learning_rate": run.learning_rate,
        "accuracy": metrics["accuracy"],
        "heldout_accuracy": evaluation.accuracy,  # of the model saved ...
        "best_episode": run.best.episode,  # ... the one after this many episodes
        "avg_reward": metrics["avg_reward"],
        "heldout_avg_reward": evaluation.avg_reward,
        "episodes_per_second": run.episode / seconds,
        "seconds": seconds,
        "per_tool": evaluation.per_tool,
        "kfold": None if run.kfold is None else run.kfold.model_dump(),
    }
    if save is not None:
        save.write_bytes(data)
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
            f" (the model of episode {run.best.episode}, the best on validation)"
        )
        if run.kfold is not None and not run.kfold.n:
            print("  k-fold cross-validation: nothing to measure, each intent has one task")
        elif run.kfold is not None:
            low, high = run.kfold.ci95
            print(
                f"  {run.kfold.k}-fold cross-validation ({run.kfold.n} tasks): "
                f"{run.kfold.accuracy:.1f}% (95% interval {low:.1f}-{high:.1f}%)"
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
