"""A scenario's model, as a run makes it: its toolbox read from the scenario's tools and from
what the training tasks call them for, and with a sentence encoder, what the tools and the
training requests mean (the requests are what `in_scope` measures against)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from agentgym.weights import MAX_REFERENCES
from trainer.meaning import Encoder
from trainer.model.config import Config
from trainer.model.features import Toolbox
from trainer.model.model import Model
from trainer.model.toolbox import tool_texts
from trainer.scenarios.base import ScenarioSpec


def make_model(
    spec: ScenarioSpec,
    config: Config,
    encoder: Encoder | None,
    training: Sequence[str],
    usage: Mapping[str, int],
    terms: Mapping[str, Mapping[str, int]],
) -> Model:
    """`spec`'s model (untrained) reading requests with `encoder` (None: words alone), its
    tools as the training requests (`training`: their texts) call them (`usage`: how many call
    each; `terms`: the terms of their requests, per tool)."""
    toolbox = Toolbox(
        spec.tools,
        spec.descriptions,
        spec.fallbacks,
        usage=usage,
        usage_terms=terms,
        familiar=config.familiar,
        meanings=None
        if encoder is None
        else np.stack([encoder.meaning(text) for text in tool_texts(spec)]).astype(np.float32),
    )
    if encoder is None:
        return Model(config, toolbox)
    texts = list(dict.fromkeys(training))
    texts = texts[:: max(1, math.ceil(len(texts) / MAX_REFERENCES))]  # evenly, past that
    references = np.stack([encoder.meaning(text) for text in texts]) if texts else None
    return Model(config, toolbox, encoder.meaning, references)
