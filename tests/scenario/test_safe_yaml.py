"""`agentgym.scenario.safe_yaml`: YAML read as plain data, with tags, bombs, depth, duplicate keys and
non-numbers refused, each with its line and column."""

from __future__ import annotations

import json
import time
import tracemalloc
from typing import Any

import pytest
import yaml

from agentgym.scenario.parse import Limits, MalformedScenarioError, parse_scenario
from agentgym.scenario.safe_yaml import load

from .test_parse import scenario

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def refusal(text: str, limits: Limits | None = None) -> MalformedScenarioError:
    with pytest.raises(MalformedScenarioError) as caught:
        load(text, limits or Limits())
    return caught.value


def test_plain_data_reads_as_json_would_have_it() -> None:
    text = """
    n: 3
    x: 2.5
    yes_: true
    none: null
    quoted: "3"
    date: 2024-06-01
    hex: 0x10
    list: [a, 'b', {c: d}]
    block: |
      two
      lines
    """
    assert load(text.replace("\n    ", "\n")) == {
        "n": 3,
        "x": 2.5,
        "yes_": True,
        "none": None,
        "quoted": "3",
        "date": "2024-06-01",
        "hex": 16,
        "list": ["a", "b", {"c": "d"}],
        "block": "two\nlines\n",
    }


def test_keys_are_text_whatever_they_look_like() -> None:
    assert load("1: a\ntrue: b\nnull: c") == {"1": "a", "true": "b", "null": "c"}


def test_an_empty_document_is_none() -> None:
    assert load("") is None
    assert load("# only a comment\n") is None


REFUSED = [
    pytest.param("a: !!python/object:os.system x", 1, 4, "tags are not allowed", id="python-tag"),
    pytest.param(
        "a: !!str 3", 1, 4, "tags are not allowed (found 'tag:yaml.org,2002:str')", id="str-tag"
    ),
    pytest.param("a: !custom {b: 1}", 1, 4, "tags are not allowed", id="local-tag-on-mapping"),
    pytest.param("a: !!seq [1]", 1, 4, "tags are not allowed", id="tag-on-sequence"),
    pytest.param("a: ! x", 1, 4, "tags are not allowed", id="non-specific-tag"),
    pytest.param("a: 1\nb: 2\na: 3", 3, 1, "duplicate key 'a'", id="duplicate-key"),
    pytest.param(
        "base: &b {x: 1}\nother:\n  <<: *b",
        3,
        3,
        "merge keys (<<) are not supported",
        id="merge-key",
    ),
    pytest.param("x: .nan", 1, 4, ".nan is not a number JSON can hold", id="nan"),
    pytest.param("x: -.inf", 1, 4, "-.inf is not a number JSON can hold", id="infinity"),
    pytest.param(
        "a: &x [1, *x]",
        1,
        11,
        "alias *x is inside its own anchor (a recursive structure)",
        id="recursive",
    ),
    pytest.param(
        "a: *nowhere", 1, 4, "alias *nowhere names no anchor before it", id="undefined-alias"
    ),
    pytest.param("a: &x 1\nb: &x 2", 2, 4, "anchor &x is defined twice", id="anchor-twice"),
    pytest.param(
        "--- {a: 1}\n--- {b: 2}", 2, 1, "one YAML document, not several", id="two-documents"
    ),
    pytest.param("? [a, b]\n: 1", 1, 8, "a mapping key must be text", id="list-key"),
    pytest.param("a: [1, 2\nb: 3", 2, 2, "did not find expected ',' or ']'", id="syntax"),
    pytest.param("a: " + "9" * 5000, 1, 4, "not a readable number", id="huge-integer"),
]


@pytest.mark.parametrize(("text", "line", "column", "msg"), REFUSED)
def test_what_plain_data_does_not_need_is_refused_with_its_place(
    text: str, line: int, column: int, msg: str
) -> None:
    exc = refusal(text)
    assert (exc.line, exc.column, exc.status) == (line, column, 400)
    assert msg in exc.message


def test_billion_laughs_is_refused_at_once_with_little_memory() -> None:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        exc = refusal(BILLION_LAUGHS)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "aliases expand to more than 100000 nodes (max_alias_nodes)" in exc.message
    assert exc.line is not None and exc.line <= 7
    assert elapsed < 0.5 and peak < 5_000_000


def test_aliases_within_bounds_share_their_anchors_value() -> None:
    data = load("a: &x [1, 2]\nb: *x\nc: *x")
    assert data == {"a": [1, 2], "b": [1, 2], "c": [1, 2]}
    assert data["b"] is data["a"]  # not copied: memory grows with the text only


def test_alias_uses_are_counted() -> None:
    text = "a: &x 1\nb: [" + ", ".join(["*x"] * 5) + "]"
    assert load(text, Limits(max_aliases=5))["b"] == [1] * 5
    assert "more than 4 aliases (max_aliases)" in refusal(text, Limits(max_aliases=4)).message


def test_nodes_added_by_aliases_are_counted() -> None:
    text = "a: &x [1, 2, 3]\nb: [*x, *x]"  # each alias adds the list and its three items
    assert load(text, Limits(max_alias_nodes=8))["b"] == [[1, 2, 3]] * 2
    assert "(max_alias_nodes)" in refusal(text, Limits(max_alias_nodes=7)).message


def test_nesting_is_bounded_aliases_included() -> None:
    assert load("[" * 64 + "]" * 64, Limits()) is not None
    exc = refusal("[" * 65 + "]" * 65)
    assert (exc.line, exc.column) == (1, 65) and "(max_depth)" in exc.message
    deep = "a: &x " + "[" * 3 + "]" * 3 + "\nb: [[*x]]"  # three levels under three
    assert load(deep, Limits(max_depth=6))["b"] == [[[[[]]]]]
    assert "(max_depth)" in refusal(deep, Limits(max_depth=5)).message


def test_a_deep_yaml_file_is_refused_quickly() -> None:
    start = time.perf_counter()
    refusal("[" * 1_000_000)
    assert time.perf_counter() - start < 1


def test_a_scenario_reads_the_same_from_yaml_and_json() -> None:
    data: dict[str, Any] = scenario()
    as_yaml = yaml.safe_dump(data).encode()
    from_yaml, _ = parse_scenario(as_yaml, "application/x-yaml")
    from_json, _ = parse_scenario(json.dumps(data).encode(), "application/json")
    assert from_yaml == from_json
    assert parse_scenario(as_yaml, "text/yaml")[0].version == from_json.version


def test_a_yaml_scenario_refused_names_its_line() -> None:
    with pytest.raises(MalformedScenarioError) as caught:
        parse_scenario(b"id: shop\ntools: !!python/name:os.system\n", "application/yaml")
    assert caught.value.message.startswith("line 2, column 8: tags are not allowed")
