"""Every hyperparameter of the learner, named, with its default, in one frozen dataclass.

A run's `Config` is stored in its checkpoints and in the model bundle it packs (as cleanrl's
`Args` and Stable-Baselines3's saved constructor arguments are), so a bundle says exactly how it
was trained, and `GET /api/models/{id}` shows it. A value a stored config does not name takes its
default here, and a name this learner does not know is refused: a bundle never silently means
something else.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Config:
    # --- what the policy reads (trainer/model/features.py) ---
    shortlist: int = 32  # tools scored in one decision at most (the best retrieved, + fallbacks)
    learned_pool: int = 256  # ... its learned picks among this many best matches (shortlist.py)
    max_progress: int = 12  # successful calls beyond this read as this many
    max_count: int = 3  # calls of one tool beyond this read as this many
    max_terms: int = 12  # request terms crossed with each tool's description terms
    text_weight: float = 1.0  # the request's words crossed with the action, per 1/sqrt(count)
    description_weight: float = 1.0  # request terms x description terms, per 1/sqrt(count)
    description_boost: float = 5.0  # ... up to 1 + this times as much for an unfamiliar tool
    description_later: float = 0.1  # ... and this times as much once any call was made
    count_weight: float = 0.5  # a tool's calls against what the request counts, per pair
    history_weight: float = 0.5  # what was called so far, crossed with the action
    shared_weight: float = 0.5  # what is true of any tool now (called, failed, its match)
    match_weight: float = 4.0  # ... its matches with the request as numbers, times this
    text_after_weight: float = 1.0  # ... and crossed with the action and the last call
    familiar: float = 5.0  # training tasks calling a tool that make its words count half
    usage_terms: int = 64  # a tool's most frequent terms in the training requests calling it
    identity_dropout: float = 0.2  # of learned episodes, the tools read by description alone
    text_dropout: float = 0.3  # of a learned episode's word features, left out (as dropout does)
    meaning_weight: float = 1.5  # the request's sentence embedding (unit length) times this
    # --- the objective (trainer/model/scoring.py) ---
    demonstration: float = 1.0  # weight of a demonstrated step's log-likelihood
    imitation: float = 0.5  # ... of a right call in a simulated episode (self-imitation)
    advantage: float = 1.0  # ... of the policy gradient's advantage in a simulated episode
    entropy: float = 0.01  # the entropy bonus, per step
    value_weight: float = 0.5  # the value's squared error to the return
    gamma: float = 0.9  # the discount of later rewards
    gae_lambda: float = 0.5  # generalized advantage estimation's trade of bias for variance
    # --- the optimizer (trainer/model/model.py) ---
    batch: int = 10  # episodes per update (a divisor of the worker's intervals: 100 and more)
    step: float = 0.05  # Adam's step at the reference learning rate ...
    reference_learning_rate: float = 0.001  # ... the API's default
    # How the step follows the session's learning rate: step * (rate / reference) ** this. Below
    # 1, so that the whole range the API accepts trains (a rate 50 times the default is a step
    # 7 times as long, and one a tenth of it a third as long).
    learning_rate_exponent: float = 0.5
    decay_updates: int = 100  # the step falls as 1 / (1 + updates / decay_updates) ** 0.5
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_eps: float = 1e-8
    # --- the sources (trainer/training/sources.py) ---
    demonstration_share: float = 0.75  # of episodes, where the scenario's tasks have solutions
    log_share: float = 0.5  # of episodes, from its logs where it has tasks too
    log_clip: float = 10.0  # a logged action's importance weight at most (training/logged.py)
    # --- evaluation and keeping the best (trainer/training/callbacks.py) ---
    window: int = 100  # training accuracy, reward and loss are over the last this many episodes
    validation_share: float = 0.125  # of each intent's training tasks, to choose the best by
    max_validation: int = 500  # validation tasks at most
    max_evaluated: int = 1000  # held-out tasks evaluated while training (all at the end)
    record_every: int = 50  # one training episode in this many is recorded
    # An evaluation's episodes (one per held-out task) are recorded the first time, once in
    # this many episodes, and at the end: each is a message on the bus, and every evaluation's
    # would be hundreds a second.
    record_heldout_every: int = 1000

    def learning_step(self, learning_rate: float) -> float:
        """Adam's step before its decay, for a session's learning rate."""
        ratio = learning_rate / self.reference_learning_rate
        return float(self.step * ratio**self.learning_rate_exponent)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        """The config `to_dict` gave; ValueError naming a value this learner does not know."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"hyperparameters this learner does not know: {unknown}")
        return cls(**values)
