"""The reward model behind DR and DM (trainer/offpolicy.py) and behind learning from logs
(trainer/training/logged.py): what a call is worth in a request, learned from logged calls
and their returns.

- `ToolRewards`: the mean return of each tool's logged calls (at each position in the
  episode), shrunk toward the mean of all by `PRIOR` calls' worth.
- `NearestRewards`: in a request, the similarity-weighted mean return of each tool's calls in
  the `NEIGHBOURS` most similar logged requests, shrunk toward `ToolRewards` by `PRIOR`
  (what a request-blind model cannot say: this tool was wrong for requests like this one).
  Similar by the sentence encoder's meaning where the model reads one, by hashed terms
  otherwise; at most `MAX_SEARCHED` logged requests are searched (evenly), so that fitting it
  on 100,000 logs stays a matter of seconds.

Not a regression trained as the policy is: a second model to train, tune and calibrate per
session, where nearest neighbours need none and DR stays unbiased with right probabilities
whatever the model (it only lowers the variance). Always fitted on other logs than those it is
used on (cross-fitting).
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trainer.text import terms_of

PRIOR = 2.0
NEIGHBOURS = 20
MAX_SEARCHED = 8192
HASHED = 1 << 12  # the dimensions of a request's hashed terms

Meaning = Callable[[str], NDArray[Any]]
Neighbours = tuple[NDArray[np.intp], NDArray[np.float32]]  # episodes' indices, their cosines
# A logged episode's steps, as a reward model learns them: (tool, return) at each position.
Steps = Sequence[tuple[str, float]]


@dataclass(frozen=True)
class ToolRewards:
    means: dict[tuple[int, str], float]  # by (position, tool)
    tools: dict[str, float]  # by tool, at any position
    overall: float  # the mean of every step: the logging policy's value, by this model

    @classmethod
    def fit(cls, episodes: Sequence[Steps]) -> ToolRewards:
        sums: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
        by_tool: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for steps in episodes:
            for position, (tool, value) in enumerate(steps):
                for kept in (sums[(position, tool)], by_tool[tool]):
                    kept[0] += value
                    kept[1] += 1
        total = sum(s for s, _ in by_tool.values())
        n = sum(c for _, c in by_tool.values())
        overall = total / n if n else 0.0
        tools = {tool: (s + PRIOR * overall) / (c + PRIOR) for tool, (s, c) in by_tool.items()}
        means = {key: (s + PRIOR * tools[key[1]]) / (c + PRIOR) for key, (s, c) in sums.items()}
        return cls(means, tools, overall)

    def __call__(self, tool: str, position: int = 0) -> float:
        found = self.means.get((position, tool))
        return found if found is not None else self.tools.get(tool, self.overall)


def vectors(texts: Sequence[str], meaning: Meaning | None) -> NDArray[np.float32]:
    """Unit rows, one per text: its meaning, or its hashed terms."""
    if meaning is not None:
        rows = np.stack([meaning(text) for text in texts]).astype(np.float32)
    else:
        rows = np.zeros((len(texts), HASHED), dtype=np.float32)
        for i, text in enumerate(texts):
            for term in terms_of(text):
                rows[i, zlib.crc32(term.encode()) % HASHED] += 1.0
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    unit: NDArray[np.float32] = rows / np.maximum(norms, 1e-12)
    return unit


class NearestRewards:
    def __init__(
        self, texts: Sequence[str], episodes: Sequence[Steps], meaning: Meaning | None
    ) -> None:
        self.meaning = meaning
        self.tools = ToolRewards.fit(episodes)
        every = max(1, -(-len(texts) // MAX_SEARCHED))
        self.episodes = list(episodes)[::every]
        self.vectors = vectors(list(texts)[::every], meaning) if self.episodes else None

    @property
    def overall(self) -> float:
        return self.tools.overall

    def neighbours(self, rows: NDArray[np.float32]) -> Neighbours:
        """For each row, its NEIGHBOURS nearest episodes and their (non-negative) cosines."""
        assert self.vectors is not None
        k = min(NEIGHBOURS, len(self.episodes))
        cosines = rows @ self.vectors.T
        nearest = np.argpartition(-cosines, k - 1, axis=1)[:, :k]
        return nearest, np.maximum(np.take_along_axis(cosines, nearest, axis=1), 0.0)

    def predict(
        self, neighbours: Neighbours, tools: Sequence[str], position: int = 0
    ) -> NDArray[np.float64]:
        """Each of `tools`' expected return at `position` in a request of these `neighbours`."""
        nearest, weights = neighbours
        sums: dict[str, float] = defaultdict(float)
        counts: dict[str, float] = defaultdict(float)
        for j, weight in zip(nearest.tolist(), weights.tolist(), strict=True):
            steps = self.episodes[j]
            if position < len(steps) and weight > 0.0:
                tool, value = steps[position]
                sums[tool] += weight * value
                counts[tool] += weight
        return np.array(
            [
                (sums[tool] + PRIOR * self.tools(tool, position)) / (counts[tool] + PRIOR)
                if tool in counts
                else self.tools(tool, position)
                for tool in tools
            ]
        )

    def of(self, text: str) -> Neighbours:
        """A new request's neighbours (none where the model has no episodes)."""
        return self.of_all([text])[0]

    def of_all(self, texts: Sequence[str]) -> list[Neighbours]:
        """Each request's neighbours, found together: one matrix product, not one per text."""
        if self.vectors is None or not texts:
            return [(np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)) for _ in texts]
        nearest, weights = self.neighbours(vectors(texts, self.meaning))
        return list(zip(nearest, weights, strict=True))
