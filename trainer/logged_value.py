"""A model's value on the held-out logs of a scenario: how much reward it would have earned
where the logged agent acted, estimated off-policy (trainer/offpolicy.py).

Each held-out log with an outcome and a call is one decision: its first call, in the context
of its request and the tools it offered, credited with the episode's outcome (the rule for now:
what comes after the first call is the logged agent's, whichever policy chose the first). The
model's probability of that first tool is the target; the logged probability, where every
decision has one, the logging policy's. The reward model, for DR and DM, is
trainer/reward_model.py's `NearestRewards`, of the outcomes of the training logs by their first
call: fitted on other logs than the held-out ones it corrects. A session's evaluations report it
beside held-out accuracy, and `POST /api/models/{id}/evaluate` does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trainer.model.decision import decide
from trainer.model.model import Model
from trainer.offpolicy import Estimates, estimate
from trainer.reward_model import NearestRewards
from trainer.scenarios.base import LogSpec


def logged_value(
    model: Model, logs: Sequence[LogSpec], limit: int | None = None
) -> Estimates | None:
    """The model's estimated value on the scenario's held-out logs (the first `limit` of
    them, while a session trains: all at its end); None with none to use."""
    index = model.toolbox.index
    heldout = [
        log for log in logs
        if log.split == "heldout" and log.reward is not None and log.calls
        and log.calls[0].tool in index
    ][:limit]  # fmt: skip
    if not heldout:
        return None
    trained = [log for log in logs if log.split == "train" and log.reward is not None and log.calls]
    # Fitted on the training logs; where there are none (another scenario's logs, all held
    # out), on the other half of the held-out ones (cross-fitting).
    parts = [trained] if trained else [heldout[1::2], heldout[::2]]
    reward_models = [
        NearestRewards(
            [log.text for log in part],
            [[(log.calls[0].tool, float(log.reward or 0.0))] for log in part],
            model.meaning,
        )
        for part in parts
    ]
    targets, predicted_logged, predicted_value = [], [], []
    for i, log in enumerate(heldout):
        offered = None if log.tools is None else [t for t in log.tools if t in index]
        answer = decide(model, log.text, (), offered)
        first = log.calls[0].tool
        targets.append(answer.probabilities.get(first, 0.0))
        reward_of = reward_models[i % len(reward_models)]
        predicted = reward_of.predict(reward_of.of(log.text), [*answer.probabilities, first])
        predicted_logged.append(float(predicted[-1]))
        policy = np.array(list(answer.probabilities.values()))
        predicted_value.append(float(predicted[:-1] @ policy))
    probabilities = [log.calls[0].probability for log in heldout]
    return estimate(
        np.array([log.reward for log in heldout], dtype=float),
        np.array(targets),
        None if any(p is None for p in probabilities) else np.array(probabilities, dtype=float),
        np.array(predicted_logged),
        np.array(predicted_value),
    )
