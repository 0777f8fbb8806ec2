"""What a scenario is: tools, tasks with the tool sequence that resolves each, and metadata.

A task is solved exactly when the agent's successful tool calls are the task's `solution`, in
order, and it then finishes. Some tools fail transiently (`failure_rates`): a failed call
changes nothing, and the agent may retry it or call the tool's fallback (`fallbacks`), which
stands in for it. The held-out split (every fifth task of each intent, at least 20%) is fixed
by the task ids, so it never changes between runs and training never sees it.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from agentgym.contracts import Difficulty, Framework
from agentgym.records import FloatRange, Hyperparameters, IntRange, ScenarioRecord
from agentgym.scenario_models import Rewards

HELDOUT_EVERY = 5  # every fifth task of each intent is held out: 20%
# What every scenario accepts: runs of up to a million episodes (watch, pause, resume), and
# learning rates around the seed UI's 0.001.
DEFAULT_HYPERPARAMETERS = Hyperparameters(
    max_episodes=IntRange(min=1, max=1_000_000, default=2000),
    learning_rate=FloatRange(min=1e-5, max=1.0, default=0.001),
)
PER_INTENT = 30  # a multiple of HELDOUT_EVERY, so exactly a fifth of each intent is held out
# What every scenario's catalog entry lists after its counts of tasks, tools and intents.
COMMON_FEATURES = ("Transient tool failures", "Held-out evaluation")

Intent = tuple[str, tuple[str, ...], str]  # (intent, solution, templates: one a line)


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


def build_spec(
    scenario_id: str,
    *,
    version: str,
    prefix: str,
    seed: int,
    tools: tuple[str, ...],
    intents: Sequence[Intent],
    slots: Mapping[str, str],
    counted: tuple[str, str, str],
    name: str,
    description: str,
    difficulty: str,
    duration: str,
    rating: float,
    metrics: tuple[str, ...],
    failure_rates: dict[str, float],
    fallbacks: dict[str, str],
    descriptions: dict[str, str],
) -> ScenarioSpec:
    """A scenario from its module's data: its tasks generated from `intents` and `slots` with
    `prefix` and `seed` (see `generate_tasks`), and its catalog features counting the tasks,
    the tools and the intents, which `counted` names (e.g. "support tickets", "support
    tools", "request types"), then COMMON_FEATURES."""
    tasks = generate_tasks(prefix, intents, slots, seed=seed)
    tasks_are, tools_are, intents_are = counted
    return ScenarioSpec(
        id=scenario_id,
        version=version,
        tools=tools,
        tasks=tasks,
        name=name,
        description=description,
        difficulty=difficulty,
        duration=duration,
        rating=rating,
        metrics=metrics,
        features=(
            f"{len(tasks)} {tasks_are}",
            f"{len(tools)} {tools_are}",
            f"{len(intents)} {intents_are}",
            *COMMON_FEATURES,
        ),
        failure_rates=failure_rates,
        fallbacks=fallbacks,
        descriptions=descriptions,
    )


def generate_tasks(
    prefix: str,
    intents: Sequence[Intent],
    slots: Mapping[str, str],
    seed: int,
    per_intent: int = PER_INTENT,
) -> tuple[Task, ...]:
    """Tasks from phrasing templates: `intents` are (intent, solution, templates one per line),
    `slots` the `|`-separated values each `{slot}` takes. Every template is used equally often,
    in a seeded order, each filled with seeded slot values and redrawn until its text is new."""
    rng = random.Random(seed)
    values = {key: pool.split("|") for key, pool in slots.items()}
    tasks: list[Task] = []
    seen: set[str] = set()
    for intent, solution, block in intents:
        templates = [line.strip() for line in block.strip().splitlines()]
        order = (templates * per_intent)[:per_intent]
        rng.shuffle(order)
        for template in order:
            for _ in range(100):
                text = template.format(**{key: rng.choice(pool) for key, pool in values.items()})
                if text not in seen:
                    break
            else:
                raise ValueError(f"{intent}: too few slot values for {template!r}")
            seen.add(text)
            tasks.append(Task(f"{prefix}-{len(tasks) + 1:04d}", text, solution, intent))
    return _split(tasks)


def _split(tasks: list[Task]) -> tuple[Task, ...]:
    """The tasks with their split: every HELDOUT_EVERY-th task of each intent, by id, held out."""
    by_intent: dict[str, list[Task]] = defaultdict(list)
    for task in sorted(tasks, key=lambda t: t.id):
        by_intent[task.intent].append(task)
    heldout = {
        task.id
        for group in by_intent.values()
        for index, task in enumerate(group)
        if index % HELDOUT_EVERY == HELDOUT_EVERY - 1
    }
    return tuple(
        Task(t.id, t.text, t.solution, t.intent, "heldout" if t.id in heldout else "train")
        for t in tasks
    )
