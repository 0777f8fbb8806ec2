"""A model's value on the held-out logs of a scenario: how much reward it would have earned
where the logged agent acted, estimated off-policy (trainer/offpolicy.py).

Each held-out log with an outcome and a call is one decision: its first call, in the context
of its request and the tools it offered, credited with the episode's outcome (the rule for now:
what comes after the first call is the logged agent's, whichever policy chose the first). The
model's probability of that first tool is the target; the logged probability, where every
decision has one, the logging policy's. The reward model, for DR and DM, is
trainer/reward_model.py's `NearestRewards`, of the outcomes of the training logs by their first
call: fitted on other logs than the held-out ones it corrects. A session's evaluations report it
beside held-out accuracy, and `POST /api/models/{id}/evaluate` does; the improvement loop's gate
estimates the paired difference of two models on the same logs (`paired_difference`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from agentgym.act import ToolOffered
from trainer import gate
from trainer.model.decision import FINISH, decide
from trainer.model.model import Model
from trainer.offpolicy import Estimates, estimate
from trainer.reward_model import Meaning, NearestRewards, Neighbours
from trainer.scenarios.base import LogSpec, ScenarioSpec

if TYPE_CHECKING:  # serving imports run, which imports this module
    from trainer.serving import Served


def logged_value(
    model: Model, logs: Sequence[LogSpec], limit: int | None = None
) -> Estimates | None:
    """The model's estimated value on the scenario's held-out logs (the first `limit` of
    them, while a session trains: all at its end); None with none to use."""
    heldout = _heldout(logs, model.toolbox.index)[:limit]
    if not heldout:
        return None
    reward_models = _reward_models(logs, heldout, model.meaning)
    near = _neighbours(reward_models, heldout)
    targets, predicted_logged, predicted_value = [], [], []
    for i, log in enumerate(heldout):
        offered = None if log.tools is None else [t for t in log.tools if t in model.toolbox.index]
        answer = decide(model, log.text, (), offered)
        first = log.calls[0].tool
        targets.append(answer.probabilities.get(first, 0.0))
        reward_of = reward_models[i % len(reward_models)]
        predicted = reward_of.predict(near[i], [*answer.probabilities, first])
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


@dataclass(frozen=True)
class Paired:
    """The gate's paired terms (trainer/gate.py's `paired_terms`) of candidate minus serving
    model, their effective sample size (None: the logs carry no probabilities), and the
    serving model's own value's terms on the same decisions (doubly robust; the reward model's
    alone without probabilities): what a model put in its place must hold."""

    terms: NDArray[np.float64]
    ess: float | None
    serving: NDArray[np.float64]
    disagreed: int = 0  # decisions where the two models' first choices differ ...
    candidate_served: int = 0  # ... and of those, where the candidate's was the one served
    own_ess: float | None = None  # what speaks for the candidate's own choices (gate.own_ess)


def paired_difference(
    candidate: Served, serving: Served, spec: ScenarioSpec, with_reward_model: bool = True
) -> Paired:
    """Candidate against serving model on the spec's held-out logs (held out by time:
    ARCHITECTURE.md), each acting as it serves: its first choice among the tools each log
    offered (those it never saw read by their descriptions), the gateway's exploration alike
    for both and so cancelling out. Decisions where the two choose alike weigh nothing. Without
    `with_reward_model`, the IPS difference (the reward model's predictions taken as 0)."""
    heldout = _heldout(spec.logs, None)
    if not heldout:
        return Paired(np.zeros(0), None, np.zeros(0))
    reward_models = _reward_models(spec.logs, heldout, candidate.model.meaning)
    near = _neighbours(reward_models, heldout)
    chosen: list[tuple[str, str]] = []
    predicted: list[NDArray[np.float64]] = []  # q of the candidate's, the serving's, the logged
    for i, log in enumerate(heldout):
        names = list(log.tools) if log.tools is not None else list(spec.tools)
        offered = [ToolOffered(name=t, description=spec.descriptions.get(t, "")) for t in names]
        c = _first(candidate.act(log.text, (), offered, plan=False).probabilities)
        s = _first(serving.act(log.text, (), offered, plan=False).probabilities)
        chosen.append((c, s))
        reward_of = reward_models[i % len(reward_models)]
        found = reward_of.predict(near[i], [c, s, log.calls[0].tool])
        predicted.append(found if with_reward_model else np.zeros_like(found))
    q = np.array(predicted)
    first = [log.calls[0].tool for log in heldout]
    c_logged = np.array([float(f == c) for f, (c, _) in zip(first, chosen, strict=True)])
    s_logged = np.array([float(f == s) for f, (_, s) in zip(first, chosen, strict=True)])
    rewards = np.array([log.reward for log in heldout], dtype=float)
    probabilities = [log.calls[0].probability for log in heldout]
    logged = None if any(p is None for p in probabilities) else np.array(probabilities, float)
    terms, ess = gate.paired_terms(rewards, c_logged, s_logged, logged, q[:, 2], q[:, 0] - q[:, 1])
    own = q[:, 1] if logged is None else q[:, 1] + s_logged / logged * (rewards - q[:, 2])
    disagreed = [c != s for c, s in chosen]
    served = sum(d and f == c for d, f, (c, _) in zip(disagreed, first, chosen, strict=True))
    own_ess = None if logged is None else gate.own_ess(c_logged, s_logged, logged)
    return Paired(terms, ess, own, sum(disagreed), served, own_ess)


def _first(probabilities: Mapping[str, float]) -> str:
    """The tool a model serves first: its most likely (finishing is not a tool to serve)."""
    tools = {name: p for name, p in probabilities.items() if name != FINISH}
    return max(tools, key=tools.__getitem__)


def _heldout(logs: Sequence[LogSpec], index: Mapping[str, int] | None) -> list[LogSpec]:
    """The held-out logs with an outcome and a first call (of a tool in `index`, if given)."""
    return [
        log for log in logs
        if log.split == "heldout" and log.reward is not None and log.calls
        and (index is None or log.calls[0].tool in index)
    ]  # fmt: skip


def _reward_models(
    logs: Sequence[LogSpec], heldout: Sequence[LogSpec], meaning: Meaning | None
) -> list[NearestRewards]:
    """Reward models of the outcomes by first call: fitted on the training logs; where there
    are none (another scenario's logs, all held out), on the other half of the held-out ones
    (cross-fitting: log i is corrected by model i % 2)."""
    trained = [log for log in logs if log.split == "train" and log.reward is not None and log.calls]
    parts = [trained] if trained else [list(heldout[1::2]), list(heldout[::2])]
    return [
        NearestRewards(
            [log.text for log in part],
            [[(log.calls[0].tool, float(log.reward or 0.0))] for log in part],
            meaning,
        )
        for part in parts
    ]


def _neighbours(
    reward_models: Sequence[NearestRewards], heldout: Sequence[LogSpec]
) -> list[Neighbours]:
    """Each held-out log's neighbours in the reward model that corrects it (i % 2)."""
    found: list[Neighbours] = []
    every = len(reward_models)
    per_model = [
        m.of_all([log.text for log in heldout[j::every]]) for j, m in enumerate(reward_models)
    ]
    for i in range(len(heldout)):
        found.append(per_model[i % every][i // every])
    return found
