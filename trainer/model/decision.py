"""A model's next choice for a request, given the calls made so far: what `act` answers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agentgym.act import ActAnswer
from trainer.model.conformal import prediction_set
from trainer.model.features import FAILED, OK, State
from trainer.model.model import Model
from trainer.model.scope import nearness

FINISH = "finish"


def decide(
    model: Model,
    text: str,
    calls: Sequence[tuple[str, bool]],
    tools: Sequence[str] | None = None,
    plan: bool = True,
) -> ActAnswer:
    """The model's next choice for a request after `calls` ((tool, succeeded), in order),
    offering `tools` (None: all the model's): the probability of each tool scored and of
    finishing, and (with `plan`) the greedy plan from here, assuming each call succeeds.
    ValueError for a tool the model does not have."""
    index = model.toolbox.index
    unknown = [t for t in [*(tools or ()), *(tool for tool, _ in calls)] if t not in index]
    if unknown:
        raise ValueError(f"the model has no tools {sorted(set(unknown))}")
    offered = sorted({index[t] for t in tools}) if tools is not None else None
    context = model.context(text, offered)
    history = [(index[tool], OK if ok else FAILED) for tool, ok in calls]
    step, probs, _ = model.decide(context, State.of_calls(history))
    # Whether the request is of those it trained on, read from the request as it came (the
    # calls made since change nothing of that).
    first = step if not history else context.step(State.of_calls([]))
    near = nearness(model, text, first)
    in_scope = model.scope.holds(near)
    names = [model.tools[int(t)] for t in context.candidates] + [FINISH]
    planned: list[str] = []
    following = probs
    limit = model.config.max_progress + len(history) if plan else 0
    while len(history) < limit:
        action = int(following.argmax())
        if action == len(context.candidates):
            break
        tool = int(context.candidates[action])
        history.append((tool, OK))
        planned.append(model.tools[tool])
        _, following, _ = model.decide(context, State.of_calls(history))
    conformal = model.conformal
    chosen = [names[int(a)] for a in prediction_set(probs, conformal)]
    return ActAnswer(
        next=names[int(np.argmax(probs))],
        probabilities={name: float(p) for name, p in zip(names, probs, strict=True)},
        plan=planned,
        confidence=float(probs.max()),  # calibrated: the chance the next choice is right
        in_scope=in_scope,
        prediction_set=chosen,
        coverage=None if conformal is None else conformal.coverage,
        unsure=not in_scope or not model.scope.knows(near) or len(chosen) > 1,
    )
