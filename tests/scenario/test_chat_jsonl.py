"""`agentgym.scenario.chat_jsonl`: OpenAI chat fine-tuning JSONL read as a scenario, one task a line,
with drifting tool definitions reconciled and every problem located by its line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentgym.scenario.parse import (
    InvalidScenarioError,
    Limits,
    MalformedScenarioError,
    ScenarioDefinition,
    parse_scenario,
)
from tests.scenario.test_parse import NO_LOGS

JSONL = "application/x-ndjson"


def small_heldout(warning: object) -> bool:
    """The warning that few tasks are held out: every small fixture here has it, and it is
    tested on its own (tests/scenario/test_parse.py)."""
    return "held-out tasks: an accuracy measured on them" in str(warning)


def tool(name: str, description: str = "", **extra: Any) -> dict[str, Any]:
    function = {"name": name, "description": description or f"The {name} tool"}
    return {"type": "function", "function": function, **extra}


TOOLS = [tool("lookup_order"), tool("refund"), tool("send_email")]


def call(*names: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "tool_calls": [
            {"id": f"c{i}", "type": "function", "function": {"name": n, "arguments": "{}"}}
            for i, n in enumerate(names)
        ],
    }


def line(
    text: str, *steps: list[str], tools: list[Any] | None = None, **extra: Any
) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": "Be helpful."}]
    messages.append({"role": "user", "content": text})
    for names in steps:
        messages += [call(*names), {"role": "tool", "tool_call_id": "c0", "content": "ok"}]
    messages.append({"role": "assistant", "content": "Done."})
    return {"messages": messages, "tools": TOOLS if tools is None else tools, **extra}


def lines(count: int = 10) -> list[dict[str, Any]]:
    return [
        line(f"Refund order {i}", ["lookup_order"], ["refund"])
        if i % 2
        else line(f"Email me about order {i}", ["lookup_order", "send_email"])
        for i in range(count)
    ]


def jsonl(items: list[Any]) -> bytes:
    return "\n".join(json.dumps(item) for item in items).encode()


def parse(items: list[Any], **kwargs: Any) -> tuple[ScenarioDefinition, list[str]]:
    definition, report = parse_scenario(jsonl(items), JSONL, scenario_id="chats", **kwargs)
    return definition, [str(w) for w in report.warnings if not small_heldout(w)]


def errors(raw: bytes, **kwargs: Any) -> list[str]:
    with pytest.raises(InvalidScenarioError) as caught:
        parse_scenario(raw, JSONL, scenario_id="chats", **kwargs)
    return [str(p) for p in caught.value.report.errors]


def test_each_line_is_a_task_of_the_users_text_and_the_assistants_calls() -> None:
    definition, warnings = parse(lines())
    assert warnings == []
    assert [t.name for t in definition.tools] == ["lookup_order", "refund", "send_email"]
    first, second = definition.tasks[:2]
    assert (first.id, first.text, first.solution) == (
        "task-00001",
        "Email me about order 0",
        ["lookup_order", "send_email"],  # parallel calls, in their listed order
    )
    assert second.solution == ["lookup_order", "refund"]  # one call a message, in order
    assert first.tools == ["lookup_order", "refund", "send_email"]
    assert first.intent is None
    assert definition.counts() == {"tools": 3, "tasks": 10, "train": 8, "heldout": 2, **NO_LOGS}


def test_text_parts_and_several_user_turns_are_joined_by_a_newline() -> None:
    item = line("ignored", ["refund"])
    item["messages"][1]["content"] = [
        {"type": "text", "text": "Refund order 7"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
    ]
    item["messages"].insert(3, {"role": "user", "content": "please, quickly"})
    definition, _ = parse([item, *lines()])
    assert definition.tasks[0].text == "Refund order 7\nplease, quickly"


def test_legacy_functions_and_function_call_are_read() -> None:
    legacy = {
        "messages": [
            {"role": "user", "content": "Refund order 99"},
            {"role": "assistant", "function_call": {"name": "refund", "arguments": "{}"}},
        ],
        "functions": [{"name": "refund", "description": "The refund tool"}],
    }
    definition, warnings = parse([legacy, *lines()])
    assert definition.tasks[0].solution == ["refund"] and definition.tasks[0].tools == ["refund"]
    assert (definition.tools[0].name, definition.tools[0].description) == (
        "refund",
        "The refund tool",  # the same tool in either shape: no drift
    )
    assert warnings == []


def test_ids_and_splits_on_a_line_are_kept_and_blank_lines_skipped() -> None:
    items = lines()
    items[0] = {**items[0], "id": "conv-a", "split": "heldout"}
    raw = b"\n\n" + jsonl(items).replace(b"\n", b"\n\r\n", 1) + b"\n\n"
    definition, _ = parse_scenario(raw, JSONL, scenario_id="chats", name="Chats")
    assert (definition.tasks[0].id, definition.tasks[0].split) == ("conv-a", "heldout")
    assert definition.tasks[1].id == "task-00002"
    assert definition.name == "Chats"


def test_a_line_without_tools_may_use_every_tool() -> None:
    bare = {"messages": line("Refund order 3", ["refund"])["messages"]}
    definition, _ = parse([bare, *lines()])
    assert definition.tasks[0].tools is None


def test_a_tool_described_differently_is_one_tool_the_most_common_wins() -> None:
    drifted = [tool("lookup_order", "Old words"), *TOOLS[1:]]
    items = lines(10)
    for number in (3, 7):
        items[number - 1] = {**items[number - 1], "tools": drifted}
    definition, warnings = parse(items)
    assert [t.name for t in definition.tools] == ["lookup_order", "refund", "send_email"]
    assert definition.tools[0].description == "The lookup_order tool"
    assert warnings == [
        "line 3: tools[0]: tool 'lookup_order' is described 2 ways: "
        "lines 1, 2, 4, 5, 6 and 3 more agree (kept); lines 3, 7 differ"
    ]


def test_on_a_tie_the_first_definition_seen_wins() -> None:
    items = lines(10)
    for number in range(1, 6):
        items[number] = {**items[number], "tools": [tool("lookup_order", "Other"), *TOOLS[1:]]}
    definition, warnings = parse(items[:10])
    # Lines 2-6 say "Other", lines 1 and 7-10 the first description: five each.
    assert definition.tools[0].description == "The lookup_order tool"
    assert warnings[0].startswith("line 2: tools[0]: tool 'lookup_order' is described 2 ways")


def test_the_tools_are_the_union_over_lines_in_order_seen() -> None:
    items = lines()
    items.append(line("Cancel it", ["cancel"], tools=[*TOOLS, tool("cancel")]))
    definition, _ = parse(items)
    assert [t.name for t in definition.tools][-1] == "cancel"
    assert definition.tasks[-1].tools == ["lookup_order", "refund", "send_email", "cancel"]


def test_a_jsonl_scenario_needs_the_callers_id() -> None:
    with pytest.raises(InvalidScenarioError) as caught:
        parse_scenario(jsonl(lines()), "application/jsonl")
    assert [str(p) for p in caught.value.report.errors] == [
        "id: a JSONL scenario has no header: the caller must give its id"
    ]


def test_a_line_that_is_not_json_is_400_with_its_line_and_column() -> None:
    raw = jsonl(lines(3)) + b'\n{"messages": [}\n'
    with pytest.raises(MalformedScenarioError) as caught:
        parse_scenario(raw, JSONL, scenario_id="chats")
    assert (caught.value.line, caught.value.column, caught.value.status) == (4, 15, 400)


def test_duplicate_keys_and_nan_on_a_line_are_refused_with_its_line() -> None:
    for bad in (b'{"messages": [], "messages": []}', b'{"messages": [NaN]}'):
        with pytest.raises(MalformedScenarioError) as caught:
            parse_scenario(jsonl(lines(2)) + b"\n" + bad, JSONL, scenario_id="chats")
        assert caught.value.line == 3


PROBLEMS = [
    pytest.param(
        line("Refund order 1", ["lookup_order"], ["refnd"]),
        "line 11: messages[4].tool_calls[0].function.name: unknown tool 'refnd' (did you mean 'refund'?)",
        id="unknown-tool",
    ),
    pytest.param(
        line("Refund order 1", ["refund"], tools=[TOOLS[0]]),
        "line 11: messages[2].tool_calls[0].function.name: 'refund' is not among this task's tools: add it to line 11: tools",
        id="tool-not-on-the-line",
    ),
    pytest.param(
        {"messages": [{"role": "assistant", "content": "hi"}], "tools": TOOLS},
        "line 11: messages: no user message with text: the task is what the user asks",
        id="no-user-text",
    ),
    pytest.param(
        ["not", "an", "object"],
        "line 11: should be a JSON object with messages and tools",
        id="not-object",
    ),
    pytest.param(
        {"tools": TOOLS}, "line 11: messages: should be a list of chat messages", id="no-messages"
    ),
    pytest.param(
        {**line("Refund order 1", ["refund"]), "split": "test"},
        "line 11: split: should be 'train' or 'heldout', not 'test'",
        id="split",
    ),
    pytest.param(
        {**line("Refund order 1", ["refund"]), "id": "t 1"},
        "line 11: id: should be 1-128 letters, digits, '_', '-', '.' or ':', not 't 1'",
        id="task-id",
    ),
    pytest.param(
        line("Refund order 1", ["refund"], tools=[*TOOLS, tool("bad name")]),
        "line 11: tools[3].function.name: should be 1-64 letters, digits, '_', '-' or '.', not 'bad name'",
        id="tool-name",
    ),
    pytest.param(
        line("Refund order 1", ["refund"], tools=[*TOOLS, {"type": "function", "function": {}}]),
        "line 11: tools[3].function.name: is required",
        id="nameless-tool",
    ),
    pytest.param(
        {**line("Refund order 1", ["refund"]), "id": "task-00003"},
        "line 11: id: duplicate task id 'task-00003' (also line 3)",
        id="duplicate-id",
    ),
]


@pytest.mark.parametrize(("bad", "expected"), PROBLEMS)
def test_each_problem_is_located_by_its_line(bad: Any, expected: str) -> None:
    assert expected in errors(jsonl([*lines(10), bad]))


def test_an_unknown_key_on_a_line_is_a_warning() -> None:
    _, warnings = parse([{**lines(1)[0], "metadata": {"source": "x"}}, *lines()[1:]])
    assert warnings == ["line 1: metadata: ignored (a line has messages, tools, id and split)"]


def test_too_many_lines_is_refused_before_reading_them() -> None:
    raw = jsonl(lines(10)) + b"\n{not json at all"
    assert errors(raw, limits=Limits(max_tasks=10)) == [
        "11 tasks (lines); the limit is 10 (max_tasks)"
    ]


def test_too_many_tools_over_the_lines_is_refused() -> None:
    items = [line(f"Call {i}", [f"t{i}"], tools=[tool(f"t{i}")]) for i in range(6)]
    assert errors(jsonl(items), limits=Limits(max_tools=5)) == [
        "6 tools; the limit is 5 (max_tools)"
    ]


def test_a_jsonl_scenario_downloads_as_a_file_that_reads_back_the_same() -> None:
    definition, _ = parse(lines())
    again, _ = parse_scenario(definition.dump(), "application/json")
    assert again == definition
