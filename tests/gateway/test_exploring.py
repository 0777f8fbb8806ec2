"""The gateway's exploration (gateway/ranking.py's `page`): the probability it logs of the tool
it served first is the frequency with which it serves it, guided by a candidate on trial or
not, so that what agents did with it can be learned from without bias."""

from __future__ import annotations

import random
from collections import Counter

import mcp_types as types
import pytest

from agentgym.act import ActAnswer
from gateway import ranking
from gateway.catalog import Catalog

NAMES = [f"tool_{i}" for i in range(8)]
CATALOG = Catalog.merge({"up": {n: types.Tool(name=n, inputSchema={}) for n in NAMES}}, frozenset())
RANKED = ranking.Ranking(
    NAMES,
    {NAMES[0]: 0.9},
    ActAnswer(next=NAMES[0], probabilities={}, plan=[], confidence=0.9, in_scope=True),
)


@pytest.mark.parametrize("guide", [None, "tool_1", "tool_6"])  # none, on the page, off it
def test_the_logged_first_probability_is_how_often_that_tool_is_served_first(
    guide: str | None,
) -> None:
    rng = random.Random(0)
    draws = 40_000
    served: Counter[str] = Counter()
    logged: dict[str, set[float]] = {}
    for _ in range(draws):
        page = ranking.page(RANKED, CATALOG, 3, None, 0.2, rng, guide)
        served[page.served[0]] += 1
        logged.setdefault(page.served[0], set()).add(round(page.first_probability, 12))
        assert len(page.served) == 3 + (guide == "tool_6" and page.served[0] == guide)
    drawn = 0.2 if guide is None else 0.1  # of epsilon 0.2, what the page's draw has
    expected = {name: drawn / 3 for name in NAMES[:3]}  # the page: the model's first three
    expected["tool_0"] += 0.8
    if guide is not None:
        expected[guide] = expected.get(guide, 0.0) + 0.1
    assert set(served) == set(expected)
    for name, p in expected.items():
        assert logged[name] == {round(p, 12)}  # one probability per tool, the true one
        assert served[name] / draws == pytest.approx(p, abs=4 * (p / draws) ** 0.5)


def test_a_later_page_is_neither_explored_by_the_guide_nor_changed() -> None:
    page = ranking.page(RANKED, CATALOG, 3, "3", 1.0, random.Random(1), "tool_0")
    assert "tool_0" not in page.served and set(page.served) == set(NAMES[3:6])
