"""The task data of every training scenario: sizes, consistency and the held-out split."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from agentgym import catalog
from agentgym.records import ScenarioRecord
from agentgym.scenario.parse import parse_scenario
from trainer import scenarios
from trainer.scenarios.base import ScenarioSpec

CUSTOMER_SUPPORT_TOOLS = (
    "search_kb",
    "update_ticket",
    "lookup_user",
    "send_reset_link",
    "check_payment",
    "refund",
    "check_api_docs",
    "escalate_to_engineering",
    "update_subscription",
    "verify_identity",
    "unlock_account",
)


@pytest.fixture(params=sorted(scenarios.SCENARIOS))
def spec(request: pytest.FixtureRequest) -> ScenarioSpec:
    return scenarios.get(request.param)


def _solutions_by_intent(spec: ScenarioSpec) -> dict[str, set[tuple[str, ...]]]:
    solutions: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for task in spec.tasks:
        solutions[task.intent].add(task.solution)
    return solutions


def test_scenario_has_at_least_300_tasks(spec: ScenarioSpec) -> None:
    assert len(spec.tasks) >= 300


def test_task_ids_and_texts_are_unique(spec: ScenarioSpec) -> None:
    assert len({task.id for task in spec.tasks}) == len(spec.tasks)
    assert len({task.text for task in spec.tasks}) == len(spec.tasks)


def test_task_ids_have_the_scenario_prefix_and_four_digits(spec: ScenarioSpec) -> None:
    prefixes = {task.id.split("-")[0] for task in spec.tasks}
    assert len(prefixes) == 1
    assert all(len(task.id.split("-")[1]) == 4 for task in spec.tasks)
    assert all(task.id.split("-")[1].isdigit() for task in spec.tasks)


def test_every_solution_tool_is_a_scenario_tool(spec: ScenarioSpec) -> None:
    for task in spec.tasks:
        assert 1 <= len(task.solution) <= 4, task.id
        assert set(task.solution) <= set(spec.tools), task.id


def test_failing_and_fallback_tools_are_scenario_tools(spec: ScenarioSpec) -> None:
    assert 2 <= len(spec.failure_rates) <= 4
    assert set(spec.failure_rates) <= set(spec.tools)
    assert all(0.1 <= rate <= 0.25 for rate in spec.failure_rates.values())
    assert 1 <= len(spec.fallbacks) <= 3
    for tool, fallback in spec.fallbacks.items():
        assert tool in spec.tools
        assert fallback in spec.tools
        assert fallback != tool


def test_task_texts_do_not_name_the_tools(spec: ScenarioSpec) -> None:
    identifiers = [tool for tool in spec.tools if "_" in tool]
    for task in spec.tasks:
        assert not [tool for tool in identifiers if tool in task.text.lower()], task.id


def test_tools_are_unique(spec: ScenarioSpec) -> None:
    assert len(set(spec.tools)) == len(spec.tools)


def test_customer_support_has_exactly_the_original_eleven_tools() -> None:
    assert scenarios.get("customer_support").tools == CUSTOMER_SUPPORT_TOOLS


def test_at_least_ten_intents_each_with_twenty_tasks(spec: ScenarioSpec) -> None:
    counts = Counter(task.intent for task in spec.tasks)
    assert len(counts) >= 10
    assert min(counts.values()) >= 20


def test_each_intent_has_one_solution(spec: ScenarioSpec) -> None:
    for intent, solutions in _solutions_by_intent(spec).items():
        assert len(solutions) == 1, intent


def test_distinct_intents_have_distinct_solutions(spec: ScenarioSpec) -> None:
    solutions = [next(iter(s)) for s in _solutions_by_intent(spec).values()]
    assert len(set(solutions)) == len(solutions)


def test_the_agent_must_read_the_text_to_pick_the_second_tool(spec: ScenarioSpec) -> None:
    solutions = [next(iter(s)) for s in _solutions_by_intent(spec).values()]
    first_tools = Counter(solution[0] for solution in solutions)
    assert first_tools.most_common(1)[0][1] >= 3


def test_heldout_split_is_a_fifth_disjoint_and_covers_every_intent(spec: ScenarioSpec) -> None:
    train, heldout = spec.split()
    assert len(train) + len(heldout) == len(spec.tasks)
    assert len(heldout) >= 0.2 * len(spec.tasks)
    assert not {task.id for task in train} & {task.id for task in heldout}
    assert {task.intent for task in heldout} == {task.intent for task in spec.tasks}


def test_the_shipped_file_is_its_normalized_definition(spec: ScenarioSpec) -> None:
    """The file reads back to itself, so its download pushes back unchanged, and its version is
    its content's hash."""
    path = catalog.BUILTIN_DIR / f"{spec.id}.json"
    definition, report = parse_scenario(path.read_bytes(), "application/json")
    assert definition.dump() == path.read_bytes()
    assert definition.version == spec.version and report.warnings == []
    assert scenarios.spec_of(definition) == spec


def test_the_catalog_entry_counts_the_tasks_and_says_builtin(spec: ScenarioSpec) -> None:
    record = catalog.entry(catalog.builtin(spec.id))
    assert record.id == spec.id and record.source == "builtin"
    assert record.tasks == len(spec.tasks) == record.counts.tasks
    assert record.counts.heldout == len(spec.split()[1])
    assert record.tools == list(spec.tools)
    assert ScenarioRecord.load(record.dump()) == record
    assert catalog.builtin_entry(spec.id) == record  # as shipped for the API to list


def test_the_shipped_catalog_is_the_built_in_files_entries() -> None:
    """`python -m agentgym.catalog` rewrites it after a built-in scenario's file changes."""
    assert catalog.BUILTIN_ENTRIES.read_bytes() == catalog.entries_file()
    assert [entry.id for entry in catalog.builtin_entries()] == list(catalog.BUILTIN_IDS)
    assert catalog.builtin_entry("nope") is None


def test_every_tool_is_described(spec: ScenarioSpec) -> None:
    assert set(spec.descriptions) == set(spec.tools)
    assert all(len(description) > 20 for description in spec.descriptions.values())


def test_features_state_the_real_task_and_tool_counts(spec: ScenarioSpec) -> None:
    features = catalog.builtin(spec.id).features
    assert features[0].startswith(f"{len(spec.tasks)} ")
    assert features[1].startswith(f"{len(spec.tools)} ")


def test_get_builds_each_scenario_once() -> None:
    assert scenarios.get("code_review") is scenarios.get("code_review")


def test_unknown_scenario_is_a_key_error_listing_the_known_ids() -> None:
    with pytest.raises(KeyError) as raised:
        scenarios.get("nope")
    for scenario_id in scenarios.SCENARIOS:
        assert scenario_id in str(raised.value)


def test_all_specs_lists_every_registered_scenario() -> None:
    assert [spec.id for spec in scenarios.all_specs()] == list(scenarios.SCENARIOS)
