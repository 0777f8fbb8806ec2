"""JSON read strictly and within bounds: what `json.loads` accepts that JSON does not (NaN,
Infinity, numbers too large for a float, duplicate keys) is refused, and so is nesting
deeper than a bound, checked before the parser recurses.

The checks run at C speed on the whole text; only when one fails is the text walked in
Python, once, to find the line and column to report.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

from agentgym.scenario.problems import MalformedScenarioError

_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'  # a JSON string, escapes included, without backtracking
_STRINGS = re.compile(_STRING)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_TOKENS = re.compile(rf"{_STRING}|[\[\]{{}}]")
_COLON = re.compile(r"\s*:")
_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}


class _Refused(Exception):
    """Raised inside json's callbacks, which know what but not where."""

    def __init__(
        self, msg: str, literal: str = "", closed: int = 0, key: str | None = None
    ) -> None:
        self.msg = msg
        self.literal = literal  # a number literal refused
        self.closed = closed  # objects completed before the one with a duplicate key
        self.key = key


def loads(text: str, *, max_depth: int = 64, first_line: int = 1) -> Any:
    """The value `text` holds. MalformedScenarioError with the line (counted from
    `first_line`, for a line of JSONL) and column of what is refused."""
    if max_nesting(text) > max_depth:
        line, column = _position(text, _too_deep(text, max_depth))
        raise MalformedScenarioError(
            f"nested deeper than {max_depth} levels (max_depth)", line + first_line - 1, column
        )
    closed = 0

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal closed
        obj = dict(items)
        if len(obj) != len(items):
            raise _Refused("", closed=closed, key=_first_duplicate(items))
        closed += 1
        return obj

    try:
        return json.loads(
            text, object_pairs_hook=pairs, parse_constant=_constant, parse_float=_float
        )
    except json.JSONDecodeError as exc:
        raise MalformedScenarioError(exc.msg, exc.lineno + first_line - 1, exc.colno) from None
    except _Refused as exc:
        if exc.key is not None:
            msg = f"duplicate key {exc.key!r}"
            offset = _duplicate_key(text, exc.closed, exc.key)
        else:
            msg, offset = exc.msg, _literal(text, exc.literal)
        if offset is None:
            raise MalformedScenarioError(msg, first_line) from None
        line, column = _position(text, offset)
        raise MalformedScenarioError(msg, line + first_line - 1, column) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4300 digits
        raise MalformedScenarioError(f"not readable JSON: {exc}", first_line) from None


def max_nesting(text: str) -> int:
    """How deeply objects and arrays nest in `text` (brackets inside strings do not count)."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    return max(accumulate(map(_DELTA.__getitem__, brackets)), default=0)


def _constant(literal: str) -> float:
    raise _Refused(f"{literal} is not a JSON number", literal)


def _float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _Refused(f"{literal} is too large for a number", literal)
    return value


def _first_duplicate(items: list[tuple[str, Any]]) -> str:
    seen: set[str] = set()
    for key, _ in items:
        if key in seen:
            return key
        seen.add(key)
    raise AssertionError("no duplicate")  # pragma: no cover


# --- where: only once something is refused ------------------------------------------------


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of `offset`."""
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def _brackets(text: str) -> Iterator[re.Match[str]]:
    """Brackets outside strings, and strings, in order."""
    return _TOKENS.finditer(text)


def _too_deep(text: str, max_depth: int) -> int:
    depth = 0
    for token in _brackets(text):
        delta = _DELTA.get(token.group(), 0)
        depth += delta
        if depth > max_depth:
            return token.start()
    return 0  # pragma: no cover: max_nesting said there is such a bracket


def _literal(text: str, literal: str) -> int | None:
    """Where `literal` first stands as a value, outside strings."""
    pattern = re.compile(rf"{_STRING}|(?<![\w.+-]){re.escape(literal)}(?![\w.+-])")
    for token in pattern.finditer(text):
        if not token.group().startswith('"'):
            return token.start()
    return None


def _duplicate_key(text: str, closed: int, key: str) -> int | None:
    """Where `key` repeats in the object that `closed` objects complete before (json builds
    objects as their `}` is read, so that is the (closed + 1)-th `}`)."""
    opened: list[int] = []
    count = 0
    for token in _brackets(text):
        char = token.group()
        if char in "[{":
            opened.append(token.start() if char == "{" else -1)
        elif char in "]}":
            start = opened.pop()
            if char == "}":
                count += 1
                if count == closed + 1:
                    return _second_key(text, start, token.end(), key)
    return None


def _second_key(text: str, start: int, end: int, key: str) -> int | None:
    depth = 0
    seen = False
    for token in _TOKENS.finditer(text, start, end):
        char = token.group()
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif depth == 1 and _COLON.match(text, token.end()) and json.loads(char) == key:
            if seen:
                return token.start()
            seen = True
    return None
