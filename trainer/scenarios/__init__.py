"""The scenarios a trainer can run, by id: each module's `build()` makes its `ScenarioSpec`."""

from __future__ import annotations

import functools
from collections.abc import Callable

from agentgym.scenario_file import ScenarioDefinition
from trainer.scenarios import code_review, customer_support, data_analysis
from trainer.scenarios.base import ScenarioSpec, Task

SCENARIOS: dict[str, Callable[[], ScenarioSpec]] = {
    customer_support.ID: customer_support.build,
    code_review.ID: code_review.build,
    data_analysis.ID: data_analysis.build,
}


@functools.cache
def get(scenario_id: str) -> ScenarioSpec:
    """The scenario with this id, built once. KeyError naming the known ids otherwise."""
    try:
        build = SCENARIOS[scenario_id]
    except KeyError:
        known = ", ".join(sorted(SCENARIOS))
        raise KeyError(f"unknown scenario {scenario_id!r}; known scenarios: {known}") from None
    return build()


def all_specs() -> list[ScenarioSpec]:
    """Every scenario, in registry order."""
    return [get(scenario_id) for scenario_id in SCENARIOS]


def spec_of(definition: ScenarioDefinition) -> ScenarioSpec:
    """The scenario a definition describes, as the environment and the learner read it."""
    tools = definition.tools
    return ScenarioSpec(
        id=definition.id,
        version=definition.version,
        tools=tuple(tool.name for tool in tools),
        tasks=tuple(
            Task(
                task.id,
                task.text,
                tuple(task.solution),
                task.intent or "",
                task.split,
                tuple(task.tools) if task.tools is not None else (),
            )
            for task in definition.tasks
        ),
        name=definition.name,
        description=definition.description,
        difficulty=str(definition.difficulty),
        duration=definition.duration,
        rating=definition.rating,
        metrics=tuple(definition.metrics),
        features=tuple(definition.features),
        hyperparameters=definition.hyperparameters,
        failure_rates={tool.name: tool.failure_rate for tool in tools if tool.failure_rate},
        fallbacks={tool.name: tool.fallback for tool in tools if tool.fallback},
        frameworks=tuple(definition.frameworks),
        descriptions={tool.name: tool.description for tool in tools},
        rewards=definition.rewards,
    )
