"""Each built-in scenario's facts, defined once: its id and content in its scenario file, its
Gymnasium id derived from the id, its version from the content, its catalog entry built by
the one helper, and the frameworks from the API's enum."""

from __future__ import annotations

import gymnasium
import pytest

from agentgym import catalog
from agentgym.contracts import Framework
from agentgym.records import ScenarioRecord
from trainer import scenarios
from trainer.env import GYM_IDS, ToolUseEnv

# Published: scripts make these ids, and bundles carry these versions (the hash of each
# shipped file's content: a change to a built-in scenario is a new version, on purpose).
PUBLISHED_GYM_IDS = {
    "customer_support": "agentgym/CustomerSupport-v1",
    "code_review": "agentgym/CodeReview-v1",
    "data_analysis": "agentgym/DataAnalysis-v1",
}
PUBLISHED_VERSIONS = {
    "customer_support": "746c2427fb161cdc",
    "code_review": "d7a89afb5a901d2f",
    "data_analysis": "c9ce6b9fa00e9940",
}
COMMON_FEATURES = ("Transient tool failures", "Held-out evaluation")
CATALOG_FEATURES = {
    "customer_support": ("360 support tickets", "11 support tools", "12 request types"),
    "code_review": ("390 pull requests", "11 review tools", "13 kinds of change"),
    "data_analysis": ("360 analysis requests", "12 analysis tools", "12 kinds of analysis"),
}


def test_every_scenario_has_its_published_gymnasium_id() -> None:
    assert GYM_IDS == PUBLISHED_GYM_IDS


@pytest.mark.parametrize("scenario_id", sorted(PUBLISHED_GYM_IDS))
def test_each_gymnasium_id_makes_the_env_of_its_scenario(scenario_id: str) -> None:
    registered = gymnasium.registry[PUBLISHED_GYM_IDS[scenario_id]]
    assert registered.kwargs == {"scenario_id": scenario_id}
    env = gymnasium.make(PUBLISHED_GYM_IDS[scenario_id])
    assert isinstance(env.unwrapped, ToolUseEnv)
    assert env.unwrapped.spec_.id == scenario_id


def test_scenario_versions_are_unchanged() -> None:
    assert {spec.id: spec.version for spec in scenarios.all_specs()} == PUBLISHED_VERSIONS


@pytest.mark.parametrize("scenario_id", sorted(CATALOG_FEATURES))
def test_catalog_features_count_the_tasks_tools_and_intents_then_the_common_ones(
    scenario_id: str,
) -> None:
    features = catalog.builtin(scenario_id).features
    assert features == [*CATALOG_FEATURES[scenario_id], *COMMON_FEATURES]


@pytest.mark.parametrize("scenario_id", sorted(CATALOG_FEATURES))
def test_every_scenario_offers_every_framework_of_the_api(scenario_id: str) -> None:
    record = ScenarioRecord.load(catalog.entry(catalog.builtin(scenario_id)).dump())
    assert record.frameworks == ["LangChain", "AutoGen", "CrewAI"]
    assert [Framework(name) for name in record.frameworks] == list(Framework)
