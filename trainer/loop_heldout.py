"""What a loop run tests on (trainer/loop_run.py): the logs of the version it snapshotted that
the gate estimates on, and those its reward model is fitted on; and the serving model's floor.

Held out by time: the newest logs (the version's `heldout` split, its newest fifth), which the
candidate neither trained nor was selected on; or, testing a prospective loop's trial
(agentgym.loops.Gate), those logged since the trial began, the reward model fitted on those
before. Either way, only logs with an outcome and a first call and, unless the loop allows a
model-only estimate, the probability the serving policy gave that call.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import NDArray

from trainer import gate
from trainer.scenarios.base import LogSpec, ScenarioSpec


def floor(terms: NDArray[np.float64]) -> float | None:
    """The 95% lower bound (bootstrap-t) of the serving model's own value on the decisions the
    gate tested on: what a model put in its place must hold in service (trainer/loop_watch.py)."""
    if len(terms) < 2:
        return None
    error = float(np.std(terms, ddof=1)) / float(np.sqrt(len(terms)))
    _, high = gate.studentized_quantiles(terms, 0.025)
    return float(np.mean(terms)) - high * error


def testable(log: LogSpec, model_only: bool, since: float | None = None) -> bool:
    """Whether the gate can test on the log: held out (the newest by time, where logs have
    one) or, testing a trial, logged `since` it began; with an outcome and a first call and,
    unless the loop allows a model-only estimate, the probability the serving policy gave that
    call."""
    after = log.split == "heldout" if since is None else _after(log, since)
    return (
        after and log.reward is not None and bool(log.calls)
        and (model_only or log.calls[0].probability is not None)
    )  # fmt: skip


def _after(log: LogSpec, since: float) -> bool:
    return log.time is not None and log.time >= since


def tested_on(spec: ScenarioSpec, model_only: bool, since: float | None) -> ScenarioSpec:
    """The version with only the held-out logs the gate tests on, and the training logs the
    reward model is fitted on: testing a trial, those logged since it began and before."""
    if since is None:
        kept = [log for log in spec.logs if log.split == "train" or testable(log, model_only)]
    else:
        kept = [
            dataclasses.replace(log, split="heldout" if _after(log, since) else "train")
            for log in spec.logs
            if not _after(log, since) or testable(log, model_only, since)
        ]
    return dataclasses.replace(spec, logs=tuple(kept))
