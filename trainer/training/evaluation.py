"""How a model is scored: greedily, on tasks it never trained on, in the scenario's environment.

The validation split (to choose the best model by) is carved from the training tasks, the
held-out split only reports. Both are stable by a hash of the task ids (CRC32, the same in every
process), and an evaluation draws its tool failures from a stream of its own (EVAL_SEED), so
the same model always scores the same on the same tasks.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agentgym.contracts import EpisodeRecord
from trainer.env import ToolUseEnv
from trainer.model.model import Model
from trainer.recorded import analyze, record
from trainer.scenarios.base import ScenarioSpec, TaskSpec
from trainer.training.sources import Simulator

EVAL_SEED = 2_147_483_647
LOCKSTEP = 128  # episodes an evaluation plays in step, deciding for all at once


@dataclass
class Evaluation:
    accuracy: float  # percent of tasks solved exactly, acting greedily
    avg_reward: float
    # Per tool: precision (of its calls, the share that were the right choice; None if never
    # called) and recall (of the solution steps needing it, the share completed).
    per_tool: dict[str, dict[str, float | None]] = field(default_factory=dict)
    # The rest of trainer.recorded.analyze's figures: confusion, per_intent, mean_calls,
    # recovery (empty for an evaluation asked for its accuracy only).
    analytics: dict[str, Any] = field(default_factory=dict)
    episodes: list[EpisodeRecord] = field(default_factory=list)  # each task's record, in task order


def _rank(task: TaskSpec) -> tuple[int, str]:
    return zlib.crc32(task.id.encode()), task.id


def sample(tasks: tuple[TaskSpec, ...], size: int) -> tuple[TaskSpec, ...]:
    """At most `size` of `tasks`, in task order: those whose ids hash lowest."""
    if len(tasks) <= size:
        return tasks
    kept = {t.id for t in sorted(tasks, key=_rank)[:size]}
    return tuple(t for t in tasks if t.id in kept)


def validation_split(
    tasks: Sequence[TaskSpec], share: float, limit: int
) -> tuple[tuple[TaskSpec, ...], tuple[TaskSpec, ...]]:
    """(training tasks, validation tasks), each in task order: of each intent, the `share` of
    tasks whose ids hash lowest; at most `limit`, the lowest hashes kept."""
    by_intent: dict[str, list[TaskSpec]] = defaultdict(list)
    for task in tasks:
        by_intent[task.intent].append(task)
    chosen: list[TaskSpec] = []
    for group in by_intent.values():
        chosen += sorted(group, key=_rank)[: int(len(group) * share + 0.5)]
    held = {t.id for t in sorted(chosen, key=_rank)[:limit]}
    return (
        tuple(t for t in tasks if t.id not in held),
        tuple(t for t in tasks if t.id in held),
    )


class Evaluator:
    """Scores a model on fixed lists of tasks, each list with an environment of its own."""

    def __init__(self, spec: ScenarioSpec, simulator: Simulator) -> None:
        self.spec = spec
        self.simulator = simulator
        self._envs: dict[tuple[str, ...], list[ToolUseEnv]] = {}

    def _envs_of(self, tasks: tuple[TaskSpec, ...]) -> list[ToolUseEnv]:
        """Environments to play `tasks` in, LOCKSTEP at a time, drawing their tool failures
        from EVAL_SEED's stream anew."""
        ids = tuple(t.id for t in tasks)
        envs = self._envs.get(ids)
        if envs is None:
            if len(self._envs) >= 4:  # the held-out tasks, their sample, validation, one more
                self._envs.clear()
            env = ToolUseEnv(self.spec, tasks=tasks)
            envs = self._envs[ids] = [env] + [env.twin() for _ in range(LOCKSTEP - 1)]
        if tasks:
            envs[0].reset(seed=EVAL_SEED)
            for twin in envs[1:]:
                twin._np_random = envs[0].np_random
        return envs

    def evaluate(
        self, model: Model, tasks: tuple[TaskSpec, ...], number: int, analytics: bool = True
    ) -> Evaluation:
        """Act greedily on every task of `tasks`. With `analytics`, each episode is recorded
        (as of the run's episode `number`) and every figure of trainer.recorded.analyze is
        counted; without, only the accuracy and the average reward."""
        envs = self._envs_of(tasks)
        played = [
            episode
            for start in range(0, len(tasks), LOCKSTEP)
            for episode in self.simulator.play(
                model, None, envs, tasks[start : start + LOCKSTEP], taught=False
            )
        ]
        records: list[EpisodeRecord] = []
        solved, total = 0, 0.0
        for episode in played:
            if analytics:
                records.append(record(self.spec, episode, "heldout", number))
            solved += episode.solved
            total += episode.reward
        if not analytics:
            count = max(len(tasks), 1)
            return Evaluation(100.0 * solved / count, total / count)
        figures = analyze(records, self.spec.tools)
        accuracy, avg_reward, per_tool = (
            figures.pop("accuracy"),
            figures.pop("avg_reward"),
            figures.pop("per_tool"),
        )
        return Evaluation(accuracy, avg_reward, per_tool, figures, records)
