"""Whether a request is like those a model trained on (`in_scope`): how near it comes to them,
against a threshold fitted on requests the model did not train on.

How near, by what the model reads:
- MEANING (a sentence encoder): the cosine of the request's embedding with the nearest
  training request's (`Model.references`). A request of the domain, however worded, comes
  near one (a password forgotten by "Sarah from HR" near "I forgot my password"); a question
  about the weather comes near none.
- WORDS (no encoder, or a bundle from before references were kept): the share of the request's
  word features the policy learned (`learned_share`).

The threshold is the lower MISS quantile of the validation requests' nearness (split
conformal: a new request like them is called out of scope with probability at most MISS), and
never above the measure's CAP: at the cap a request is of the domain, however alike the
validation requests are (a scenario written from templates, its requests near-copies of one
another, would otherwise put users' own phrasings out of scope). Where the validation tasks are
too few for the quantile, the cap alone. The caps separate the built-in scenarios' held-out
requests from tests/data/off_domain.txt's (tests/benchmarks/abstention.py).

A request in scope may still be of a kind the model never trained on (an intent of the domain
none of its tasks had): the policy learned fewer of its words than of a trained intent's
requests, whatever the model reads besides. `familiar` is the lower UNFAMILIAR quantile of the
validation requests' learned share (`learned_share`), uncapped: a request below it is one the
model is unsure of (`ActAnswer.unsure`); where the validation tasks are too few, the words' cap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from trainer.model.features import Step
from trainer.model.toolbox import Table

if TYPE_CHECKING:
    from trainer.model.model import Model

Measure = Literal["meaning", "words"]
MEANING: Measure = "meaning"
WORDS: Measure = "words"
MISS = 0.025  # the share of requests like the validation ones that may be called out of scope
UNFAMILIAR = 0.05  # ... that may be called unfamiliar
CAP: dict[Measure, float] = {MEANING: 0.45, WORDS: 0.6}


@dataclass(frozen=True)
class Scope:
    measure: Measure
    threshold: float  # in scope at this nearness or more ...
    familiar: float  # ... and of a kind it trained on at this share of its words learned
    n: int = 0  # validation requests it was fitted on (0: the caps alone)

    def holds(self, near: Nearness) -> bool:
        return near.by(self.measure) >= self.threshold

    def knows(self, near: Nearness) -> bool:
        return near.words >= self.familiar


@dataclass(frozen=True)
class Nearness:
    """How near a request comes to the model's training requests, by each measure it can read."""

    meaning: float | None  # None without an encoder
    words: float

    def by(self, measure: Measure) -> float:
        return self.words if self.meaning is None or measure == WORDS else self.meaning


def measure_of(model: Model) -> Measure:
    return WORDS if model.references is None else MEANING


def unfitted(model: Model) -> Scope:
    """The scope of a model not yet fitted (or whose fit was for a measure it cannot read)."""
    return fit(measure_of(model), ())


def nearness(model: Model, text: str, step: Step) -> Nearness:
    """How near a request (its first decision: `step`) comes to the model's training ones."""
    words = learned_share(step, model.params["w_pi"])
    if model.references is None or model.meaning is None:
        return Nearness(None, words)
    return Nearness(nearest(model.references, model.meaning(text)), words)


def nearest(references: NDArray[np.float16], meaning: NDArray[np.float16]) -> float:
    """The cosine of a request's meaning with the nearest of the references (unit rows)."""
    if not len(references):
        return 0.0
    return float((references @ meaning.astype(np.float16)).astype(np.float32).max())


def learned_share(step: Step, w_pi: Table) -> float:
    """The share of a decision's request word features the policy learned: whose rows are not
    zero for at least half the actions on offer. A row shares its place in the hashed table
    with others', so one that is not zero says little (a fifth of a trained table is not); most
    of a word's rows say it was read in training."""
    if not step.words:
        return 0.0
    return float(((w_pi[step.word_rows()] != 0).mean(axis=0) >= 0.5).mean())


def fit(measure: Measure, nearness: Sequence[Nearness]) -> Scope:
    """The scope of a model whose validation requests come this near to its training ones."""
    low = quantile([near.by(measure) for near in nearness], MISS)
    familiar = quantile([near.words for near in nearness], UNFAMILIAR)
    threshold = CAP[measure] if low is None else min(low, CAP[measure])
    if familiar is None:
        return Scope(measure, threshold, CAP[WORDS])
    return Scope(measure, threshold, familiar, len(nearness))


def quantile(values: Sequence[float], share: float) -> float | None:
    """Split conformal's lower `share` quantile of `values`; None where they are too few."""
    rank = math.floor(share * (len(values) + 1))
    return float(np.sort(np.asarray(values, dtype=float))[rank - 1]) if rank >= 1 else None
