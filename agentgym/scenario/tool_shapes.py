"""A tool as users paste it, in any of three shapes, read into the one shape we keep.

- OpenAI: `{"type": "function", "function": {"name", "description", "parameters"}}`
- MCP `tools/list`: `{"name", "description", "inputSchema"}`
- plain (and normalized): `{"name", "description", "parameters"}`

Each may also carry `failure_rate` and `fallback` (for OpenAI, beside `"function"`). Reading
only moves fields: their types and values are checked afterwards, against Tool, and
`paths` says where each field was so a problem names the place in the file as sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentgym.scenario.problems import Loc

FIELDS = ("name", "description", "parameters", "failure_rate", "fallback")
OURS = ("failure_rate", "fallback")
# Keys of the pasted shapes that say nothing we keep: read without a word.
_OPENAI_IGNORED = frozenset({"strict"})
_MCP_IGNORED = frozenset({"title", "outputSchema", "annotations", "icons", "_meta"})
KNOWN_KEYS = frozenset(
    {*FIELDS, "type", "function", "inputSchema", *_OPENAI_IGNORED, *_MCP_IGNORED}
)


@dataclass(slots=True)
class ToolEntry:
    """One entry of `tools`, read. `fields` is None when the entry is not an object at all."""

    fields: dict[str, Any] | None
    paths: dict[str, Loc] = field(default_factory=dict)  # field -> where it is in the entry
    shape: str = "plain"
    problems: list[tuple[Loc, str]] = field(default_factory=list)  # errors, inside the entry
    unknown: list[Loc] = field(default_factory=list)  # keys not read (the caller decides)

    def path(self, name: str) -> Loc:
        """Where field `name` is in the entry, or would be (a missing one is reported there)."""
        if name in self.paths:
            return self.paths[name]
        if self.shape == "openai" and name not in OURS:
            return ("function", name)
        return ("inputSchema",) if self.shape == "mcp" and name == "parameters" else (name,)


def read_tool(entry: object) -> ToolEntry:
    if not isinstance(entry, dict):
        return ToolEntry(None)
    if "function" in entry or entry.get("type") == "function":
        return _openai(entry)
    if "inputSchema" in entry:
        return _take(entry, "mcp", {"parameters": "inputSchema"}, _MCP_IGNORED)
    return _take(entry, "plain", {}, frozenset())


def _openai(entry: dict[str, Any]) -> ToolEntry:
    tool = ToolEntry({}, shape="openai")
    if entry.get("type", "function") != "function":
        tool.problems.append((("type",), 'should be "function" in an OpenAI tool'))
    function = entry.get("function")
    if not isinstance(function, dict):
        tool.problems.append((("function",), "should be an object with name and description"))
        function = {}
    inner = _take(
        function, "openai", {}, _OPENAI_IGNORED, keep=("name", "description", "parameters")
    )
    outer = _take(entry, "openai", {}, frozenset({"type", "function"}), keep=OURS)
    tool.fields = {**(inner.fields or {}), **(outer.fields or {})}
    tool.paths = {**{k: ("function", *p) for k, p in inner.paths.items()}, **outer.paths}
    tool.unknown = [("function", *p) for p in inner.unknown] + outer.unknown
    return tool


def _take(
    entry: dict[str, Any],
    shape: str,
    renamed: dict[str, str],
    ignored: frozenset[str],
    keep: tuple[str, ...] = FIELDS,
) -> ToolEntry:
    """The `keep` fields of `entry` (each found under `renamed[field]`, or its own name)."""
    fields: dict[str, Any] = {}
    paths: dict[str, Loc] = {}
    unknown: list[Loc] = []
    wanted = {renamed.get(name, name): name for name in keep}
    for key, value in entry.items():
        name = wanted.get(key)
        if name is not None:
            fields[name] = value
            paths[name] = (key,)
        elif key not in ignored:
            unknown.append((key,))
    return ToolEntry(fields, paths, shape, unknown=unknown)
