"""A trained model for the gateway's tests: customer_support, briefly."""

from __future__ import annotations

import pytest

from trainer import scenarios
from trainer.run import Run
from trainer.serving import Served
from trainer.training.loop import Evaluating, train


@pytest.fixture(scope="module")
def served() -> Served:
    run = Run(scenarios.get("customer_support"), 0.001, seed=0, max_episodes=600, encoder=None)
    train(run, [Evaluating(200)])
    return Served(run.bundle("LangChain")[1])
