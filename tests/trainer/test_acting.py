"""A trained model's next choice for a request (`Run.act`), given the calls made so far
(whether the request is of those it trained on: tests/trainer/test_scope.py)."""

from __future__ import annotations

import pytest

from trainer import scenarios
from trainer.run import Run
from trainer.training.loop import train


@pytest.fixture(scope="module")
def trained() -> Run:
    run = Run(scenarios.get("customer_support"), 0.05, seed=0, max_episodes=2000, encoder=None)
    train(run)
    return run


def test_the_next_choice_follows_the_calls_made_so_far(trained: Run) -> None:
    task = trained.heldout[0]
    fresh = trained.act(task.text, ())
    assert fresh.plan == trained.choose_tools(task.text)
    assert fresh.next == fresh.plan[0] == max(fresh.probabilities, key=fresh.probabilities.get)  # type: ignore[arg-type]
    assert sum(fresh.probabilities.values()) == pytest.approx(1.0)
    assert set(fresh.probabilities) == {*trained.spec.tools, "finish"}
    after_first = trained.act(task.text, [(fresh.plan[0], True)])
    assert after_first.plan == fresh.plan[1:]
    everything = trained.act(task.text, [(tool, True) for tool in fresh.plan])
    assert everything.plan == []  # it would finish, or repeat itself: the plan ends
    failed = trained.act(task.text, [(fresh.plan[0], False)])
    assert failed.probabilities != fresh.probabilities  # a failure is read as one


def test_only_the_tools_on_offer_are_scored(trained: Run) -> None:
    offered = list(trained.spec.tools[:3])
    decision = trained.act(trained.heldout[0].text, (), offered)
    assert set(decision.probabilities) == {*offered, "finish"}
    assert set(decision.plan) <= set(offered)
    with pytest.raises(ValueError, match="teleport"):
        trained.act("hello", [("teleport", True)])
