"""The scenarios as the trainer runs them: each a `ScenarioSpec` made from a scenario
definition, the built-in ones shipped with the core (`agentgym.catalog`) or a tenant's own
(`trainer.definitions`), by the same code."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime

from agentgym import catalog
from agentgym.bundle import Manifest
from agentgym.errors import BundleError
from agentgym.scenario.parse import ScenarioDefinition
from trainer.scenarios.base import LoggedCall, LogSpec, ScenarioSpec, TaskSpec

SCENARIOS = catalog.BUILTIN_IDS  # the built-in ones, in catalog order


@functools.cache
def get(scenario_id: str) -> ScenarioSpec:
    """The built-in scenario with this id, read once. KeyError naming the known ids otherwise."""
    return spec_of(catalog.builtin(scenario_id))


def all_specs() -> list[ScenarioSpec]:
    """Every built-in scenario, in catalog order."""
    return [get(scenario_id) for scenario_id in SCENARIOS]


def spec_of(definition: ScenarioDefinition) -> ScenarioSpec:
    """The scenario a definition describes, as the environment and the learner read it."""
    tools = definition.tools
    names = tuple(tool.name for tool in tools)
    # One string per tool and one tuple per distinct list of them, whichever tasks name them:
    # a copy per task is much of what a scenario of many tasks, or of many tools offered, holds.
    strings = {name: name for name in names}
    lists = {names: names}

    def shared(given: Sequence[str]) -> tuple[str, ...]:
        listed = tuple(strings.get(name, name) for name in given)
        return lists.setdefault(listed, listed)

    return ScenarioSpec(
        id=definition.id,
        version=definition.version,
        tools=names,
        tasks=tuple(
            TaskSpec(
                task.id,
                task.text,
                shared(task.solution),
                task.intent or "",
                task.split,
                None if task.tools is None else shared(task.tools),
            )
            for task in definition.tasks
        ),
        name=definition.name,
        hyperparameters=definition.hyperparameters,
        failure_rates={tool.name: tool.failure_rate for tool in tools if tool.failure_rate},
        fallbacks={tool.name: tool.fallback for tool in tools if tool.fallback},
        descriptions={tool.name: tool.description for tool in tools},
        rewards=definition.rewards,
        logs=tuple(
            LogSpec(
                log.id,
                log.text,
                tuple(LoggedCall(c.tool, c.succeeded, c.probability, c.reward) for c in log.calls),
                log.reward,
                log.split,
                None if log.tools is None else shared(log.tools),
                None if log.time is None else datetime.fromisoformat(log.time).timestamp(),
            )
            for log in definition.logs
        ),
    )


def of_manifest(manifest: Manifest) -> ScenarioSpec:
    """The scenario as far as acting needs it: its tools, from the bundle (no tasks)."""
    if not manifest.tools:
        try:
            return get(manifest.scenario_id)
        except KeyError as exc:
            raise BundleError(exc.args[0]) from None
    return ScenarioSpec(
        id=manifest.scenario_id,
        version=manifest.scenario_version,
        tools=tuple(tool.name for tool in manifest.tools),
        tasks=(),
        descriptions={tool.name: tool.description for tool in manifest.tools},
        fallbacks={tool.name: tool.fallback for tool in manifest.tools if tool.fallback},
    )
