"""What `search_tools` serves: the model's ranking of every tool on offer for a request, and the
page of it an agent sees.

The model scores its shortlist of the tools (trainer/model/features.py: retrieved by words,
meaning and what it learned) with calibrated probabilities; the other tools follow by how well
their names and descriptions match the request. Sure of itself, the gateway serves the first
`limit`. Unsure (trainer/model/decision.py: out of scope, unfamiliar, or a prediction set of
more than one), it serves the prediction set first (the fewest tools that hold the right one
with the set's coverage) and the ranking after it, as many as fit `TOKEN_BUDGET` tokens of tool
definitions, and says so: never the whole toolbox by default. Either way `next_cursor` pages on.

With `explore` = epsilon, the first tool served is, with probability epsilon, one of the page's
drawn uniformly instead of the model's first (pages stay apart): the probability with which the
served first tool was put first is recorded with the decision (the model's own scores kept
apart), so that what agents then do with it can be learned from without bias. With a `guide`
(the first choice of the candidate a loop has on trial, agentgym.loops), half of that epsilon
serves the guide's choice instead: a candidate whose choices were served at least epsilon / 2
of the time where it differs can be tested on what followed (trainer/gate.py); drawn uniformly
from a long page, they would be served almost never.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from agentgym.act import ActAnswer, ToolOffered
from gateway.catalog import Catalog, definition, tokens
from trainer.model.decision import FINISH
from trainer.serving import Served
from trainer.text import terms_of

TOKEN_BUDGET = 2000  # the definitions an unsure answer may put in an agent's context, roughly
MAX_LIMIT = 50
DESCRIBED = 4000  # characters of a tool's description the model reads, at most


@dataclass(frozen=True)
class Ranking:
    order: list[str]  # every tool on offer, best first
    probabilities: dict[str, float]  # of the tools the model scored (the rest: 0)
    answer: ActAnswer


@dataclass(frozen=True)
class Page:
    served: list[str]
    next_cursor: str | None
    first_probability: float  # the serving policy's probability of putting served[0] first
    explored: bool


def rank(served: Served, catalog: Catalog, query: str) -> Ranking:
    offered: list[str | ToolOffered] = [
        ToolOffered.model_construct(
            name=name, description=(entry.tool.description or "")[:DESCRIBED]
        )
        for name, entry in catalog.entries.items()
    ]
    answer = served.act(query, (), offered, plan=False)  # the next tool is all it serves
    probabilities = {name: p for name, p in answer.probabilities.items() if name != FINISH}
    scored = sorted(probabilities, key=lambda name: -probabilities[name])
    model = served.model_for(offered)
    similarity = model.toolbox.similarity(terms_of(query))
    index = model.toolbox.index
    rest = sorted(
        (name for name in catalog.entries if name not in probabilities),
        key=lambda name: (-float(similarity[index[name]]), name),
    )
    return Ranking(scored + rest, probabilities, answer)


def page(
    ranking: Ranking,
    catalog: Catalog,
    limit: int,
    cursor: str | None,
    explore: float = 0.0,
    rng: random.Random | None = None,
    guide: str | None = None,
) -> Page:
    """The tools to serve from `cursor` (an offset into the ranking; None: the start), the
    first of them, exploring on the first page, `guide` half the time (a loop's candidate on
    trial: its own first choice)."""
    order = ranking.order
    answer = ranking.answer
    if answer.unsure:  # the prediction set first, then the ranking
        chosen = [name for name in answer.prediction_set if name != FINISH]
        order = chosen + [name for name in order if name not in chosen]
    start = int(cursor) if cursor else 0
    if answer.unsure:
        end, spent = start, 0
        while end < len(order):
            spent += tokens(definition(catalog.entries[order[end]]))
            if spent > TOKEN_BUDGET and end > start:
                break
            end += 1
    else:
        end = start + limit
    shown = order[start:end]
    served = shown
    explored = False
    first_probability = 1.0
    guided = guide is not None and explore > 0.0 and not start
    if (len(shown) > 1 or guided) and explore > 0.0:
        explored = (rng or random).random() < explore
        if explored:  # half the time the guide's choice, else one of the page's
            drawn = guide if guided and (rng or random).random() < 0.5 else None
            drawn = drawn or (rng or random).choice(shown)
            served = [drawn, *(name for name in shown if name != drawn)]  # one more, if new
        page_share = explore / 2 if guided else explore
        first_probability = (
            (1 - explore) * (served[0] == order[start])
            + page_share * (served[0] in shown) / len(shown)
            + (explore - page_share) * (served[0] == guide)
        )
    return Page(served, str(end) if end < len(order) else None, first_probability, explored)
