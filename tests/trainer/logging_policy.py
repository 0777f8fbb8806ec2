"""Logs whose right answers are known: a scenario's tasks, each logged once by a policy that is
right `right` of the time, their solutions hidden from what learns or estimates from them."""

from __future__ import annotations

import dataclasses

import numpy as np

from trainer.scenarios.base import LoggedCall, LogSpec, ScenarioSpec


def logged(
    spec: ScenarioSpec, probabilities: bool = True, right: float = 0.5, seed: int = 0
) -> ScenarioSpec:
    """`spec` with one logged first call per task: the right one with probability
    right + (1 - right)/K, another with (1 - right)/K each; reward 1 when it was the right one,
    0 otherwise (and the probability where `probabilities`)."""
    rng = np.random.default_rng(seed)
    tools = spec.tools
    logs = []
    for task in spec.tasks:
        answer = task.solution[0]
        tool = answer if rng.random() < right else tools[rng.integers(len(tools))]
        p = (1 - right) / len(tools) + (right if tool == answer else 0.0)
        call = LoggedCall(tool, True, p if probabilities else None)
        logs.append(
            LogSpec(f"log-{task.id}", task.text, (call,), float(tool == answer), task.split)
        )
    return dataclasses.replace(spec, logs=tuple(logs))


def logs_alone(spec: ScenarioSpec) -> ScenarioSpec:
    """`spec` with its training tasks taken away: its logs and held-out tasks are left."""
    return dataclasses.replace(spec, tasks=tuple(t for t in spec.tasks if t.split == "heldout"))
