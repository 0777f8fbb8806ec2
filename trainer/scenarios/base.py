"""What a scenario is to the trainer: tools, tasks with the tool sequence that resolves each,
and metadata, as `trainer.scenarios.spec_of` reads them from a scenario definition.

A task is solved exactly when the agent's successful tool calls are the task's `solution`, in
order, and it then finishes. Some tools fail transiently (`failure_rates`): a failed call
changes nothing, and the agent may retry it or call the tool's fallback (`fallbacks`), which
stands in for it. Each task says its split: training never sees a held-out task.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agentgym.contracts import Difficulty, Framework
from agentgym.records import Hyperparameters, ScenarioRecord
from agentgym.scenario_models import DEFAULT_HYPERPARAMETERS, Rewards


@dataclass(frozen=True, slots=True)
class Task:
    id: str  # stable and unique within the scenario, e.g. "cs-0042"
    text: str  # the request as its author wrote it
    solution: tuple[str, ...]  # the tools that resolve it, in order
    intent: str  # the kind of request; tasks of one intent share a solution
    split: str = "train"  # "train" or "heldout": training never sees a held-out task
    tools: tuple[str, ...] = ()  # the tools available in this task; () is every tool


@dataclass(frozen=True)
class ScenarioSpec:
    id: str
    version: str
    tools: tuple[str, ...]
    tasks: tuple[Task, ...]
    # Seed metadata, as `GET /api/scenarios` shows it.
    name: str
    description: str
    difficulty: str
    duration: str
    rating: float
    metrics: tuple[str, ...]
    features: tuple[str, ...]
    hyperparameters: Hyperparameters = field(default_factory=lambda: DEFAULT_HYPERPARAMETERS)
    failure_rates: dict[str, float] = field(default_factory=dict)
    fallbacks: dict[str, str] = field(default_factory=dict)
    frameworks: tuple[Framework, ...] = tuple(Framework)
    descriptions: dict[str, str] = field(default_factory=dict)  # what each tool does
    rewards: Rewards = field(default_factory=Rewards)  # what each event of an episode earns

    def split(self) -> tuple[tuple[Task, ...], tuple[Task, ...]]:
        """(training tasks, held-out tasks), each in task order."""
        train = tuple(t for t in self.tasks if t.split == "train")
        return train, tuple(t for t in self.tasks if t.split == "heldout")

    def available(self, task: Task) -> tuple[str, ...]:
        """The tools the agent may call in `task`, in the scenario's order."""
        return task.tools or self.tools

    def record(self) -> ScenarioRecord:
        """The catalog entry a trainer registers in the store."""
        return ScenarioRecord(
            id=self.id,
            name=self.name,
            description=self.description,
            difficulty=Difficulty(self.difficulty),
            duration=self.duration,
            rating=self.rating,
            tasks=len(self.tasks),
            frameworks=list(self.frameworks),
            metrics=list(self.metrics),
            features=list(self.features),
            version=self.version,
            hyperparameters=self.hyperparameters,
            tools=list(self.tools),
        )
