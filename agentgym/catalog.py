"""The scenario catalog: the built-in scenarios, shipped as scenario files in this package and
read by the same code as a tenant's own, and the catalog entry a definition is listed by.

The built-ins' entries ship too (`builtin/catalog.json`, written by `python -m
agentgym.catalog` and checked against the files by a test): the API lists them without
parsing a scenario (a cold start) or waiting for a trainer, and they are never stored, so a
tenant's own scenarios are the only ones under its `scenarios/` keys.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser is imported when a definition is read: listings never need it
    from agentgym.records import ScenarioRecord
    from agentgym.scenario.parse import Problem, ScenarioDefinition

BUILTIN_DIR = Path(__file__).parent / "scenario" / "builtin"
BUILTIN_ENTRIES = BUILTIN_DIR / "catalog.json"
# In the order the catalog lists them.
BUILTIN_IDS = ("customer_support", "code_review", "data_analysis")


def is_builtin(scenario_id: str) -> bool:
    return scenario_id in BUILTIN_IDS


@functools.cache
def builtin(scenario_id: str) -> ScenarioDefinition:
    """A built-in scenario's definition, read once per process. KeyError naming the known
    ids for an id that is not one."""
    if not is_builtin(scenario_id):
        raise KeyError(
            f"unknown scenario {scenario_id!r}; the built-in scenarios are {', '.join(BUILTIN_IDS)}"
        )
    from agentgym.scenario.parse import parse_scenario

    definition, _ = parse_scenario(builtin_file(scenario_id), "application/json")
    return definition


def builtin_file(scenario_id: str) -> bytes:
    """A built-in scenario's file: the definition's own dump, as shipped."""
    return (BUILTIN_DIR / f"{scenario_id}.json").read_bytes()


def builtin_entries() -> list[ScenarioRecord]:
    """The built-in scenarios' catalog entries, in catalog order (copies: change them freely)."""
    return [entry.model_copy(deep=True) for entry in _shipped_entries()]


def builtin_entry(scenario_id: str) -> ScenarioRecord | None:
    """A built-in scenario's catalog entry; None for an id that is not one."""
    if not is_builtin(scenario_id):
        return None
    found = next(entry for entry in _shipped_entries() if entry.id == scenario_id)
    return found.model_copy(deep=True)


@functools.cache
def _shipped_entries() -> tuple[ScenarioRecord, ...]:
    from agentgym.records import ScenarioRecord

    return tuple(
        ScenarioRecord.model_validate(item) for item in json.loads(BUILTIN_ENTRIES.read_bytes())
    )


def entries_file() -> bytes:
    """`builtin/catalog.json` as the built-in scenario files make it."""
    entries = [entry(builtin(scenario_id)).model_dump(mode="json") for scenario_id in BUILTIN_IDS]
    return (json.dumps(entries, ensure_ascii=False, indent=1) + "\n").encode()


def entry(
    definition: ScenarioDefinition,
    warnings: list[Problem] | None = None,
    *,
    versions: list[str] | None = None,
) -> ScenarioRecord:
    """The catalog entry listing `definition`: the seed's fields, its version, counts and the
    validation report's warnings. A built-in one's source says so."""
    # Imported here: the records pull in the store's world, which a trainer reading the
    # built-in scenarios (`agentgym train`) never needs.
    from agentgym.records import ScenarioCounts, ScenarioRecord

    counts = definition.counts()
    return ScenarioRecord(
        id=definition.id,
        name=definition.name,
        description=definition.description,
        difficulty=definition.difficulty,
        duration=definition.duration,
        rating=definition.rating,
        tasks=counts["tasks"],
        frameworks=list(definition.frameworks),
        metrics=list(definition.metrics),
        features=list(definition.features),
        version=definition.version,
        hyperparameters=definition.hyperparameters,
        tools=[tool.name for tool in definition.tools],
        source="builtin" if is_builtin(definition.id) else "custom",
        counts=ScenarioCounts.model_validate(
            {key: value for key, value in counts.items() if key in ScenarioCounts.model_fields}
        ),
        warnings=[problem.to_dict() for problem in warnings or []],
        versions=versions if versions is not None else [definition.version],
    )


if __name__ == "__main__":  # after changing a built-in scenario's file
    BUILTIN_ENTRIES.write_bytes(entries_file())
