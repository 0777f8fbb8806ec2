"""Every upstream's tools under one set of names: a tool keeps its own name unless another
upstream has one by that name (or it is one of the gateway's own tools), and then it is
`<upstream>__<name>` (MCP allows letters, digits, `_`, `-` and `.`; some clients only the
first three, so `__` rather than a dot)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import mcp_types as types

SEPARATOR = "__"


@dataclass(frozen=True)
class Entry:
    name: str  # as the gateway shows it
    upstream: str  # the upstream's name
    tool: types.Tool  # exactly as the upstream listed it


@dataclass(frozen=True)
class Catalog:
    entries: dict[str, Entry]  # by the name the gateway shows
    digest: str  # of every tool's definition: which toolbox a decision was made over

    @classmethod
    def merge(
        cls, listed: Mapping[str, Mapping[str, types.Tool]], reserved: frozenset[str]
    ) -> Catalog:
        """`listed`: each upstream's tools by name; `reserved`: the gateway's own names."""
        counts = Counter(name for tools in listed.values() for name in tools)
        entries: dict[str, Entry] = {}
        for upstream, tools in listed.items():
            for name, tool in tools.items():
                shown = name
                if counts[name] > 1 or name in reserved:
                    shown = f"{upstream}{SEPARATOR}{name}"
                entries[shown] = Entry(shown, upstream, tool)
        definitions = sorted(
            (name, entry.tool.model_dump(mode="json", by_alias=True, exclude_none=True))
            for name, entry in entries.items()
        )
        digest = hashlib.sha256(json.dumps(definitions, sort_keys=True).encode()).hexdigest()
        return cls(entries, digest)


def definition(entry: Entry) -> dict[str, object]:
    """What `search_tools` answers of a tool: its name as the gateway shows it, and its
    description and inputSchema exactly as the upstream gave them."""
    return {
        "name": entry.name,
        "description": entry.tool.description or "",
        "inputSchema": entry.tool.input_schema,
    }


def tokens(shown: Mapping[str, object]) -> int:
    """What a tool's definition costs in a model's context, roughly: four characters a token
    (what OpenAI's and Anthropic's guidance use for English and JSON alike)."""
    return len(json.dumps(shown)) // 4 + 1
