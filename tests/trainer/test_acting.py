"""A trained model's next choice for a request (`Run.act`), and whether the request is like
those it trained on, measured on the held-out requests and on off-topic ones."""

from __future__ import annotations

import pytest

from trainer import scenarios
from trainer.run import IN_SCOPE, Run
from trainer.training.loop import train

# Requests no built-in scenario is about, as a new user might try them.
OFF_TOPIC = (
    "What's the weather in Paris tomorrow?", "Write me a poem about the sea",
    "Who won the football match last night?", "Translate 'good morning' into Japanese",
    "What is the capital of Australia?", "Recommend a good pizza recipe",
    "How tall is Mount Everest?", "Play some jazz music", "Tell me a joke about cats",
    "What time is sunset in Tokyo?", "Explain quantum entanglement simply",
    "How many calories are in a banana?", "Who painted the Mona Lisa?",
    "Summarize the plot of Hamlet", "Is it going to rain this weekend in Berlin?",
)  # fmt: skip


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


def test_off_topic_requests_are_out_of_scope_and_held_out_ones_in(trained: Run) -> None:
    heldout = [trained.act(task.text, ()) for task in trained.heldout]
    off = [trained.act(text, ()) for text in OFF_TOPIC]
    in_scope = sum(d.in_scope for d in heldout) / len(heldout)
    flagged = sum(not d.in_scope for d in off) / len(off)
    assert in_scope >= 0.95 and flagged >= 0.9, (in_scope, flagged, IN_SCOPE)
    assert min(d.confidence for d in heldout) > max(d.confidence for d in off) - 0.1
