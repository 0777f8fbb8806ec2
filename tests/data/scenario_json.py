"""Scenario files as the generators here write them: one tool or task a line."""

from __future__ import annotations

import json


def dump(scenario: dict[str, object]) -> str:
    """JSON with one tool or task a line, as the built-in scenarios are kept."""
    head = {k: v for k, v in scenario.items() if k not in ("tools", "tasks")}
    lines = json.dumps(head, indent=1, ensure_ascii=False)[:-2].split("\n")
    for key in ("tools", "tasks"):
        listed = scenario[key]
        assert isinstance(listed, list)
        rows = [json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in listed]
        lines[-1] += ","
        lines += [f' "{key}": [', *(f"  {row}," for row in rows[:-1]), f"  {rows[-1]}", " ]"]
    return "\n".join(lines) + "\n}\n"
