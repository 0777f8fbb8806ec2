"""A run begun from a saved model's weights (Run.start_from): where the learner settings and
the sentence encoder are the same, whatever the tools; else afresh, saying so."""

from __future__ import annotations

import dataclasses

import numpy as np

from trainer import scenarios
from trainer.model.config import Config
from trainer.run import Run
from trainer.training.loop import train


def test_a_run_starts_from_weights_that_fit_and_afresh_from_others() -> None:
    spec = scenarios.get("customer_support")
    trained = Run(spec, 0.001, seed=1, max_episodes=30)
    train(trained, [])
    data = trained.bundle("LangChain")[1]
    # Another version of the scenario, a tool more: the weights fit all the same.
    more = dataclasses.replace(spec, tools=(*spec.tools, "escalate_to_legal"),
                               descriptions={**spec.descriptions, "escalate_to_legal": "Legal."})  # fmt: skip
    warm = Run(more, 0.001, seed=2, max_episodes=30)
    assert warm.start_from(data) and warm.warm_started
    for name, table in trained.model.params.items():
        assert np.array_equal(warm.model.params[name], table)
    assert warm.metrics()["warm_started"] is True
    other = Run(spec, 0.001, seed=2, max_episodes=30, config=Config(shortlist=16))
    assert not other.start_from(data) and other.warm_started is False
    assert not any(table.any() for table in other.model.params.values())  # afresh
    assert not Run(spec, 0.001, seed=2, max_episodes=30).start_from(b"not a bundle")
    assert "warm_started" not in Run(spec, 0.001, seed=2, max_episodes=1).metrics()
