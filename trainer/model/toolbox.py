"""A scenario's tools as the policy reads them, and the hashing every feature goes through.

Every feature is a 64-bit key (a string's CRC32, or keys joined by a fixed mixing function:
splitmix64's finalizer), so a feature means the same row of a table in every process, and the
tables' size does not depend on the number of tools.
"""

from __future__ import annotations

import functools
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from agentgym.bundle import MAX_TERM
from agentgym.weights import FEATURES, MEANING_SLOTS, VALUE_FEATURES
from trainer.model.term_index import TermIndex
from trainer.scenarios.base import ScenarioSpec, TaskSpec
from trainer.text import name_terms_of, terms_of

Keys = NDArray[np.uint64]
Rows = NDArray[np.intp]
Array = NDArray[np.float64]
Table = NDArray[np.float32]  # a table of weights, or of Adam's moments (trainer/model/model.py)

_M0 = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_POLICY_SHIFT = np.uint64(64 - (FEATURES.bit_length() - 1))
_VALUE_SHIFT = np.uint64(64 - (VALUE_FEATURES.bit_length() - 1))
SLOT_SHIFT = np.uint64(64 - (MEANING_SLOTS.bit_length() - 1))


@functools.lru_cache(maxsize=1 << 16)
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


def combine(a: Keys | int, b: Keys | int) -> Keys:
    """The keys of features a and b joined (broadcasting: an outer cross is a[:, None])."""
    return _mix((np.asarray(a, dtype=np.uint64) * _M0) ^ np.asarray(b, dtype=np.uint64))


def policy_rows(x: Keys) -> Rows:
    return (x >> _POLICY_SHIFT).astype(np.intp)


def value_rows(x: Keys) -> Rows:
    return (x >> _VALUE_SHIFT).astype(np.intp)


FINISH_KEY = key("action:finish")


@dataclass
class Toolbox:
    """A scenario's tools as the policy reads them: names, description terms, TF-IDF, and what
    each description means (`meanings`: unit embeddings, one row per tool, if encoded)."""

    tools: tuple[str, ...]
    descriptions: Mapping[str, str] = field(default_factory=dict)
    fallbacks: Mapping[str, str] = field(default_factory=dict)
    meanings: NDArray[np.float32] | None = None
    usage: Mapping[str, int] | None = None  # training tasks whose solution calls each tool
    # The terms of the training requests that call each tool, and in how many of them.
    usage_terms: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    familiar: float = 5.0  # Config.familiar

    def __post_init__(self) -> None:
        n = len(self.tools)
        self.index = {tool: i for i, tool in enumerate(self.tools)}
        # How far a tool's identity features (its words, crossed with it) count: a tool few
        # training tasks call is read by its description instead of what its name learned
        # (mostly that it was not the one). Finish always counts fully.
        used = np.array(
            [(self.usage or {}).get(t, 0) for t in self.tools] + [self.familiar], dtype=float
        )
        self.familiarity = np.ones(n + 1) if self.usage is None else used / (used + self.familiar)
        self.familiarity[-1] = 1.0
        self.action_keys = np.append(
            keys([f"action:{t}" for t in self.tools]), np.uint64(FINISH_KEY)
        )
        self.call_keys = {
            outcome: keys([f"call:{outcome}|{t}" for t in self.tools]) for outcome in range(3)
        }
        self.wrong_keys = keys([f"wrong|{t}" for t in self.tools])
        self.count_keys = keys([f"count|{t}" for t in self.tools])
        self.fallback = np.array(
            [self.index.get(self.fallbacks.get(t, ""), -1) for t in self.tools], dtype=np.intp
        )
        docs = [
            keys(list(dict.fromkeys(name_terms_of(t) + terms_of(self.descriptions.get(t, "")))))
            for t in self.tools
        ]
        # Each tool's name and description terms end to end, with each tool's length and
        # start: a shortlist's are crossed with a request's terms in one go.
        self.doc_lengths = np.array([len(d) for d in docs], dtype=np.intp)
        self.doc_starts = np.cumsum(self.doc_lengths) - self.doc_lengths
        self.doc_flat = np.concatenate([np.zeros(0, dtype=np.uint64), *docs])
        self.described = TermIndex(
            [
                dict.fromkeys(
                    name_terms_of(t) + terms_of(self.descriptions.get(t, "") + " " + t, True), 1
                )
                for t in self.tools
            ]
        )
        self.used = TermIndex([self.usage_terms.get(t, {}) for t in self.tools])

    def similarity(self, terms: Sequence[str]) -> Array:
        """Each tool's TF-IDF cosine with these request terms, by its name and description."""
        return self.described.similarity(terms)


def tool_texts(spec: ScenarioSpec) -> list[str]:
    """What the sentence encoder reads of each tool: its name's words and its description."""
    return [f"{tool.replace('_', ' ')}: {spec.descriptions.get(tool, '')}" for tool in spec.tools]


def usage_terms(tasks: Sequence[TaskSpec], limit: int) -> dict[str, dict[str, int]]:
    """Per tool, the `limit` terms most of the requests calling it have, and in how many
    (none longer than a bundle keeps: a word that long, a token or a hash, is no one's usage)."""
    counts: dict[str, Counter[str]] = {}
    for task in tasks:
        terms = [term for term in terms_of(task.text, skeletons=True) if len(term) <= MAX_TERM]
        for tool in set(task.solution):
            counts.setdefault(tool, Counter()).update(terms)
    return {tool: dict(c.most_common(limit)) for tool, c in counts.items()}
