"""A decision over many tools scores a shortlist: training's right tools, what the policy
learned to call for such words, and what matches the request by description and by the
requests that called each tool in training."""

from __future__ import annotations

import dataclasses

import numpy as np

from agentgym.bundle import MAX_TERM, BundleTool
from agentgym.weights import FEATURES
from trainer.model.config import Config
from trainer.model.features import build_context
from trainer.model.shortlist import first_scores
from trainer.model.term_index import TermIndex
from trainer.model.toolbox import Toolbox, combine, keys, policy_rows, usage_terms
from trainer.scenarios.base import TaskSpec
from trainer.text import request_features, terms_of

N = 100
TOOLS = tuple(f"tool_{i}" for i in range(N))
DESCRIPTIONS = {tool: f"Handles case number {i} of the archive." for i, tool in enumerate(TOOLS)}
CONFIG = dataclasses.replace(Config(), shortlist=8)


def test_a_training_request_is_not_its_own_neighbour() -> None:
    index = TermIndex([{"parcel": 2, "lost": 1}, {"invoice": 1}])
    assert index.similarity(["parcel", "lost"])[0] > 0.9
    # Taken out of the usage it is part of, "lost" is gone and "parcel" counts once.
    alone = TermIndex([{"parcel": 1}, {"invoice": 1}])
    assert np.isclose(
        index.similarity_without(0, ["parcel", "lost"]),
        # The same cosine, over the idf the full index keeps.
        index.idf["parcel"] ** 2
        / (index.idf["parcel"] * np.hypot(index.idf["parcel"], index.idf["lost"])),
    )
    assert alone.similarity_without(1, ["invoice"]) == 0.0  # its only request: no neighbour


def test_the_shortlist_holds_the_right_tools_and_what_usage_and_learning_found() -> None:
    text = "my parcel went missing in transit"
    toolbox = Toolbox(TOOLS, DESCRIPTIONS, usage_terms={"tool_41": {"parcel": 3, "miss": 2}})
    context = build_context(CONFIG, toolbox, text, range(N), must=(77,))
    assert 77 in context.candidates  # training scores its right tool whatever the match
    assert 41 in context.candidates  # the requests that called it say what this one says
    assert len(context.candidates) == CONFIG.shortlist

    # A tool the policy learned to call first for these words is on it too.
    w_pi = np.zeros(FEATURES, dtype=np.float32)
    text_keys = np.append(keys(request_features(text)), np.uint64(context.text_keys[-1]))
    w_pi[policy_rows(combine(toolbox.action_keys[13], combine(text_keys, 0)))] = 1.0
    assert first_scores(toolbox, np.arange(N), text_keys, w_pi).argmax() == 13
    learned = build_context(CONFIG, toolbox, text, range(N), w_pi=w_pi)
    assert 13 in learned.candidates and 77 not in learned.candidates
    # ... looked for among the best matches only (all alike here: the first in order).
    pooled = dataclasses.replace(CONFIG, learned_pool=10)
    assert 13 not in build_context(pooled, toolbox, text, range(N), w_pi=w_pi).candidates


def test_a_bundle_keeps_the_usage_terms_it_can_hold() -> None:
    token = "ab1" * 40  # a hash or a token pasted into a request: no term a bundle keeps
    tasks = [
        TaskSpec("t1", f"refund order 1182 {token}", ("refund",), "refund"),
        TaskSpec("t2", "refund my last order please", ("refund",), "refund"),
    ]
    terms = usage_terms(tasks, 64)["refund"]
    assert terms[terms_of("refund")[0]] == 2 and terms[terms_of("order")[0]] == 2
    assert all(len(term) <= MAX_TERM for term in terms)
    BundleTool(name="refund", terms=terms)  # valid as a manifest holds it
