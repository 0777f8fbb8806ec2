"""What the policy reads, as rows of its hashed tables: the request, the tools on offer (by
name and description) and what has happened so far in the episode.

Pure and deterministic. Every feature is a 64-bit key, a string's stable CRC32 or two keys
combined by a fixed mixing function, so a feature means the same row in every process. The
policy scores each action on offer (the task's available tools, and "finish") by the rows of
its features in one fixed-size table of scalars, so memory does not depend on the tool count:

- identity: the request's stemmed words and word pairs, and a bias, each joined with the
  progress (how many solution steps are done); the set of tools done; each tool done, called
  wrongly since the last progress, or just failed; whether any call was a mistake. Each is
  crossed with the action's name: what a policy table learns per tool ("for a refund, after
  the lookup, check the payment").
- description: each request term crossed with each term of the tool's name and description,
  shared by every tool whose description has that term, so that a tool seldom seen in training
  is still scored by what its description says ("locked" in the request, "unlock" in the
  description). These are the same at every step; a gate per progress (GATES) says how much
  they count, so that what they say at the first step does not drown the last one's "finish".
- self: what is true of this tool now (done, called wrongly, just failed, the failed tool's
  fallback, offered at all), the same rows for every tool.
- overlap: how the request's TF-IDF cosine with the tool's name and description ranks among
  the tools on offer, and how high it is: the same rows for every tool.
- meaning (when a sentence encoder reads the request, `trainer/meaning.py`): the request's
  embedding times a weight vector of the action at this progress, a row of a table of its own
  (MEANING_SLOTS rows of MEANING_DIMENSIONS, a slot hashed from the action and the progress): a
  linear policy over what the request means, which carries to wordings training never saw. An
  episode's gradient of a slot is the embedding times a scalar, so it costs little however
  many dimensions. It counts by the context's `voice`: how new the request's words are
  (`trainer/learner.py`).

Terms are stemmed, and for the TF-IDF cosine longer words also stand for their consonant
skeleton, so that "pasword" meets "password". A task offering more than SHORTLIST tools is
scored on the SHORTLIST whose descriptions match the request best (and their fallbacks), so a
step's cost stays bounded however many tools a scenario has.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agentgym.weights import FEATURES, MEANING_SLOTS, VALUE_FEATURES
from trainer.text import name_terms_of, state_terms_of, terms_of

Keys = NDArray[np.uint64]
Rows = NDArray[np.intp]
Indices = Sequence[int] | NDArray[np.intp]  # tool indices

SHORTLIST = 32  # at most this many tools are scored in one task (plus their fallbacks)
MAX_PROGRESS = 12  # progress beyond this shares the rows of this
MAX_TERMS = 24  # request terms crossed with descriptions (the first, deduplicated)
RANK_BUCKETS = 4  # overlap rank 0, 1, 2, 3 or more
SIMILARITY_BUCKETS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6)  # lower bounds of cosine buckets
FAMILIAR = 5.0  # training tasks calling a tool that make its identity features count half
# The description features' weight: per tool, DESCRIPTION_WEIGHT / sqrt(their count).
DESCRIPTION_WEIGHT = 3.0
# How much the meaning features count: the embedding (a unit vector) times this, so that
# together they move a score about as far per Adam step as a sentence's word features do.
MEANING_WEIGHT = 2.0
# Requests' contexts cached, by their arrays' bytes and by count (each also caches what its
# episodes came to, which its bytes do not count); the cache is dropped whole past either.
MAX_CONTEXT_BYTES = 16 << 20
MAX_CONTEXTS = 2048

_M0 = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_POLICY_SHIFT = np.uint64(64 - (FEATURES.bit_length() - 1))
_VALUE_SHIFT = np.uint64(64 - (VALUE_FEATURES.bit_length() - 1))


# --- hashing -----------------------------------------------------------------------------------


def key(feature: str) -> int:
    """A string's stable 32-bit key."""
    return zlib.crc32(feature.encode())


def keys(features: Sequence[str]) -> Keys:
    return np.array([key(f) for f in features], dtype=np.uint64)


def _mix(x: Keys) -> Keys:
    """splitmix64's finalizer: every input bit reaches every output bit."""
    x = x ^ (x >> _S30)
    x = x * _M1
    x = x ^ (x >> _S27)
    x = x * _M2
    return x ^ (x >> _S31)


def combine(a: Keys, b: Keys) -> Keys:
    """The keys of features a and b joined (broadcasting, so an outer cross is a[:, None])."""
    return _mix((a * _M0) ^ b)


def policy_rows(x: Keys) -> Rows:
    return (x >> _POLICY_SHIFT).astype(np.intp)


def value_rows(x: Keys) -> Rows:
    return (x >> _VALUE_SHIFT).astype(np.intp)


def _constant(feature: str) -> Keys:
    return np.array([key(feature)], dtype=np.uint64)


_PROGRESS = keys([f"progress={p}" for p in range(MAX_PROGRESS + 1)])
_BIAS = key("bias")
_MISTAKEN = np.array([key("mistaken")], dtype=np.uint64)
_NO_ROWS = np.zeros(0, dtype=np.intp)
_NOTHING_DONE = key("done:nothing")
_MEANING_SHIFT = np.uint64(64 - (MEANING_SLOTS.bit_length() - 1))
# Per progress, the row of the gate on the description features: they are the same at every
# step, and this says how much they count at each (1 + the row's weight).
GATES = policy_rows(combine(_constant("description-gate"), _PROGRESS))
_FINISH = key("action:finish")
_SELF = {
    kind: policy_rows(combine(_constant(f"self:{kind}"), _PROGRESS))
    for kind in ("done", "wrong", "failed", "fallback", "offered")
}
_RANK = policy_rows(
    combine(keys([f"overlap:rank={r}" for r in range(RANK_BUCKETS)])[:, None], _PROGRESS)
)
_SIMILARITY = policy_rows(
    combine(keys([f"overlap:cos>={b}" for b in SIMILARITY_BUCKETS])[:, None], _PROGRESS)
)


# --- the tools ---------------------------------------------------------------------------------


@dataclass
class Toolbox:
    """A scenario's tools as the policy reads them: names, description terms, TF-IDF."""

    tools: tuple[str, ...]
    descriptions: Mapping[str, str] = field(default_factory=dict)
    fallbacks: Mapping[str, str] = field(default_factory=dict)
    usage: Mapping[str, int] | None = None  # training tasks whose solution calls each tool

    def __post_init__(self) -> None:
        n = len(self.tools)
        # How far a tool's identity features count: a tool few training tasks call is read by
        # its description instead of what its name learned (mostly that it was not the one).
        if self.usage is None:
            self.familiarity = np.ones(n + 1)
        else:
            used = np.array([self.usage.get(t, 0) for t in self.tools] + [FAMILIAR], dtype=float)
            self.familiarity = used / (used + FAMILIAR)
            self.familiarity[-1] = 1.0
        self.index = {tool: i for i, tool in enumerate(self.tools)}
        self.action_keys = np.append(keys([f"action:{t}" for t in self.tools]), np.uint64(_FINISH))
        self.state_keys = {
            kind: keys([f"{kind}|{t}" for t in self.tools]) for kind in ("done", "wrong", "failed")
        }
        self.set_keys = _mix(self.state_keys["done"] * _M0)  # mixed, so that their XOR is a set's
        self.fallback = np.array(
            [self.index.get(self.fallbacks.get(t, ""), -1) for t in self.tools], dtype=np.intp
        )
        self.doc_keys = [
            keys(list(dict.fromkeys(name_terms_of(t) + terms_of(self.descriptions.get(t, "")))))
            for t in self.tools
        ]
        documents = [
            list(
                dict.fromkeys(
                    name_terms_of(t) + terms_of(self.descriptions.get(t, "") + " " + t, True)
                )
            )
            for t in self.tools
        ]
        frequency: dict[str, int] = {}
        for document in documents:
            for term in document:
                frequency[term] = frequency.get(term, 0) + 1
        self.idf = {t: math.log((1 + n) / (1 + df)) + 1 for t, df in frequency.items()}
        self.unseen_idf = math.log(1 + n) + 1
        # The inverted index of the unit TF-IDF vectors (each term once per document).
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for i, document in enumerate(documents):
            norm = math.sqrt(sum(self.idf[t] ** 2 for t in document)) or 1.0
            for term in document:
                tools, weights = postings.setdefault(term, ([], []))
                tools.append(i)
                weights.append(self.idf[term] / norm)
        self.postings = {
            t: (np.array(ix, dtype=np.intp), np.array(w)) for t, (ix, w) in postings.items()
        }

    def similarity(self, terms: Sequence[str]) -> NDArray[np.float64]:
        """Each tool's TF-IDF cosine with these request terms."""
        scores = np.zeros(len(self.tools))
        norm = math.sqrt(sum(self.idf.get(t, self.unseen_idf) ** 2 for t in terms)) or 1.0
        for term in terms:
            posting = self.postings.get(term)
            if posting is not None:
                scores[posting[0]] += posting[1] * (self.idf[term] / norm)
        return scores


# --- a request on offer ------------------------------------------------------------------------


@dataclass
class Context:
    """One request with the tools it offers: what every step of its episodes shares."""

    toolbox: Toolbox
    candidates: Rows  # the tools scored, in the scenario's order; action i is candidates[i]
    position: dict[int, int]  # tool index -> action
    action_keys: Keys  # per action (the candidates, then finish)
    state_keys: Keys  # the text features and the bias, before joining with the progress
    meaning: NDArray[np.float64] | None  # the embedding times MEANING_WEIGHT, if read
    description: Rows  # policy rows of request term x description term ...
    description_action: Rows  # ... the action each belongs to ...
    description_scale: NDArray[np.float64]  # ... and its coefficient
    familiarity: NDArray[np.float64]  # per action, the weight of its identity text features
    rank: Rows  # per candidate tool: its overlap rank bucket ...
    bucket: Rows  # ... and its similarity bucket
    voice: float = 1.0  # how far the meaning counts in the scores (Policy.context sets it)
    _blocks: dict[int, tuple[Rows, Rows]] = field(default_factory=dict)
    _sets: dict[int, Rows] = field(default_factory=dict)
    _slots: dict[int, Rows] = field(default_factory=dict)
    _shared: dict[int, tuple[Rows, Rows]] = field(default_factory=dict)
    _crossed: dict[tuple[str, int], tuple[Rows, int]] = field(default_factory=dict)
    _voiced: dict[float, Context] = field(default_factory=dict)
    # The learner's cache of StepRows by what happened so far (done, wrong, failed, mistaken).
    steps: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    @property
    def n_actions(self) -> int:
        return len(self.candidates) + 1

    @property
    def nbytes(self) -> int:
        """About what the context holds once its episodes went through a few progresses."""
        blocks = 4 * 8 * self.n_actions * (len(self.state_keys) + 8)
        return blocks + 3 * self.description.nbytes + 1024

    def without_identity(self) -> Context:
        """This context with the tools' identity text features off (finish keeps its own):
        what an episode that must choose its tools by their descriptions reads."""
        familiarity = np.zeros(self.n_actions)
        familiarity[-1] = self.familiarity[-1]
        return self._variant(familiarity=familiarity)

    def voiced(self, voice: float) -> Context:
        """This context with its meaning counting `voice` (0 to 1) in the scores (kept: a
        request's voice takes one of few values, and every episode asks for it)."""
        variant = self._voiced.get(voice)
        if variant is None:
            variant = self._voiced[voice] = self._variant(voice=voice, _voiced=self._voiced)
        return variant

    def _variant(self, **changes: Any) -> Context:
        """This context with `changes`, sharing its caches (none depends on them; its voiced
        variants do, unless `changes` names them)."""
        return dataclasses.replace(
            self,
            **changes,
            _blocks=self._blocks,
            _sets=self._sets,
            _slots=self._slots,
            _shared=self._shared,
            _crossed=self._crossed,
            steps=self.steps,
        )

    def rows_at(self, progress: int) -> tuple[Rows, Rows]:
        """(policy rows (actions, state features), value rows (state features)) of the text
        and bias joined with this progress."""
        cached = self._blocks.get(progress)
        if cached is None:
            state = combine(self.state_keys, _PROGRESS[progress])
            cached = (
                policy_rows(combine(self.action_keys[:, None], state[None, :])),
                value_rows(state),
            )
            self._blocks[progress] = cached
        return cached

    def slots_at(self, progress: int) -> Rows:
        """(A,) each action's slot of the meaning table at this progress."""
        cached = self._slots.get(progress)
        if cached is None:
            joined = combine(self.action_keys, combine(_constant("meaning"), _PROGRESS[progress]))
            cached = self._slots[progress] = (joined >> _MEANING_SHIFT).astype(np.intp)
        return cached

    def shared_at(self, progress: int) -> tuple[Rows, Rows]:
        """(rows, actions) of the features every tool has at this progress: its overlap rank
        and similarity with the request, and that it is a tool (not finish)."""
        cached = self._shared.get(progress)
        if cached is None:
            tools = np.arange(len(self.candidates), dtype=np.intp)
            offered = np.full(len(tools), _SELF["offered"][progress], dtype=np.intp)
            cached = (
                np.concatenate(
                    [_RANK[self.rank, progress], _SIMILARITY[self.bucket, progress], offered]
                ),
                np.concatenate([tools, tools, tools]),
            )
            self._shared[progress] = cached
        return cached

    def done_set(self, done_set: int) -> Rows:
        """Policy rows per action of the set of tools done."""
        cached = self._sets.get(done_set)
        if cached is None:
            cached = self._sets[done_set] = policy_rows(
                combine(np.array([done_set], dtype=np.uint64), self.action_keys)
            )
        return cached

    def mistaken(self) -> tuple[Rows, int]:
        """(policy rows per action, value row) of "a call was a mistake"."""
        cached = self._crossed.get(("mistaken", -1))
        if cached is None:
            cached = self._crossed[("mistaken", -1)] = (
                policy_rows(combine(_MISTAKEN, self.action_keys)),
                int(value_rows(_MISTAKEN)[0]),
            )
        return cached

    def crossed(self, kind: str, tool: int) -> tuple[Rows, int]:
        """(policy rows per action, value row) of the state feature "`kind`|tool"."""
        cached = self._crossed.get((kind, tool))
        if cached is None:
            state = self.toolbox.state_keys[kind][tool : tool + 1]
            cached = (
                policy_rows(combine(state, self.action_keys)),
                int(value_rows(state)[0]),
            )
            self._crossed[(kind, tool)] = cached
        return cached


def _joined(parts: list[Any], dtype: type) -> Any:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def build_context(
    toolbox: Toolbox,
    text: str,
    available: Sequence[int],
    meaning: NDArray[np.float16] | None = None,
) -> Context:
    """The context of `text` offering the tools `available` (indices, in scenario order), and
    what the text means (its embedding), if an encoder read it."""
    terms = terms_of(text)[:MAX_TERMS]
    similarity_all = toolbox.similarity(terms_of(text, skeletons=True))
    offered = np.asarray(available, dtype=np.intp)
    similarity = similarity_all[offered]
    if len(offered) > SHORTLIST:
        # The best matches (stable: ties keep the scenario's order), then their fallbacks.
        best = offered[np.argsort(-similarity, kind="stable")[:SHORTLIST]]
        fallbacks = toolbox.fallback[best]
        kept = np.union1d(best, np.intersect1d(fallbacks[fallbacks >= 0], offered))
        similarity = similarity_all[kept]
        offered = kept
    n = len(offered)
    # Every request term crossed with every term of each offered tool's name and description.
    documents = [toolbox.doc_keys[tool] for tool in offered]
    lengths = np.array([len(d) for d in documents], dtype=np.intp)
    owner = np.repeat(np.arange(n, dtype=np.intp), lengths)
    crosses = combine(keys(terms)[:, None], _joined(documents, np.uint64)[None, :])
    description_action = np.tile(owner, len(terms))
    # Each tool's are scaled by 1/sqrt(their count), so that a tool is not favoured for a long
    # description, and an Adam step moves their sum about as far as it moves the other parts.
    scale = DESCRIPTION_WEIGHT / np.sqrt(np.maximum(len(terms) * lengths, 1))
    rank = np.empty(n, dtype=np.intp)
    rank[np.argsort(-similarity, kind="stable")] = np.arange(n)
    bucket = np.searchsorted(SIMILARITY_BUCKETS, similarity, side="right") - 1
    return Context(
        toolbox=toolbox,
        candidates=offered,
        position={int(t): i for i, t in enumerate(offered)},
        action_keys=np.append(toolbox.action_keys[offered], np.uint64(_FINISH)),
        state_keys=np.append(keys(state_terms_of(text)), np.uint64(_BIAS)),
        meaning=None if meaning is None else MEANING_WEIGHT * meaning.astype(np.float64),
        description=policy_rows(crosses.ravel()),
        description_action=description_action,
        description_scale=scale[description_action],
        familiarity=np.append(toolbox.familiarity[offered], 1.0),
        rank=np.minimum(rank, RANK_BUCKETS - 1),
        bucket=np.maximum(bucket, 0).astype(np.intp),
    )


def done_set_of(toolbox: Toolbox, done: Indices) -> int:
    """The key of the set of tools done so far."""
    if not len(done):
        return _NOTHING_DONE
    return int(np.bitwise_xor.reduce(toolbox.set_keys[np.asarray(done, dtype=np.intp)]))


@dataclass
class StepRows:
    """The rows one step reads beyond its context's."""

    progress: int
    dynamic: Rows  # policy rows ...
    dynamic_action: Rows  # ... and the action each belongs to
    value: Rows  # value rows of the state features that change within an episode
    summed: Rows  # value rows added to the value rather than averaged in: a mistake made


def step_rows(
    context: Context,
    done: Indices,
    wrong: Indices,
    failed: int | None,
    mistaken: bool,
) -> StepRows:
    """The rows that change within an episode: which tools are done, were called wrongly
    since the last progress, and just failed, and whether there was a mistake at all, each
    crossed with every action; what of that is
    true of each tool itself (and whether it is the failed tool's fallback); and each tool's
    overlap rank and similarity, joined with the progress."""
    progress = min(len(done), MAX_PROGRESS)
    shared_rows, shared_actions = context.shared_at(progress)
    rows, actions = [shared_rows], [shared_actions]
    own_rows: list[int] = []
    own_actions: list[int] = []
    values: list[int] = []
    every = np.arange(context.n_actions, dtype=np.intp)
    for kind, which in (
        ("done", done),
        ("wrong", wrong),
        ("failed", () if failed is None else (failed,)),
    ):
        for tool in map(int, which):
            crossed, value = context.crossed(kind, tool)
            rows.append(crossed)
            actions.append(every)
            values.append(value)
            action = context.position.get(tool)
            if action is not None:
                own_rows.append(int(_SELF[kind][progress]))
                own_actions.append(action)
    if failed is not None:
        fallback = int(context.toolbox.fallback[failed])
        if fallback in context.position:
            own_rows.append(int(_SELF["fallback"][progress]))
            own_actions.append(context.position[fallback])
    summed = _NO_ROWS
    if mistaken:
        mistake_rows, mistake_value = context.mistaken()
        rows.append(mistake_rows)
        actions.append(every)
        summed = np.array([mistake_value], dtype=np.intp)
    rows.append(np.array(own_rows, dtype=np.intp))
    actions.append(np.array(own_actions, dtype=np.intp))
    rows.append(context.done_set(done_set_of(context.toolbox, done)))
    actions.append(every)
    return StepRows(
        progress,
        np.concatenate(rows),
        np.concatenate(actions),
        np.array(values, dtype=np.intp),
        summed,
    )
