"""Recorded episodes and an evaluation's analytics, counted off episodes the real
environment played (a scripted agent, so every figure is known)."""

from __future__ import annotations

import dataclasses

import pytest

from agentgym.contracts import EpisodeRecord, Framework
from agentgym.messages import EpisodeFrame
from trainer.env import ToolUseEnv
from trainer.publisher import _episode as publisher_episode
from trainer.recorded import analyze, record
from trainer.scenarios.base import ScenarioSpec, TaskSpec
from trainer.training.loop import Recording, StopAt, train
from trainer.training.sources import Trajectory

TOOLS = ("lookup", "backup", "reply", "other")
SPEC = ScenarioSpec(
    id="scripted",
    version="1",
    tools=TOOLS,
    tasks=(
        TaskSpec("t-1", "where is my order", ("lookup", "reply"), "order"),
        TaskSpec("t-2", "thanks", ("reply",), "thanks", tools=("reply", "other")),
    ),
    failure_rates={"lookup": 1.0},  # it always fails: its fallback stands in
    fallbacks={"lookup": "backup"},
)


def play(task: TaskSpec, script: list[str]) -> dict[str, object]:
    """Play `script` (tool names, then "finish") in the environment; each choice given
    probability 0.5."""
    env = ToolUseEnv(SPEC, tasks=SPEC.tasks)
    env.reset(seed=0, options={"task": task})
    episode = Trajectory("simulator", task)
    for name in script:
        action = env.finish if name == "finish" else env.index[name]
        _, reward, terminated, truncated, _ = env.step(action)
        episode.probabilities.append(0.5)
        episode.rewards.append(float(reward))
        if terminated or truncated:
            break
    assert env.episode is not None
    episode.calls, episode.solved = env.episode.calls, env.episode.solved
    return record(SPEC, episode, "heldout", 7)


def test_each_call_says_what_was_expected_and_whether_it_was_right() -> None:
    played = play(SPEC.tasks[0], ["lookup", "backup", "other", "reply", "finish"])
    calls = played.calls
    assert isinstance(calls, list)
    assert [(c.tool, c.succeeded, c.expected, c.right) for c in calls] == [
        ("lookup", False, "lookup", True),  # right, but it failed transiently
        ("backup", True, "lookup", True),  # the fallback, right after the failure
        ("other", True, "reply", False),  # a mistake
        ("reply", True, "reply", True),
        ("finish", True, "finish", True),
    ]
    assert played.solved is False  # the mistake
    assert played.reward == pytest.approx(sum(c.reward for c in calls))
    assert played.episode == 7 and played.split == "heldout"
    assert played.tools == list(TOOLS) and played.solution == ["lookup", "reply"]
    assert all(c.probability == 0.5 for c in calls)
    # Built without validation (it is ours), it is what the API validates it as.
    assert EpisodeRecord.model_validate_json(played.model_dump_json()) == played


def test_a_fallback_before_its_tool_failed_is_a_mistake() -> None:
    played = play(SPEC.tasks[0], ["backup", "finish"])
    calls = played.calls
    assert isinstance(calls, list)
    assert [(c.expected, c.right) for c in calls] == [("lookup", False), ("lookup", False)]


def test_an_evaluation_counts_confusion_intents_calls_and_recoveries() -> None:
    records = [
        play(SPEC.tasks[0], ["lookup", "backup", "other", "reply", "finish"]),
        play(SPEC.tasks[1], ["reply", "finish"]),
        play(SPEC.tasks[1], ["lookup", "reply", "finish"]),  # lookup is not offered here
    ]
    figures = analyze(records, TOOLS)
    assert figures["accuracy"] == pytest.approx(100 / 3)
    assert figures["per_intent"] == {
        "order": {"tasks": 1, "accuracy": 0.0},
        "thanks": {"tasks": 2, "accuracy": 50.0},
    }
    assert {(c["expected"], c["chosen"]): c["count"] for c in figures["confusion"]} == {
        ("lookup", "lookup"): 1,
        ("lookup", "backup"): 1,
        ("reply", "other"): 1,
        ("reply", "reply"): 3,
        ("finish", "finish"): 3,
        ("reply", "unavailable"): 1,
    }
    assert figures["mean_calls"] == pytest.approx(7 / 3)
    assert figures["recovery"] == {"failures": 1, "recovered": 1, "rate": 100.0}
    per_tool = figures["per_tool"]
    assert per_tool["lookup"] == {"precision": 0.5, "recall": 1.0}  # the fallback completed it
    assert per_tool["backup"] == {"precision": 1.0, "recall": 0.0}
    assert per_tool["other"]["precision"] == 0.0
    assert per_tool["reply"] == {"precision": 1.0, "recall": 1.0}


def test_a_tool_never_called_has_no_precision() -> None:
    figures = analyze([play(SPEC.tasks[1], ["reply", "finish"])], TOOLS)
    assert figures["per_tool"]["backup"]["precision"] is None
    assert figures["recovery"]["rate"] is None


def test_a_run_evaluates_the_same_with_and_without_analytics() -> None:
    """Recording changes nothing the run measured before: same accuracy, same reward."""
    from trainer import scenarios
    from trainer.run import Run

    run = Run(scenarios.get("customer_support"), 0.05, seed=0, max_episodes=300, encoder=None)
    train(run)
    full, plain = run.evaluate(), run.evaluate(analytics=False)
    assert (full.accuracy, full.avg_reward) == pytest.approx((plain.accuracy, plain.avg_reward))
    assert len(full.episodes) == len(run.heldout) and not plain.episodes
    assert sum(c["count"] for c in full.analytics["confusion"]) == sum(
        len(e.calls) for e in full.episodes
    )


def test_a_run_records_a_sample_of_its_training_and_its_evaluations_now_and_then() -> None:
    from trainer import scenarios
    from trainer.run import Run

    run = Run(scenarios.get("customer_support"), 0.05, seed=0, max_episodes=300, encoder=None)
    every = run.config.record_every
    train(run, [Recording(), StopAt(2 * every + 10)])
    numbers = [r.episode for r in run.recorded]
    # The last simulated episode of the update that reached each multiple of record_every.
    assert len(numbers) == 2 and every - 20 < numbers[0] <= every
    assert 2 * every - 20 < numbers[1] <= 2 * every
    run.update()
    last = run.episode
    run.evaluate_heldout()  # the episode before it first, then each held-out task's
    episodes = [(r.split, r.episode) for r in run.recorded]
    assert episodes[2][0] == "train" and last - 10 < episodes[2][1] <= last
    assert episodes[3:] == [("heldout", last)] * len(run.heldout)
    assert run.report is not None and run.report["episode"] == last
    assert run.report["heldout_accuracy"] == run.heldout_accuracy
    assert run.metrics()["heldout_episode"] == last

    # Later evaluations are reported each time, their episodes recorded once in
    # record_heldout_every episodes (each is a message on the bus) and at the end.
    run.recorded.clear()
    run.update()
    run.evaluate_heldout()
    assert [r.split for r in run.recorded] == ["train"]
    assert run.report["episode"] == run.episode
    run.bundle(Framework.LANGCHAIN)  # the model saved: what it was measured on is recorded
    assert [r.split for r in run.recorded].count("heldout") == len(run.heldout)
    run.config = dataclasses.replace(run.config, record_heldout_every=run.episode + 5)
    run.update()
    run.evaluate_heldout()
    assert [r.split for r in run.recorded].count("heldout") == 2 * len(run.heldout)


def test_a_recorded_episode_goes_out_as_the_feed_declares_its_frame() -> None:
    """The publisher writes an episode's message bytes itself: they read as an EpisodeFrame."""
    played = play(SPEC.tasks[1], ["reply", "finish"])
    _, payload, _ = publisher_episode("s-1", 3, played.model_dump_json().encode())
    frame = EpisodeFrame.decode(payload)
    assert (frame.type, frame.session_id, frame.seq, frame.data) == ("episode", "s-1", 3, played)
