"""What a scenario is to the trainer: tools, tasks with the tool sequence that resolves each,
as `trainer.scenarios.spec_of` reads them from a scenario definition (its catalog fields are
the API's: `agentgym.catalog`).

A task is solved exactly when the agent's successful tool calls are the task's `solution`, in
order, and it then finishes. Some tools fail transiently (`failure_rates`): a failed call
changes nothing, and the agent may retry it or call the tool's fallback (`fallbacks`), which
stands in for it. Each task says its split: training never sees a held-out task.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agentgym.contracts import Hyperparameters
from agentgym.scenario.definition import DEFAULT_HYPERPARAMETERS, Rewards


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """A scenario's `Task` (agentgym.scenario.definition) as the trainer runs it: immutable,
    hashable, its solution and tools tuples shared between tasks (100,000 tasks offering
    the same 1,000 tools hold one tuple of them, not 100,000 lists)."""

    id: str  # stable and unique within the scenario, e.g. "cs-0042"
    text: str  # the request as its author wrote it
    solution: tuple[str, ...]  # the tools that resolve it, in order
    intent: str  # the kind of request; tasks of one intent share a solution
    split: str = "train"  # "train" or "heldout": training never sees a held-out task
    tools: tuple[str, ...] | None = None  # the tools available in this task; None: every tool


@dataclass(frozen=True, slots=True)
class LoggedCall:
    tool: str
    succeeded: bool = True
    probability: float | None = None  # what the logging policy gave it, where known
    reward: float | None = None  # the call's own, where the trace gave one


@dataclass(frozen=True, slots=True)
class LogSpec:
    """A logged episode (agentgym.scenario.definition's `Log`): what an agent did and how it
    ended, with no answer key."""

    id: str
    text: str
    calls: tuple[LoggedCall, ...]
    reward: float | None = None
    split: str = "train"
    tools: tuple[str, ...] | None = None  # on offer; None: every tool
    time: float | None = None  # when it began, epoch seconds; None: not said


@dataclass(frozen=True)
class ScenarioSpec:
    id: str
    version: str
    tools: tuple[str, ...]
    tasks: tuple[TaskSpec, ...]
    name: str = ""
    hyperparameters: Hyperparameters = field(default_factory=lambda: DEFAULT_HYPERPARAMETERS)
    failure_rates: dict[str, float] = field(default_factory=dict)
    fallbacks: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)  # what each tool does
    rewards: Rewards = field(default_factory=Rewards)  # what each event of an episode earns
    logs: tuple[LogSpec, ...] = ()  # episodes agents played

    def split(self) -> tuple[tuple[TaskSpec, ...], tuple[TaskSpec, ...]]:
        """(training tasks, held-out tasks), each in task order."""
        train = tuple(t for t in self.tasks if t.split == "train")
        return train, tuple(t for t in self.tasks if t.split == "heldout")

    def available(self, task: TaskSpec) -> tuple[str, ...]:
        """The tools the agent may call in `task`, in the scenario's order."""
        return self.tools if task.tools is None else task.tools
