"""OpenAI chat fine-tuning JSONL read as a scenario: one task a line.

A line is `{"messages": [...], "tools": [...]}` (or legacy `"functions"`), with optional
`id` and `split`. Its task's text is what the user says (every user turn, joined with a
newline; only the text parts of a list of content parts); its solution is the names of the
tools the assistant calls, in order (each message's `tool_calls` in their listed order, or
legacy `function_call`); its tools are the line's. The scenario's tools are every line's.

Real logs drift: when lines describe one tool name differently it is still one tool, the
definition most lines give wins (on a tie, the first seen), and a warning names the lines
that differ. The file has no header: the caller gives the scenario's id and name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentgym.scenario import safe_json
from agentgym.scenario.limits import Limits
from agentgym.scenario.problems import Collector, InvalidScenarioError, Loc, Problem, Report
from agentgym.scenario.tool_shapes import read_tool

LINE_KEYS = frozenset({"messages", "tools", "functions", "parallel_tool_calls", "id", "split"})
LINES_NAMED = 5  # lines a drift warning lists before "and N more"


@dataclass(slots=True)
class _Variant:
    """One way a tool is described, and the lines that describe it so."""

    fields: dict[str, Any]
    entry: Any  # the entry as written, which the scenario keeps if this variant wins
    origin: Loc  # ("line", n, "tools", k) of its first appearance
    count: int = 0
    lines: list[int] = field(default_factory=list)  # the first LINES_NAMED

    def seen(self, line: int) -> None:
        self.count += 1
        if len(self.lines) < LINES_NAMED:
            self.lines.append(line)


@dataclass(slots=True)
class _Task:
    line: int
    steps: list[Loc]  # where each solution step is in the line
    tools: list[Loc]  # where each of the task's tools is in the line


@dataclass(slots=True)
class _LineTools:
    """What a line's tools amount to, kept to skip the work for the next line when its tools
    are the same (as they are in most logs)."""

    raw: tuple[Any, Any]
    names: list[str] | None
    origins: list[Loc]
    variants: list[_Variant]


@dataclass
class _ChatReader:
    limits: Limits
    out: Collector
    variants: dict[str, list[_Variant]] = field(default_factory=dict)  # name -> in order seen
    nameless: list[tuple[Any, Loc]] = field(default_factory=list)  # entries without a name
    tasks: list[dict[str, Any]] = field(default_factory=list)
    origins: list[_Task] = field(default_factory=list)
    last: _LineTools | None = None

    def line(self, number: int, obj: object) -> None:
        at: Loc = ("line", number)
        if not isinstance(obj, dict):
            self.out.error(at, "should be a JSON object with messages and tools")
            return
        for key in [k for k in obj if k not in LINE_KEYS]:
            self.out.warn((*at, key), "ignored (a line has messages, tools, id and split)")
        tools = self._tools(number, obj)
        messages = obj.get("messages")
        if not isinstance(messages, list):
            self.out.error((*at, "messages"), "should be a list of chat messages")
            return
        texts, solution, steps = self._messages(at, messages)
        if not texts:
            self.out.error(
                (*at, "messages"), "no user message with text: the task is what the user asks"
            )
            return
        task: dict[str, Any] = {"text": "\n".join(texts), "solution": solution}
        if tools.names is not None:
            task["tools"] = tools.names
        task.update({key: obj[key] for key in ("id", "split") if key in obj})
        self.tasks.append(task)
        self.origins.append(_Task(number, steps, tools.origins))

    def _tools(self, number: int, obj: dict[str, Any]) -> _LineTools:
        raw = (obj.get("tools"), obj.get("functions"))
        if self.last is not None and self.last.raw == raw:  # the same tools as the line before
            for variant in self.last.variants:
                variant.seen(number)
            return self.last
        names: list[str] | None = None
        origins: list[Loc] = []
        used: list[_Variant] = []
        for key, entries in zip(("tools", "functions"), raw, strict=True):
            if entries is None:
                continue
            if not isinstance(entries, list):
                self.out.error(("line", number, key), "should be a list of tools")
                continue
            names = [] if names is None else names
            for k, entry in enumerate(entries):
                tool = read_tool(entry)
                name = (tool.fields or {}).get("name")
                if not isinstance(name, str):  # the scenario reports it, at its place here
                    self.nameless.append((entry, ("line", number, key, k)))
                elif name not in names:
                    names.append(name)
                    origins.append((key, k, *tool.path("name")))
                    used.append(
                        self._variant(name, tool.fields or {}, entry, ("line", number, key, k))
                    )
        for variant in used:
            variant.seen(number)
        self.last = _LineTools(raw, names, origins, used)
        return self.last

    def _variant(self, name: str, fields: dict[str, Any], entry: Any, origin: Loc) -> _Variant:
        variants = self.variants.setdefault(name, [])
        for variant in variants:
            if variant.fields == fields:
                return variant
        variants.append(_Variant(fields, entry, origin))
        return variants[-1]

    def _messages(self, at: Loc, messages: list[Any]) -> tuple[list[str], list[str], list[Loc]]:
        texts: list[str] = []
        solution: list[str] = []
        steps: list[Loc] = []
        for m, message in enumerate(messages):
            if not isinstance(message, dict):
                self.out.error((*at, "messages", m), "should be an object with a role")
                continue
            role = message.get("role")
            if role == "user":
                text = _text(message.get("content"))
                if text:
                    texts.append(text)
            elif role == "assistant":
                for step, name in _calls(message):
                    loc: Loc = ("messages", m, *step)
                    if isinstance(name, str):
                        solution.append(name)
                        steps.append(loc)
                    else:
                        self.out.error((*at, *loc), "should be the name of a tool")
        return texts, solution, steps

    def scenario(self) -> tuple[dict[str, Any], list[Loc]]:
        """The scenario file the lines amount to, and where each of its tools was."""
        tools: list[Any] = []
        where: list[Loc] = []
        for name, variants in self.variants.items():
            kept = max(variants, key=lambda v: v.count)  # the first of the most common
            tools.append(kept.entry)
            where.append(kept.origin)
            if len(variants) > 1:
                self._drift(name, kept, variants)
        for entry, origin in self.nameless:
            tools.append(entry)
            where.append(origin)
        return {"tools": tools, "tasks": self.tasks}, where

    def _drift(self, name: str, kept: _Variant, variants: list[_Variant]) -> None:
        others = "; ".join(f"{_lines(v)} differ" for v in variants if v is not kept)
        msg = f"tool {name!r} is described {len(variants)} ways: {_lines(kept)} agree (kept); {others}"
        self.out.warn(next(v for v in variants if v is not kept).origin, msg)


def _text(content: object) -> str:
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        return "\n".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    return ""


def _calls(message: dict[str, Any]) -> list[tuple[Loc, object]]:
    """(where in the message, tool name) of each call, in order."""
    calls: list[tuple[Loc, object]] = []
    tool_calls = message.get("tool_calls")
    if isinstance(tool_calls, list):
        for c, call in enumerate(tool_calls):
            function = call.get("function") if isinstance(call, dict) else None
            name = function.get("name") if isinstance(function, dict) else None
            calls.append((("tool_calls", c, "function", "name"), name))
    function_call = message.get("function_call")
    if isinstance(function_call, dict):
        calls.append((("function_call", "name"), function_call.get("name")))
    return calls


def _lines(variant: _Variant) -> str:
    shown = ", ".join(map(str, variant.lines))
    more = variant.count - len(variant.lines)
    word = "line" if variant.count == 1 else "lines"
    return f"{word} {shown}" + (f" and {more} more" if more else "")


def read_jsonl(
    text: str, limits: Limits, out: Collector
) -> tuple[dict[str, Any], Callable[[Loc], Loc]]:
    """The scenario (as a file's dict) that the JSONL `text` holds, and the function that
    turns a location in it into one in the JSONL. MalformedScenarioError for a line that is
    not JSON; InvalidScenarioError at once for more lines or tools than the Limits allow."""
    lines = text.split("\n")
    count = sum(1 for line in lines if line.strip())
    if count > limits.max_tasks:
        _refuse(f"{count} tasks (lines); the limit is {limits.max_tasks} (max_tasks)")
    reader = _ChatReader(limits, out)
    for number, line in enumerate(lines, 1):
        if line.strip():
            reader.line(
                number, safe_json.loads(line, max_depth=limits.max_depth, first_line=number)
            )
    data, tool_origins = reader.scenario()
    if len(data["tools"]) > limits.max_tools:
        _refuse(f"{len(data['tools'])} tools; the limit is {limits.max_tools} (max_tools)")
    return data, _locator(reader.origins, tool_origins)


def _refuse(msg: str) -> None:
    raise InvalidScenarioError(Report(errors=[Problem((), "", msg)]))


def _locator(tasks: list[_Task], tools: list[Loc]) -> Callable[[Loc], Loc]:
    def locate(loc: Loc) -> Loc:
        if len(loc) < 2 or loc[0] not in ("tasks", "tools") or not isinstance(loc[1], int):
            return () if loc in (("tasks",), ("tools",)) else loc
        if loc[0] == "tools":
            return (*tools[loc[1]], *loc[2:])
        task = tasks[loc[1]]
        at: Loc = ("line", task.line)
        rest = loc[2:]
        if len(rest) >= 2 and rest[0] in ("solution", "tools") and isinstance(rest[1], int):
            places = task.steps if rest[0] == "solution" else task.tools
            return (*at, *places[rest[1]], *rest[2:])
        if rest[:1] in (("solution",), ("text",)):
            return (*at, "messages")
        return (*at, *rest)

    return locate
