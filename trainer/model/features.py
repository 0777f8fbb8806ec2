"""What the policy reads, as rows of hashed tables: the request, the tools on offer (by name,
description and meaning) and the calls made so far, in order and with counts.

Pure and deterministic (the keys and rows are trainer/model/toolbox.py's). Per action on offer
(the tools scored, then "finish"):

- text: the request's stemmed words and word pairs, and a bias, crossed with the action and its
  phase: for a tool, how many times it was called successfully so far (0 to max_count); for
  finish, how many calls succeeded (0 to max_progress); and again crossed with the action and
  the last call ("after the order's details, its product's"). A tool's words (and its meaning,
  below) count by how many training tasks call it (`Toolbox.familiarity`).
- counts: each tool's calls so far against how many of each thing the request counts (a shape
  such as an order number's, a recurring word, a number it says): fewer, as many, more. This
  is what says "three orders: look one up again after two lookups", whatever counts training
  saw.
- description: each request term crossed with each term of the tool's name and description, and
  whether the tool was called yet: shared by every tool whose description has that term, so a
  tool training seldom saw is still scored by what its description says (the more so, the
  fewer tasks called it: `description_boost`; and less after the first call:
  `description_later`).
- history: the last call (tool and outcome), the calls made so far as a multiset, each tool
  called wrongly since the last success, and whether any call was a mistake, each crossed with
  the action.
- shared: what is true of this tool now, the same rows for every tool: how often it was called,
  whether it was the last call, just failed, is the failed tool's fallback, was called wrongly;
  how its description matches the request (TF-IDF rank and cosine, and the sentence encoder's
  cosine) and how the training requests that called it do (`Toolbox.used`), as buckets and as
  numbers, each joined with the progress.
- meaning: the request's sentence embedding times a row of a table of its own per action,
  phase and last call, a linear policy over what the request means at each point of a flow
  (what a request means says "refund" after the payment was checked, not which tool starts).

Each family's rows are scaled by its weight over the square root of its count, so that an
optimizer step moves a score about as far whatever the request's length.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from trainer.model.config import Config
from trainer.model.shortlist import shortlist
from trainer.model.step import Step
from trainer.model.toolbox import (
    FINISH_KEY,
    SLOT_SHIFT,
    Array,
    Keys,
    Rows,
    Table,
    Toolbox,
    combine,
    key,
    keys,
    policy_rows,
    value_rows,
)
from trainer.text import counted, request_features, terms_of

__all__ = ["Array", "Keys", "Rows", "Step", "Toolbox"]

OK, FAILED, WRONG = 0, 1, 2  # a call's outcome as the policy reads it
SIMILARITY_BUCKETS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6)  # lower bounds of TF-IDF cosines
MEANING_BUCKETS = (-1.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)  # ... of sentence-embedding cosines
RANK_BUCKETS = 4  # rank 0, 1, 2, 3 or more

_FINISH = FINISH_KEY
_BIAS = key("bias")
_START = key("last:start")
_MISTAKEN = key("mistaken")
_FRESH, _AGAIN = key("description:fresh"), key("description:again")
_NOTHING = key("calls:none")
_AFTER = 1 << 20  # the text's phases from here on say which tool was called last
# What the shared rows read of a tool, whichever tool it is.
_RANK_KEYS = keys([f"rank={r}" for r in range(RANK_BUCKETS)])
_COSINE_KEYS = keys([f"cosine>={b}" for b in SIMILARITY_BUCKETS])
_MEANT_KEYS = keys([f"meaning>={b}" for b in MEANING_BUCKETS])
_USED_RANK_KEYS = keys([f"used:rank={r}" for r in range(RANK_BUCKETS)])
_USED_KEYS = keys([f"used:cosine>={b}" for b in SIMILARITY_BUCKETS])
_MATCH_KEYS = keys(["match:described", "match:used", "match:meaning"])
_COUNT_KEYS = [key(f"count={c}") for c in range(64)]
_STATE_KEYS = {kind: key(kind) for kind in ("last", "failed", "fallback", "wrong")}
_TOOL = key("tool")


@dataclass(frozen=True)
class State:
    """What has happened so far in an episode, as the policy reads it."""

    # (tool index, its successful calls) per tool called successfully, by tool: as long as the
    # calls, not the scenario's tools (a state is a cache key, hashed at every step).
    counts: tuple[tuple[int, int], ...]
    last: int  # the tool of the last call; -1: none yet
    failed: int  # the tool whose call just failed; -1: none
    wrong: tuple[int, ...]  # tools called wrongly since the last success
    mistaken: bool  # whether any call was a mistake

    @classmethod
    def of_calls(cls, calls: Sequence[tuple[int, int]]) -> State:
        """The state after `calls`: (tool index, outcome: OK, FAILED or WRONG), in order.
        Kept by its calls (a bounded map, process-wide: the same calls are the same state in
        any scenario), since every decision of every episode asks for one."""
        key = tuple(calls)
        state = _STATES.get(key)
        if state is None:
            if len(_STATES) >= MAX_STATES:
                _STATES.clear()
            state = _STATES[key] = cls._of_calls(key)
        return state

    @classmethod
    def _of_calls(cls, calls: tuple[tuple[int, int], ...]) -> State:
        counts: dict[int, int] = {}
        wrong: list[int] = []
        for tool, outcome in calls:
            if outcome == OK:
                counts[tool] = counts.get(tool, 0) + 1
                wrong = []
            elif outcome == WRONG and tool not in wrong:
                wrong.append(tool)
        last, outcome = calls[-1] if calls else (-1, OK)
        return cls(
            tuple(sorted(counts.items())),
            last,
            last if outcome == FAILED else -1,
            tuple(sorted(wrong)),
            any(o == WRONG for _, o in calls),
        )

    @property
    def progress(self) -> int:
        return sum(count for _, count in self.counts)


MAX_STATES = 1 << 16
_STATES: dict[tuple[tuple[int, int], ...], State] = {}


@dataclass
class Context:
    """One request with the tools it offers: what every decision about it shares."""

    config: Config
    toolbox: Toolbox
    candidates: Rows  # the tools scored, in the scenario's order; action i is candidates[i]
    text_keys: Keys  # the request's word features and the bias
    terms: Keys  # its content terms, crossed with descriptions
    meaning: Table | None
    # What the request counts (shapes, recurring words), and how many of each: the calls of a
    # tool are compared with each (fewer, as many, more), so "three orders" reads as "look
    # one up again" after two lookups, whatever counts training saw.
    counted_keys: Keys
    counts: Rows
    rank: Rows  # per candidate: its TF-IDF rank bucket ...
    bucket: Rows  # ... its TF-IDF cosine bucket ...
    meant: Rows  # ... and its sentence-embedding cosine bucket
    _position: dict[int, int] | None = None
    shared_keys: Keys = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    _described: tuple[Rows, Rows, Rows, Array] | None = None
    # Per candidate, how well it matches the request, as numbers: by description, by the
    # requests that called it in training, by meaning (each row one; read times the number).
    matches: Array = field(default_factory=lambda: np.zeros((0, 0)))
    _shared: dict[int, tuple[Rows, Rows, Array]] = field(default_factory=dict)
    steps: dict[State, Step] = field(default_factory=dict)
    _action_keys: Keys | None = None
    nbytes: int = 0  # what the rows it keeps hold (Model.context bounds its cache by it)

    @property
    def n_actions(self) -> int:
        return len(self.candidates) + 1

    def position(self, tool: int) -> int | None:
        """The action that calls `tool`, if it is scored here."""
        if self._position is None:
            self._position = {int(t): i for i, t in enumerate(self.candidates)}
        return self._position.get(tool)

    @property
    def action_keys(self) -> Keys:
        if self._action_keys is None:
            self._action_keys = np.append(
                self.toolbox.action_keys[self.candidates], np.uint64(_FINISH)
            )
        return self._action_keys

    def described(self) -> tuple[Rows, Rows, Rows, Array]:
        """Every candidate's description rows, fresh and called before (the same length),
        the candidate each belongs to, and their coefficients."""
        if self._described is None:
            # A tool training seldom saw is read by its description more: up to
            # 1 + description_boost times as far as a familiar one.
            unfamiliar = 1.0 - self.toolbox.familiarity[self.candidates]
            weight = self.config.description_weight * (
                1.0 + self.config.description_boost * unfamiliar
            )
            # Each candidate's block, every term crossed with every key of its description
            # (term by term), all blocks in one go rather than tool by tool.
            toolbox = self.toolbox
            sizes = toolbox.doc_lengths[self.candidates]
            lengths = sizes * len(self.terms)
            owner = np.repeat(np.arange(len(sizes), dtype=np.intp), lengths)
            at = np.arange(len(owner)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            term, within = np.divmod(at, sizes[owner])
            starts = toolbox.doc_starts[self.candidates][owner]
            crossed = combine(self.terms[term], toolbox.doc_flat[starts + within])
            self._described = (
                policy_rows(combine(crossed, _FRESH)),
                policy_rows(combine(crossed, _AGAIN)),
                owner,
                (weight / np.sqrt(np.maximum(lengths, 1)))[owner],
            )
            self.nbytes += sum(a.nbytes for a in self._described)
        return self._described

    def shared(self, progress: int) -> tuple[Rows, Rows, Array]:
        """The rows of what is true of each tool whatever was called (its match with the
        request; that it is a tool) at this progress, the candidate each belongs to, and
        their coefficients."""
        cached = self._shared.get(progress)
        if cached is None:
            n = len(self.candidates)
            groups = len(self.shared_keys) // max(n, 1)
            weight = self.config.shared_weight
            cached = self._shared[progress] = (
                policy_rows(
                    combine(np.concatenate([self.shared_keys, _MATCH_KEYS.repeat(n)]), progress)
                ),
                np.tile(np.arange(n, dtype=np.intp), groups + len(_MATCH_KEYS)),
                np.concatenate(
                    [
                        np.full(len(self.shared_keys), weight),
                        self.config.match_weight * self.matches.ravel(),
                    ]
                ),
            )
            self.nbytes += sum(a.nbytes for a in cached)
        return cached

    def step(self, state: State) -> Step:
        """The rows of a decision in `state` (kept: an episode's states recur)."""
        cached = self.steps.get(state)
        if cached is None:
            cached = self.steps[state] = _step(self, state)
            self.nbytes += cached.nbytes + 16 * len(state.counts)  # and its state, a key
        return cached


def build_context(
    config: Config,
    toolbox: Toolbox,
    text: str,
    available: Sequence[int],
    meaning: NDArray[np.float16] | None = None,
    w_pi: NDArray[np.float32] | None = None,
    must: Sequence[int] = (),
) -> Context:
    """The context of `text` offering the tools `available` (indices, in scenario order); a
    decision over more than `config.shortlist` of them scores a shortlist: the tools `must`
    (training's right ones), those the policy `w_pi` learned to call first for such words
    (half of it at most), then those that match the request best (by words and by meaning),
    and their fallbacks."""
    text_keys = np.append(keys(request_features(text)), np.uint64(_BIAS))
    query = terms_of(text, skeletons=True)
    similarity_all = toolbox.similarity(query)
    used_all = toolbox.used.similarity(query)
    for tool in must:  # a training request is not its own neighbour
        used_all[tool] = toolbox.used.similarity_without(tool, query)
    offered = np.asarray(available, dtype=np.intp)
    cosines_all = None
    if meaning is not None and toolbox.meanings is not None:
        cosines_all = toolbox.meanings @ meaning.astype(np.float32)
    if len(offered) > config.shortlist:
        match = similarity_all[offered] + used_all[offered]
        if cosines_all is not None:
            match = match + cosines_all[offered]
        offered = shortlist(config, toolbox, offered, match, text_keys, w_pi, must)
    similarity = similarity_all[offered]
    rank = _ranks(similarity)
    used = used_all[offered]
    used_rank = _ranks(used)
    cosines = np.full(len(offered), -1.0) if cosines_all is None else cosines_all[offered]
    rank = np.minimum(rank, RANK_BUCKETS - 1)
    bucket = np.maximum(np.searchsorted(SIMILARITY_BUCKETS, similarity, side="right") - 1, 0)
    meant = np.maximum(np.searchsorted(MEANING_BUCKETS, cosines, side="right") - 1, 0)
    used_bucket = np.maximum(np.searchsorted(SIMILARITY_BUCKETS, used, side="right") - 1, 0)
    return Context(
        config=config,
        toolbox=toolbox,
        candidates=offered,
        text_keys=text_keys,
        terms=keys(terms_of(text)[: config.max_terms]),
        counted_keys=keys(list(numbers := counted(text))),
        counts=np.array(list(numbers.values()), dtype=np.intp),
        meaning=None if meaning is None else (config.meaning_weight * meaning).astype(np.float32),
        rank=rank,
        matches=np.stack([similarity, used, np.maximum(cosines, 0.0)]),
        bucket=bucket,
        meant=meant,
        shared_keys=np.concatenate(
            [
                _RANK_KEYS[rank],
                _COSINE_KEYS[bucket],
                _MEANT_KEYS[meant],
                _USED_RANK_KEYS[np.minimum(used_rank, RANK_BUCKETS - 1)],
                _USED_KEYS[used_bucket],
                np.full(len(rank), _TOOL, dtype=np.uint64),
            ]
        ),
    )


@functools.lru_cache(maxsize=1 << 12)
def _meaning_phases(last: int, phases: int) -> Keys:
    """The meaning rows' keys, before the action's, of each phase after the call to `last`:
    the same for every request (kept: hashing them anew for every decision was much of it)."""
    return combine(key("meaning"), combine(np.arange(phases, dtype=np.uint64), _AFTER + last))


def _ranks(scores: Array) -> Rows:
    """Each score's rank, best first (ties in order)."""
    rank = np.empty(len(scores), dtype=np.intp)
    rank[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
    return rank


def _step(context: Context, state: State) -> Step:
    config, toolbox = context.config, context.toolbox
    candidates = context.candidates
    n = len(candidates)
    progress = min(state.progress, config.max_progress)
    called = np.zeros(len(toolbox.tools), dtype=np.intp)  # per tool of the scenario
    for tool, count in state.counts:
        called[tool] = count
    counts = np.minimum(called[candidates], config.max_count)
    phases = np.append(counts, config.max_count + 1 + progress)  # finish's phase: the progress

    rows: list[Rows] = []
    owner: list[Rows] = []
    coef: list[Array] = []

    # The request's words, crossed with each action at its phase, and again with each action
    # after the last call ("after the order's details, its product's"): a block of rows each.
    width = len(context.text_keys)
    familiarity = toolbox.familiarity[np.append(candidates, len(toolbox.tools))]
    weights, joined = [config.text_weight], [phases]
    if config.text_after_weight:
        weights.append(config.text_after_weight)
        joined.append(np.full(n + 1, _AFTER + state.last))
    blocks = len(weights)
    text = combine(
        np.tile(context.action_keys, blocks)[:, None],
        combine(context.text_keys[None, :], np.concatenate(joined).astype(np.uint64)[:, None]),
    )
    rows.append(policy_rows(text).ravel())
    owner.append(np.repeat(np.tile(np.arange(n + 1, dtype=np.intp), blocks), width))
    coef.append(
        np.repeat(np.concatenate([familiarity * (w / math.sqrt(width)) for w in weights]), width)
    )

    # The tools' descriptions, fresh or called before.
    fresh, again, described_owner, described_coef = context.described()
    rows.append(np.where(counts[described_owner] > 0, again, fresh))
    owner.append(described_owner)
    # A description says which tool to start with; once calls were made, what they were says
    # more of what comes next (and a long flow's descriptions, all alike, would drown it).
    coef.append(described_coef if progress == 0 else described_coef * config.description_later)

    # What was called so far, crossed with every action.
    history = [_START if state.last < 0 else int(toolbox.call_keys[OK][state.last])]
    if state.failed >= 0:
        history.append(int(toolbox.call_keys[FAILED][state.failed]))
    done = np.flatnonzero(called)
    multiset = (
        np.bitwise_xor.reduce(combine(toolbox.count_keys[done], np.minimum(called[done], 9)))
        if len(done)
        else np.uint64(_NOTHING)
    )
    history.append(int(multiset))
    history += [int(toolbox.wrong_keys[t]) for t in state.wrong]
    if state.mistaken:
        history.append(_MISTAKEN)
    crossed = policy_rows(
        combine(context.action_keys[:, None], np.array(history, dtype=np.uint64)[None, :])
    )
    rows.append(crossed.ravel())
    owner.append(np.repeat(np.arange(n + 1, dtype=np.intp), len(history)))
    coef.append(np.full(crossed.size, config.history_weight / math.sqrt(len(history))))

    # How often each tool was called, against how many of each thing the request counts.
    if len(context.counts) and config.count_weight:
        calls = called[candidates]
        relation = np.sign(calls[:, None] - context.counts[None, :]) + 1  # 0: fewer, 1, 2
        compared = combine(context.counted_keys[None, :], relation.astype(np.uint64))
        crossed_counts = policy_rows(combine(context.action_keys[:n, None], compared))
        rows.append(crossed_counts.ravel())
        owner.append(np.repeat(np.arange(n, dtype=np.intp), len(context.counts)))
        coef.append(np.full(crossed_counts.size, config.count_weight))

    # What is true of each tool now: the same rows for every tool.
    shared_rows, shared_owner, shared_coef = context.shared(progress)
    kinds = [_COUNT_KEYS[c] for c in counts]
    tools = list(range(n))
    position = context.position
    for kind, tool in (("last", state.last), ("failed", state.failed)):
        action = position(tool) if tool >= 0 else None
        if action is not None:
            kinds.append(_STATE_KEYS[kind])
            tools.append(action)
    if state.failed >= 0:
        fallback = position(int(toolbox.fallback[state.failed]))
        if fallback is not None:
            kinds.append(_STATE_KEYS["fallback"])
            tools.append(fallback)
    for tool in state.wrong:
        action = position(tool)
        if action is not None:
            kinds.append(_STATE_KEYS["wrong"])
            tools.append(action)
    now = policy_rows(combine(np.array(kinds, dtype=np.uint64), progress))
    rows += [shared_rows, now]
    owner += [shared_owner, np.array(tools, dtype=np.intp)]
    coef += [shared_coef, np.full(len(now), config.shared_weight)]

    phased = _meaning_phases(state.last, config.max_count + 2 + config.max_progress)
    slots = (combine(context.action_keys, phased[phases]) >> SLOT_SHIFT).astype(np.intp)
    value = value_rows(
        combine(np.concatenate([context.text_keys, np.array(history, dtype=np.uint64)]), progress)
    )
    return Step.grouped(
        n_actions=n + 1,
        rows=np.concatenate(rows),
        owner=np.concatenate(owner),
        coef=np.concatenate(coef),
        slots=slots,
        slot_scale=familiarity,
        meaning=context.meaning,
        value_rows=value,
        width=width * blocks,
        words=width,
    )
