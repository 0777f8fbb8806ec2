"""A model's value on the held-out logs of a scenario: how much reward it would have earned
where the logged agent acted, estimated off-policy (trainer/offpolicy.py).

Each held-out log with an outcome and a call is one decision: its first call, in the context
of its request and the tools it offered, credited with the episode's outcome (the rule for now:
what comes after the first call is the logged agent's, whichever policy chose the first). The
model's probability of that first tool is the target; the logged probability, where every
decision has one, the logging policy's. The reward model, for DR and DM, is the mean outcome
of the training logs whose first call was each tool (the logs' mean for a tool none began with):
fitted on other logs than the held-out ones it corrects. A session's evaluations report it
beside held-out accuracy, and `POST /api/models/{id}/evaluate` does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from trainer.model.decision import FINISH, decide
from trainer.model.model import Model
from trainer.offpolicy import Estimates, estimate
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
    trained: dict[str, list[float]] = defaultdict(list)
    for log in logs:
        if log.split == "train" and log.reward is not None and log.calls:
            trained[log.calls[0].tool].append(log.reward)
    everything = [r for rewards in trained.values() for r in rewards]
    overall = float(np.mean(everything)) if everything else 0.0
    mean_of = {tool: float(np.mean(rewards)) for tool, rewards in trained.items()}
    targets, predicted_logged, predicted_value = [], [], []
    for log in heldout:
        offered = None if log.tools is None else [t for t in log.tools if t in index]
        answer = decide(model, log.text, (), offered)
        first = log.calls[0].tool
        targets.append(answer.probabilities.get(first, 0.0))
        predicted_logged.append(mean_of.get(first, overall))
        predicted_value.append(
            sum(
                p * (overall if tool == FINISH else mean_of.get(tool, overall))
                for tool, p in answer.probabilities.items()
            )
        )
    probabilities = [log.calls[0].probability for log in heldout]
    return estimate(
        np.array([log.reward for log in heldout], dtype=float),
        np.array(targets),
        None if any(p is None for p in probabilities) else np.array(probabilities, dtype=float),
        np.array(predicted_logged),
        np.array(predicted_value),
    )
