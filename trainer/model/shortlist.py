"""Which of many tools a decision scores: a shortlist (trainer/model/features.py reads it).

In order: the tools `must` (training's right ones, as a retriever's training adds the
positives; never when acting), up to half of it the tools the policy learned to call first for
such words (`first_scores`, among the `learned_pool` that match best: scoring every one of a
thousand tools was most of a new request's cost, and a tool training called for such words
matches them by the words of the requests it was called for), then the tools that match the
request best (by description, by the training requests that called each, by meaning), and the
fallbacks of those.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trainer.model.config import Config
from trainer.model.toolbox import Array, Keys, Rows, Table, Toolbox, combine, policy_rows


def shortlist(
    config: Config,
    toolbox: Toolbox,
    offered: Rows,
    match: Array,
    text_keys: Keys,
    w_pi: Table | None,
    must: Sequence[int],
) -> Rows:
    """The tools of `offered` (each matching the request by `match`) a decision scores, in
    the scenario's order."""
    size, learnt = max(config.shortlist, len(must)), config.shortlist // 2
    # Only the first `size` distinct picks count: of the best matches, `size` more than the
    # picks before them (must, learned) could repeat.
    ranked = [offered[_best(match, size + len(must) + learnt)]]
    if w_pi is not None:
        pool = offered[_best(match, config.learned_pool)]
        learned = first_scores(toolbox, pool, text_keys, w_pi)
        top = _best(learned, learnt)
        ranked.insert(0, pool[top[learned[top] > 0]])
    picked = list(dict.fromkeys([*map(int, must), *map(int, np.concatenate(ranked))]))
    best = np.array(picked[:size], dtype=np.intp)
    fallbacks = toolbox.fallback[best]
    fallbacks = fallbacks[fallbacks >= 0]
    if len(fallbacks):
        best = np.append(best, np.intersect1d(fallbacks, offered))
    return np.unique(best)


def first_scores(toolbox: Toolbox, tools: Rows, text_keys: Keys, w_pi: Table) -> Array:
    """Each of `tools`' score by the request's words before any call, as the policy learned
    it (the text block of a decision's first step): what retrieves a tool whose description
    says little, from what training called it for."""
    rows = policy_rows(combine(toolbox.action_keys[tools][:, None], combine(text_keys, 0)[None, :]))
    scores: Array = w_pi[rows].sum(axis=1, dtype=np.float64) * toolbox.familiarity[tools]
    return scores


def _best(scores: Array, k: int) -> Rows:
    """The indices of the `k` highest scores, best first (ties in order): a stable argsort's
    first `k`, without sorting them all."""
    chosen = np.arange(len(scores))
    if 0 < k < len(scores):
        chosen = np.flatnonzero(scores >= np.partition(scores, -k)[-k])
    return chosen[np.argsort(-scores[chosen], kind="stable")][:k]
