"""Training really learns, deterministically, and resumes exactly from a checkpoint."""

from __future__ import annotations

import pytest

from agentgym import bundle
from agentgym.weights import LEARNER_NAME
from trainer.run import Run


def weights_of(run: Run) -> bytes:
    return run.policy.weights()


def test_the_seed_ui_defaults_give_a_climbing_accuracy() -> None:
    """200 episodes at a learning rate of 0.001, as the seed UI starts them."""
    run = Run("customer_support", learning_rate=0.001, seed=0, max_episodes=200)
    for _ in range(100):
        run.train_episode()
    first = run.metrics()
    while not run.finished:
        run.train_episode()
    last = run.metrics()
    assert last["accuracy"] > first["accuracy"]
    assert last["avg_reward"] > first["avg_reward"] + 0.3
    assert run.evaluate_heldout() > 5.0


@pytest.mark.parametrize("scenario_id", ["customer_support", "code_review", "data_analysis"])
def test_two_thousand_episodes_solve_most_heldout_tasks(scenario_id: str) -> None:
    run = Run(scenario_id, learning_rate=0.001, seed=1, max_episodes=2000)
    while not run.finished:
        run.train_episode()
    assert run.evaluate_heldout() >= 80.0
    assert run.metrics()["accuracy"] >= 70.0


def test_same_seed_and_hyperparameters_give_the_same_run_bit_for_bit() -> None:
    runs = [Run("code_review", 0.002, seed=11, max_episodes=150) for _ in range(2)]
    for run in runs:
        while not run.finished:
            run.train_episode()
    assert weights_of(runs[0]) == weights_of(runs[1])
    assert (
        runs[0].bundle("LangChain")[0].weights_sha256
        == runs[1].bundle("LangChain")[0].weights_sha256
    )
    assert runs[0].metrics() == runs[1].metrics()
    other = Run("code_review", 0.002, seed=12, max_episodes=150)
    while not other.finished:
        other.train_episode()
    assert weights_of(other) != weights_of(runs[0])


def test_a_run_restored_from_a_checkpoint_continues_exactly() -> None:
    straight = Run("customer_support", 0.001, seed=4, max_episodes=300)
    interrupted = Run("customer_support", 0.001, seed=4, max_episodes=300)
    for _ in range(120):
        interrupted.train_episode()
    resumed = Run.restore(interrupted.checkpoint())
    assert resumed.episode == 120 and resumed.metrics() == interrupted.metrics()
    for run in (straight, resumed):
        while not run.finished:
            run.train_episode()
    assert weights_of(resumed) == weights_of(straight)
    assert resumed.metrics() == straight.metrics()


def test_the_bundle_carries_the_policy_and_acts_the_same() -> None:
    run = Run("data_analysis", 0.001, seed=2, max_episodes=400)
    while not run.finished:
        run.train_episode()
    expected = run.evaluate()
    manifest, data = run.bundle("CrewAI")
    assert manifest.learner == LEARNER_NAME and manifest.metrics.episodes == 400
    assert bundle.unpack(data)[0] == manifest
    loaded, _ = Run.from_bundle(data)
    assert loaded.evaluate() == expected
    assert set(expected.per_tool) == set(run.spec.tools)
    for scores in expected.per_tool.values():
        assert scores["precision"] is None or 0.0 <= scores["precision"] <= 1.0
        assert 0.0 <= (scores["recall"] or 0.0) <= 1.0


def test_evaluation_changes_nothing_in_the_run() -> None:
    run = Run("customer_support", 0.001, seed=3, max_episodes=50)
    for _ in range(20):
        run.train_episode()
    before = run.checkpoint()
    run.evaluate()
    assert run.checkpoint() == before


def test_a_trained_bundle_chooses_the_tools_for_a_new_request(tmp_path: object) -> None:
    import subprocess
    import sys
    from pathlib import Path

    run = Run("customer_support", 0.001, seed=0, max_episodes=2000)
    while not run.finished:
        run.train_episode()
    loaded, _ = Run.from_bundle(run.bundle("LangChain")[1])
    ticket = "I forgot my password and the reset email never arrives, can you help me log in?"
    assert loaded.choose_tools(ticket) == ["lookup_user", "verify_identity", "send_reset_link"]
    path = Path(str(tmp_path)) / "model.agm"
    path.write_bytes(run.bundle("LangChain")[1])
    printed = subprocess.run(
        [sys.executable, "-m", "agentgym.cli", "act", "--model", str(path), ticket],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert printed.strip() == "customer_support: lookup_user -> verify_identity -> send_reset_link"
