"""`agentgym.scenario.parse`: scenario files read, checked, split, versioned and written back,
and what is refused (JSON here; YAML in test_safe_yaml.py, JSONL in test_chat_jsonl.py)."""

from __future__ import annotations

import copy
import gc
import json
import math
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import pytest

from agentgym.contracts import Difficulty, Framework
from agentgym.scenario.definition import compute_version
from agentgym.scenario.parse import (
    MAX_SCENARIO_BYTES,
    InvalidScenarioError,
    Limits,
    MalformedScenarioError,
    ScenarioDefinition,
    ScenarioTooLargeError,
    Tool,
    UnsupportedScenarioTypeError,
    definition_from_dict,
    parse_scenario,
)
from agentgym.scenario.split import assign_splits

SCHEMA = {"type": "object", "properties": {"order_id": {"type": "string"}}}

# What a scenario of tasks alone counts of logs.
NO_LOGS = {"logs": 0, "logs_heldout": 0, "logs_without_text": 0, "logs_with_reward": 0}


def small_heldout(warning: object) -> bool:
    """The warning that few tasks are held out: every small fixture here has it, and it is
    tested on its own (tests/scenario/test_parse.py)."""
    return "held-out tasks: an accuracy measured on them" in str(warning)


def tools() -> list[dict[str, Any]]:
    return [
        {"name": "lookup_order", "description": "Find an order by its id"},
        {"name": "search_orders", "description": "Search orders by customer"},
        {"name": "refund", "description": "Refund an order"},
        {"name": "send_email", "description": "Email the customer"},
    ]


def tasks(n: int = 20) -> list[dict[str, Any]]:
    """Two intents, each solved by its own sequence."""
    return [
        {
            "id": f"t{i}",
            "text": f"Request number {i}",
            "solution": ["lookup_order", "refund"] if i % 2 else ["search_orders", "send_email"],
            "intent": "refund" if i % 2 else "status",
        }
        for i in range(n)
    ]


def scenario(**fields: Any) -> dict[str, Any]:
    return {"id": "shop", "tools": tools(), "tasks": tasks(), **fields}


def body(data: object) -> bytes:
    return json.dumps(data).encode()


def parse(data: object, **kwargs: Any) -> tuple[ScenarioDefinition, list[str]]:
    definition, report = parse_scenario(body(data), "application/json", **kwargs)
    assert not report.errors
    return definition, [str(w) for w in report.warnings if not small_heldout(w)]


def refused(data: object, **kwargs: Any) -> InvalidScenarioError:
    with pytest.raises(InvalidScenarioError) as caught:
        parse_scenario(body(data), "application/json", **kwargs)
    return caught.value


def errors(data: object, **kwargs: Any) -> list[str]:
    return [str(p) for p in refused(data, **kwargs).report.errors]


# --- tools in three shapes ------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry",
    [
        {
            "type": "function",
            "function": {"name": "lookup_order", "description": "Find", "parameters": SCHEMA},
            "failure_rate": 0.2,
            "fallback": "search_orders",
        },
        {
            "name": "lookup_order",
            "description": "Find",
            "inputSchema": SCHEMA,
            "annotations": {"readOnlyHint": True},
            "failure_rate": 0.2,
            "fallback": "search_orders",
        },
        {
            "name": "lookup_order",
            "description": "Find",
            "parameters": SCHEMA,
            "failure_rate": 0.2,
            "fallback": "search_orders",
        },
    ],
    ids=["openai", "mcp", "plain"],
)
def test_every_tool_shape_reads_as_the_same_tool(entry: dict[str, Any]) -> None:
    definition, _ = parse(scenario(tools=[entry, *tools()[1:]]))
    assert definition.tools[0] == Tool(
        name="lookup_order",
        description="Find",
        parameters=SCHEMA,
        failure_rate=0.2,
        fallback="search_orders",
    )


def test_a_tool_without_description_or_parameters_gets_the_defaults() -> None:
    definition, _ = parse(scenario(tools=[{"name": "lookup_order"}, *tools()[1:]]))
    assert definition.tools[0] == Tool(name="lookup_order")


def test_an_unknown_key_of_a_pasted_shape_is_a_warning_of_ours_an_error() -> None:
    mcp = {"name": "lookup_order", "inputSchema": SCHEMA, "x-vendor": 1}
    _, warnings = parse(scenario(tools=[mcp, *tools()[1:]]))
    assert "tools[0].x-vendor: ignored (not part of a mcp tool we read)" in warnings
    plain = {"name": "lookup_order", "failure-rate": 0.1}
    found = errors(scenario(tools=[plain, *tools()[1:]]))
    assert found == ["tools[0].failure-rate: unknown field (did you mean 'failure_rate'?)"]


# --- defaults -------------------------------------------------------------------------------


def test_a_minimal_file_gets_every_default() -> None:
    data = {
        "id": "shop_support",
        "tools": tools(),
        "tasks": [{k: v for k, v in t.items() if k != "id"} for t in tasks()],
    }
    definition, _ = parse(data)
    assert definition.name == "Shop Support"
    assert definition.description == ""
    assert definition.difficulty is Difficulty.INTERMEDIATE
    assert definition.duration == "minutes"
    assert definition.rating == 0.0
    assert definition.frameworks == list(Framework)
    assert definition.features == ["20 tasks", "4 tools", "2 intents", "Held-out evaluation"]
    assert [t.id for t in definition.tasks[:3]] == ["task-00001", "task-00002", "task-00003"]
    assert definition.hyperparameters.max_episodes.default == 2000
    assert definition.rewards.solved == 1.0
    assert definition.counts() == {"tools": 4, "tasks": 20, "train": 16, "heldout": 4, **NO_LOGS}


def test_catalog_fields_are_kept_and_frameworks_read_in_any_case() -> None:
    definition, _ = parse(
        scenario(
            name="Shop",
            difficulty="advanced",
            duration="1-2 hours",
            rating=4.5,
            metrics=["Resolution Rate"],
            features=["Real tickets"],
            frameworks=["crewai", "LangChain", "CREWAI"],
        )
    )
    assert (definition.name, definition.difficulty, definition.rating) == ("Shop", "advanced", 4.5)
    assert definition.features == ["Real tickets"]
    assert definition.frameworks == [Framework.CREWAI, Framework.LANGCHAIN]


def test_the_callers_id_and_name_win_and_a_different_file_id_is_a_warning() -> None:
    definition, warnings = parse(scenario(), scenario_id="other", name="Other one")
    assert (definition.id, definition.name) == ("other", "Other one")
    assert warnings == ["id: the file says 'shop'; the scenario is 'other'"]
    definition, _ = parse({k: v for k, v in scenario().items() if k != "id"}, scenario_id="x")
    assert definition.id == "x"


def test_a_partial_hyperparameter_range_takes_the_rest_from_the_defaults() -> None:
    definition, _ = parse(scenario(hyperparameters={"max_episodes": {"max": 500}}))
    episodes = definition.hyperparameters.max_episodes
    assert (episodes.min, episodes.max, episodes.default) == (1, 500, 500)
    assert definition.hyperparameters.learning_rate.default == 0.001


# --- splits ---------------------------------------------------------------------------------


def test_splits_are_stable_stratified_and_hold_out_a_fifth() -> None:
    ids = [f"task-{i}" for i in range(103)]
    intents = [f"intent-{i % 7}" for i in range(103)]
    splits = assign_splits(ids, intents, [None] * 103)
    assert splits == assign_splits(ids, intents, [None] * 103)
    for intent in set(intents):
        group = [s for s, i in zip(splits, intents, strict=True) if i == intent]
        assert group.count("heldout") == math.ceil(len(group) / 5)
    assert splits.count("heldout") >= 103 / 5
    # A task's split depends on its id, not on where it is in the file.
    reordered = assign_splits(ids[::-1], intents[::-1], [None] * 103)
    assert reordered[::-1] == splits


def test_splits_use_sha256_so_they_do_not_change_between_processes() -> None:
    code = (
        "from agentgym.scenario.split import assign_splits as a;"
        "print(a([f't{i}' for i in range(50)], [None] * 50, [None] * 50))"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(runs) == 1


def test_explicit_splits_are_kept_and_counted() -> None:
    ids = [f"t{i}" for i in range(10)]
    given: list[Any] = ["heldout", "heldout", "train", *[None] * 7]
    splits = assign_splits(ids, [None] * 10, given)
    assert splits[:3] == ["heldout", "heldout", "train"]
    assert splits.count("heldout") == 2  # the explicit two are this group's fifth


def test_a_single_task_intent_trains_and_the_total_is_topped_up_to_a_fifth() -> None:
    ids = [f"t{i}" for i in range(10)]
    splits = assign_splits(ids, [f"own-{i}" for i in range(10)], [None] * 10)
    assert splits.count("heldout") == 2  # no group holds out, the total does
    assert assign_splits(["a", "b"], ["x", "y"], [None, None]).count("heldout") == 1


def test_the_definition_carries_every_split_explicitly() -> None:
    definition, _ = parse(scenario())
    assert all(t.split in ("train", "heldout") for t in definition.tasks)
    heldout = Counter(t.intent for t in definition.tasks if t.split == "heldout")
    assert heldout == {"refund": 2, "status": 2}


# --- version and round trip -----------------------------------------------------------------


def test_a_downloaded_file_reads_back_to_the_same_definition_and_version() -> None:
    tool = {"type": "function", "function": {"name": "lookup_order", "parameters": SCHEMA}}
    data = scenario(
        tools=[{**tool, "failure_rate": 0.1, "fallback": "search_orders"}, *tools()[1:]],
        tasks=[{k: v for k, v in t.items() if k != "id"} for t in tasks()],
        description="Zürich 🚀",
    )
    definition, _ = parse(data)
    dumped = definition.dump()
    again, _ = parse_scenario(dumped, "application/json")
    assert again == definition
    assert again.dump() == dumped
    assert definition.version == compute_version(definition) and len(definition.version) == 16


def test_the_version_ignores_key_order_and_layout_and_follows_content() -> None:
    data = scenario()
    definition, _ = parse(data)
    shuffled = dict(reversed(list(copy.deepcopy(data).items())))
    shuffled["tasks"] = [dict(reversed(list(t.items()))) for t in shuffled["tasks"]]
    indented = json.dumps(shuffled, indent=4).encode()
    assert parse_scenario(indented, "application/json")[0].version == definition.version
    changed, _ = parse(scenario(description="new"))
    assert changed.version != definition.version


def test_a_files_version_field_is_ignored() -> None:
    assert parse(scenario(version="made-up"))[0].version == parse(scenario())[0].version


def test_definition_from_dict_reads_python_data() -> None:
    definition, report = definition_from_dict(scenario())
    assert definition == parse(scenario())[0] and not report.errors


# --- errors ---------------------------------------------------------------------------------


def _task(i: int, **fields: Any) -> dict[str, Any]:
    return {**tasks()[i], **fields}


def _tool(i: int, **fields: Any) -> dict[str, Any]:
    return {**tools()[i], **fields}


ERRORS = [
    pytest.param(
        {"tasks": [_task(0, solution=["search_order", "send_email"]), *tasks()[1:]]},
        "tasks[0].solution[0]: unknown tool 'search_order' (did you mean 'search_orders'?)",
        id="unknown-solution-tool",
    ),
    pytest.param(
        {"tasks": [_task(0, tools=["search_orders", "send_emails"]), *tasks()[1:]]},
        "tasks[0].tools[1]: unknown tool 'send_emails' (did you mean 'send_email'?)",
        id="unknown-task-tool",
    ),
    pytest.param(
        {"tools": [_tool(0, fallback="serch_orders"), *tools()[1:]]},
        "tools[0].fallback: unknown tool 'serch_orders' (did you mean 'search_orders'?)",
        id="unknown-fallback",
    ),
    pytest.param(
        {"tools": [*tools(), tools()[2]]},
        "tools[4].name: duplicate tool name 'refund' (also tools[2].name)",
        id="duplicate-tool",
    ),
    pytest.param(
        {"tasks": [*tasks(), _task(3)]},
        "tasks[20].id: duplicate task id 't3' (also tasks[3])",
        id="duplicate-task-id",
    ),
    pytest.param(
        {"tasks": [*tasks()[:2], {"id": "task-00001", "text": "x", "solution": []}, *tasks()[2:]]},
        None,  # no duplicate: explicit ids are kept and only missing ones are generated
        id="generated-id-unused",
    ),
    pytest.param(
        {"tasks": [{"text": "x", "solution": []}, *tasks()[1:], _task(0, id="task-00001")]},
        "tasks[20].id: duplicate task id 'task-00001' (also tasks[0])",
        id="explicit-id-equal-to-a-generated-one",
    ),
    pytest.param(
        {"tools": [_tool(0, fallback="lookup_order"), *tools()[1:]]},
        "tools[0].fallback: a tool cannot be its own fallback",
        id="self-fallback",
    ),
    pytest.param(
        {
            "tools": [
                _tool(0, fallback="search_orders"),
                _tool(1, fallback="refund"),
                _tool(2, fallback="lookup_order"),
                tools()[3],
            ]
        },
        "tools[0].fallback: fallback cycle: lookup_order -> search_orders -> refund -> lookup_order",
        id="fallback-cycle",
    ),
    pytest.param(
        {"tools": [_tool(0, failure_rate=0.95), *tools()[1:]]},
        "tools[0].failure_rate: should be less than or equal to 0.9, not 0.95",
        id="failure-rate",
    ),
    pytest.param(
        {"tasks": [_task(1, tools=["lookup_order", "search_orders"]), *tasks()[2:]]},
        "tasks[0].solution[1]: 'refund' is not among this task's tools: add it to tasks[0].tools",
        id="solution-tool-unavailable",
    ),
    pytest.param(
        {"tasks": [_task(0, text="  \n"), *tasks()[1:]]},
        "tasks[0].text: is empty: say what the user asks",
        id="empty-text",
    ),
    pytest.param(
        {"tasks": [{**t, "split": "train"} for t in tasks()]},
        'tasks: no held-out task: leave some tasks\' "split" out, or set it to "heldout"',
        id="no-heldout",
    ),
    pytest.param(
        {"tasks": [{**t, "split": "heldout"} for t in tasks()]},
        'tasks: no training task: leave some tasks\' "split" out, or set it to "train"',
        id="no-training",
    ),
    pytest.param(
        {"tasks": [_task(0, split="test"), *tasks()[1:]]},
        "tasks[0].split: should be 'train' or 'heldout', not 'test'",
        id="split-value",
    ),
    pytest.param(
        {"tasks": [_task(0, soluton=["refund"]), *tasks()[1:]]},
        "tasks[0].soluton: unknown field (did you mean 'solution'?)",
        id="misspelt-field",
    ),
    pytest.param(
        {"tasks": [_task(0, solution="refund"), *tasks()[1:]]},
        "tasks[0].solution: should be a valid list, not 'refund'",
        id="solution-type",
    ),
    pytest.param({"rating": "5"}, "rating: should be a valid number, not '5'", id="number-as-text"),
    pytest.param(
        {"id": "my shop"}, "id: should be 1-64 letters, digits, '_' or '-', not 'my shop'", id="id"
    ),
    pytest.param(
        {"tools": [{"type": "function", "function": {"name": "look up"}}, *tools()[1:]]},
        "tools[0].function.name: should be 1-64 letters, digits, '_', '-' or '.', not 'look up'",
        id="openai-name-path",
    ),
    pytest.param(
        {"tools": [{"name": "lookup_order", "inputSchema": []}, *tools()[1:]]},
        "tools[0].inputSchema: should be an object (a mapping)",
        id="mcp-schema-path",
    ),
    pytest.param(
        {"tools": [{"type": "tool", "function": {"name": "lookup_order"}}, *tools()[1:]]},
        'tools[0].type: should be "function" in an OpenAI tool',
        id="openai-type",
    ),
    pytest.param(
        {"tools": [{"name": "lookup_order", "parameters": {"type": "string"}}, *tools()[1:]]},
        'tools[0].parameters: should be a JSON schema of "type": "object"',
        id="parameters-not-object",
    ),
    pytest.param(
        {"hyperparameters": {"max_episodes": {"min": 10, "max": 100, "default": 5}}},
        "hyperparameters.max_episodes.default: 5 is outside min..max (10..100)",
        id="default-outside-range",
    ),
    pytest.param(
        {"hyperparameters": {"learning_rate": {"min": 0.5, "max": 0.1}}},
        "hyperparameters.learning_rate.min: 0.5 is above max (0.1)",
        id="min-above-max",
    ),
    pytest.param(
        {"hyperparameters": {"max_episodes": {"max": 2_000_000}}},
        "hyperparameters.max_episodes.max: should be less than or equal to 1000000, not 2000000",
        id="outside-outer-bounds",
    ),
    pytest.param(
        {"rewards": {"solved": 0}}, "rewards.solved: should be greater than 0, not 0", id="reward"
    ),
    pytest.param(
        {"rewards": {"mistake": 0.1}},
        "rewards.mistake: should be less than or equal to 0, not 0.1",
        id="cost-that-pays",
    ),
    pytest.param({"tools": []}, "tools: is empty: a scenario needs a tool", id="no-tools"),
    pytest.param({"tasks": None}, "tasks: should be a valid list, not None", id="tasks-type"),
    pytest.param(
        {"difficulty": "hard"},
        "difficulty: should be 'beginner', 'intermediate' or 'advanced', not 'hard'",
        id="difficulty",
    ),
]


@pytest.mark.parametrize(("change", "expected"), ERRORS)
def test_each_mistake_is_an_error_that_says_where_and_what(
    change: dict[str, Any], expected: str | None
) -> None:
    data = scenario(**change)
    if expected is None:
        parse(data)
    else:
        assert expected in errors(data)


def test_a_missing_id_is_an_error_unless_the_caller_gives_one() -> None:
    data = {k: v for k, v in scenario().items() if k != "id"}
    assert errors(data) == ["id: is required: name the scenario (letters, digits, '_' or '-')"]


def test_a_file_that_is_not_an_object_is_refused() -> None:
    assert errors([1, 2]) == [
        "a scenario file is an object (a mapping, in YAML) with tools and tasks"
    ]


def test_one_report_lists_every_error_and_the_warnings_found_with_them() -> None:
    data = scenario(
        tools=[*tools(), {"name": "unused"}],
        tasks=[_task(0, solution=["nope"]), _task(1, text=""), *tasks()[2:]],
    )
    exc = refused(data)
    assert [p.where for p in exc.report.errors] == ["tasks[0].solution[0]", "tasks[1].text"]
    assert "tools[4].name: no task's solution uses 'unused'" in [
        str(w) for w in exc.report.warnings
    ]
    assert exc.status == 422
    assert exc.to_body() == {
        "detail": exc.message,
        "code": "invalid",
        "errors": [p.to_dict() for p in exc.report.errors],
    }
    assert exc.to_body()["errors"][0] == {  # type: ignore[index]
        "loc": ["tasks", 0, "solution", 0],
        "where": "tasks[0].solution[0]",
        "msg": "unknown tool 'nope'",
    }


def test_past_max_problems_problems_are_counted_and_the_detail_says_how_many_more() -> None:
    data = scenario(tasks=[_task(i % 20, id=f"x{i}", solution=["nope"]) for i in range(50)])
    exc = refused(data, limits=Limits(max_problems=10))
    assert len(exc.report.errors) == 10 and exc.report.errors_omitted == 40
    assert exc.message.endswith("... and 47 more")
    assert exc.message.count("unknown tool") == 3


# --- warnings -------------------------------------------------------------------------------


WARNINGS = [
    pytest.param(
        {"tools": [*tools(), {"name": "unused"}]},
        "tools[4].name: no task's solution uses 'unused'",
        id="unused-tool",
    ),
    pytest.param(
        {
            "tools": [*tools(), {"name": "audit"}],
            "tasks": [
                *tasks(),
                {"id": "odd", "text": "Odd", "solution": ["audit"], "split": "heldout"},
            ],
        },
        "tasks[20].solution[0]: no training task uses 'audit', so it cannot be learned for this held-out task",
        id="untaught-tool",
    ),
    pytest.param(
        {"tasks": [*tasks(), _task(0, id="again", solution=["refund"])]},
        "tasks[20].text: the same text as tasks[0], with another solution",
        id="ambiguous-text",
    ),
    pytest.param(
        {
            "tasks": [
                {**t, "split": "heldout" if i == 0 else "train"} for i, t in enumerate(tasks())
            ]
        },
        "tasks: only 1 of 20 tasks are held out; at least 20% is usual",
        id="few-heldout",
    ),
]


@pytest.mark.parametrize(("change", "expected"), WARNINGS)
def test_each_doubtful_thing_is_a_warning(change: dict[str, Any], expected: str) -> None:
    _, warnings = parse(scenario(**change))
    assert expected in warnings


def test_a_valid_file_has_no_warnings_and_a_fallback_counts_as_used() -> None:
    assert parse(scenario())[1] == []
    data = scenario(tools=[_tool(0, fallback="backup"), *tools()[1:], {"name": "backup"}])
    assert parse(data)[1] == []


# --- limits ---------------------------------------------------------------------------------


LIMITS = [
    pytest.param(Limits(max_tools=3), "tools: 4 tools; the limit is 3 (max_tools)", id="tools"),
    pytest.param(Limits(max_tasks=19), "tasks: 20 tasks; the limit is 19 (max_tasks)", id="tasks"),
    pytest.param(
        Limits(max_steps=1),
        "tasks[0].solution: 2 steps; the limit is 1 (max_steps)",
        id="steps",
    ),
    pytest.param(
        Limits(max_text_bytes=16),
        "tasks[10].text: 17 bytes; the limit is 16 (max_text_bytes)",
        id="text",
    ),
    pytest.param(
        Limits(max_description_bytes=20),
        "tools[1].description: 25 bytes; the limit is 20 (max_description_bytes)",
        id="description",
    ),
]


@pytest.mark.parametrize(("limits", "expected"), LIMITS)
def test_a_file_over_a_limit_is_refused_naming_it(limits: Limits, expected: str) -> None:
    assert expected in errors(scenario(), limits=limits)


def test_a_count_limit_refuses_at_once_with_that_error_alone() -> None:
    data = scenario(tasks=[*tasks(), {"bad": 1}], rating="x")
    assert errors(data, limits=Limits(max_tasks=5)) == [
        "tasks: 21 tasks; the limit is 5 (max_tasks)"
    ]


def test_text_size_counts_utf8_bytes() -> None:
    data = scenario(tasks=[_task(0, text="éééé"), *[_task(i, text=f"t{i}") for i in range(1, 20)]])
    assert errors(data, limits=Limits(max_text_bytes=7)) == [
        "tasks[0].text: 8 bytes; the limit is 7 (max_text_bytes)"
    ]
    parse(data, limits=Limits(max_text_bytes=8))


def test_parameters_size_is_limited() -> None:
    tool = {"name": "lookup_order", "parameters": {"type": "object", "description": "x" * 100}}
    found = errors(scenario(tools=[tool, *tools()[1:]]), limits=Limits(max_parameters_bytes=64))
    assert found == [
        "tools[0].parameters: 134 bytes as JSON; the limit is 64 (max_parameters_bytes)"
    ]


def test_a_body_over_max_bytes_is_413() -> None:
    assert MAX_SCENARIO_BYTES == 32 * 1024 * 1024
    with pytest.raises(ScenarioTooLargeError) as caught:
        parse_scenario(body(scenario()), "application/json", limits=Limits(max_bytes=100))
    assert caught.value.status == 413 and "the limit is 100 (max_bytes)" in caught.value.message


# --- malformed JSON -------------------------------------------------------------------------


MALFORMED = [
    pytest.param(b'{"id": "x",\n "tools": [1,]}', 2, 14, "Expecting value", id="syntax"),
    pytest.param(b'{"id": "x",\n "rating": NaN}', 2, 12, "NaN is not a JSON number", id="nan"),
    pytest.param(b'{"rating": -Infinity}', 1, 12, "-Infinity is not a JSON number", id="infinity"),
    pytest.param(b'{"rating": 1e999}', 1, 12, "1e999 is too large for a number", id="overflow"),
    pytest.param(
        b'{"tools": [{"name": "a"}, {"name": "b",\n  "name": "c"}]}',
        2,
        3,
        "duplicate key 'name'",
        id="duplicate-key",
    ),
    pytest.param(b'{"a": "x\xff"}', 1, 9, "not UTF-8 text", id="not-utf8"),
    pytest.param(
        b"[" * 65 + b"]" * 65, 1, 65, "nested deeper than 64 levels (max_depth)", id="deep"
    ),
]


@pytest.mark.parametrize(("raw", "line", "column", "msg"), MALFORMED)
def test_malformed_json_is_400_with_line_and_column(
    raw: bytes, line: int, column: int, msg: str
) -> None:
    with pytest.raises(MalformedScenarioError) as caught:
        parse_scenario(raw, "application/json")
    exc = caught.value
    assert (exc.status, exc.line, exc.column) == (400, line, column)
    assert exc.message == f"line {line}, column {column}: {msg}"
    assert exc.to_body()["errors"] == [
        {"loc": ["line", line], "where": f"line {line}, column {column}", "msg": msg}
    ]


def test_nesting_in_strings_does_not_count_and_64_levels_are_fine() -> None:
    deep: Any = "[[[[{{{{"
    for _ in range(60):
        deep = [deep]
    data = scenario(
        tools=[{"name": "lookup_order", "parameters": {"type": "object", "x": deep}}, *tools()[1:]]
    )
    parse(data)


def test_a_very_deep_document_is_refused_quickly() -> None:
    start = time.perf_counter()
    with pytest.raises(MalformedScenarioError, match="nested deeper than 64"):
        parse_scenario(b"[" * 1_000_000, "application/json")
    assert time.perf_counter() - start < 2


def test_a_byte_order_mark_is_dropped_and_media_type_parameters_ignored() -> None:
    raw = b"\xef\xbb\xbf" + body(scenario())
    assert parse_scenario(raw, "Application/JSON; charset=utf-8")[0].id == "shop"


def test_an_unknown_media_type_is_415() -> None:
    with pytest.raises(UnsupportedScenarioTypeError) as caught:
        parse_scenario(body(scenario()), "text/plain")
    assert caught.value.status == 415 and "application/json" in caught.value.message


# --- bounded time and memory ------------------------------------------------------------------


def big_scenario(n_tools: int, n_tasks: int) -> dict[str, Any]:
    return {
        "id": "big",
        "tools": [
            {
                "type": "function",
                "function": {"name": f"tool_{i}", "description": f"Tool {i}", "parameters": SCHEMA},
            }
            for i in range(n_tools)
        ],
        "tasks": [
            {
                "text": f"Request {i} about order {i * 7}",
                "solution": [f"tool_{(i * k) % n_tools}" for k in range(1, 4)],
                "intent": f"intent_{i % 40}",
            }
            for i in range(n_tasks)
        ],
    }


def test_a_large_file_reads_in_well_under_a_second_per_ten_thousand_tasks() -> None:
    raw = body(big_scenario(1000, 20_000))
    start = time.perf_counter()
    definition, _ = parse_scenario(raw, "application/json")
    assert time.perf_counter() - start < 4
    assert definition.counts()["heldout"] >= 4000


def test_a_file_full_of_unknown_names_stays_fast() -> None:
    data = big_scenario(2000, 5000)
    for i, task in enumerate(data["tasks"]):
        task["solution"] = [f"missing_{i}"]
    start = time.perf_counter()
    exc = refused(data)
    assert time.perf_counter() - start < 5
    assert exc.report.errors_omitted == 5000 - 100


def test_the_garbage_collector_is_back_on_after_a_parse_that_fails() -> None:
    assert gc.isenabled()
    with pytest.raises(InvalidScenarioError):
        parse_scenario(b"[]", "application/json")
    assert gc.isenabled()


def test_the_module_imports_without_numpy() -> None:
    code = (
        "import sys, agentgym.scenario.parse; assert 'numpy' not in sys.modules, 'numpy imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_format_imports_no_store_auth_or_bundle() -> None:
    # The format is pure: reading a file needs none of what keeps or guards the records.
    code = (
        "import sys, agentgym.scenario.parse, agentgym.scenario.chat_jsonl\n"
        "kept = ('agentgym.records', 'agentgym.store', 'agentgym.auth', 'agentgym.bundle')\n"
        "found = [name for name in kept if name in sys.modules]\n"
        "assert not found, found"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_jsonl_sent_as_json_is_400_and_says_it_looks_like_jsonl() -> None:
    lines = b'{"messages": []}\n{"messages": []}\n'
    with pytest.raises(MalformedScenarioError) as caught:
        parse_scenario(lines, "application/json")
    assert (caught.value.line, caught.value.column, caught.value.status) == (2, 1, 400)
    assert "application/x-ndjson" in caught.value.message


def test_few_held_out_tasks_and_an_intent_held_out_whole_are_warned_of() -> None:
    data = scenario()
    for task in data["tasks"]:
        task.pop("split", None)
    data["tasks"][0] |= {"intent": "lonely", "split": "heldout"}
    _, report = parse_scenario(body(data), "application/json")
    messages = [str(w) for w in report.warnings]
    assert any(small_heldout(m) and "add tasks" in m for m in messages)
    assert "tasks[0].intent: intent 'lonely': its only task is held out" in " ".join(messages)

    many = scenario()
    many["tasks"] = [
        {"text": f"where is order {i}", "solution": many["tasks"][0]["solution"], "intent": "track"}
        for i in range(200)
    ]
    _, report = parse_scenario(body(many), "application/json")
    assert not any(small_heldout(w) for w in report.warnings)  # 40 held out
