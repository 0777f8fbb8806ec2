"""The scenarios a trainer can run, by id: each module's `build()` makes its `ScenarioSpec`."""

from __future__ import annotations

import functools
from collections.abc import Callable

from trainer.scenarios import code_review, customer_support, data_analysis
from trainer.scenarios.base import ScenarioSpec

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
