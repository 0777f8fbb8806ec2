"""Where a worker finds the scenario a session trains on or a model is evaluated on: a built-in
one from the package, a tenant's own from the artifact store, by id and the version the session
pinned at its start. The last few are kept: one of 100,000 tasks takes a second to read."""

from __future__ import annotations

import asyncio

from cachetools import LRUCache

from agentgym import catalog
from agentgym.artifacts import ArtifactStore
from agentgym.errors import ArtifactNotFoundError, ScenarioGoneError
from agentgym.records import Keys
from agentgym.scenario.parse import ScenarioDefinition
from trainer import scenarios
from trainer.scenarios.base import ScenarioSpec

KEEP = 4  # custom scenarios held at once per worker


class Definitions:
    def __init__(self, artifacts: ArtifactStore, keep: int = KEEP) -> None:
        self.artifacts = artifacts
        self._specs: LRUCache[tuple[str, str, str], ScenarioSpec] = LRUCache(keep)

    async def spec(self, tenant: str, scenario_id: str, version: str | None) -> ScenarioSpec:
        """The scenario as the learner runs it. ScenarioGoneError when a custom one's version
        is not stored (or a session names none: it started before custom scenarios were)."""
        if catalog.is_builtin(scenario_id):
            return scenarios.get(scenario_id)
        if version is None:
            raise ScenarioGoneError(scenario_id, version)
        key = (tenant, scenario_id, version)
        if (kept := self._specs.get(key)) is not None:
            return kept
        try:
            data = await self.artifacts.get(Keys(tenant).scenario_definition(scenario_id, version))
        except ArtifactNotFoundError:
            raise ScenarioGoneError(scenario_id, version) from None
        # The API stored it normalized, after validating it: reading it back is parsing alone.
        spec = await asyncio.to_thread(_read, data)
        self._specs[key] = spec
        return spec


def _read(data: bytes) -> ScenarioSpec:
    return scenarios.spec_of(ScenarioDefinition.model_validate_json(data))
