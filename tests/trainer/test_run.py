"""Training really learns, deterministically, resumes exactly from a checkpoint, and packs the
policy that did best on its validation tasks."""

from __future__ import annotations

import dataclasses
import io
import json
import time
import zipfile

import numpy as np
import pytest

from agentgym import bundle
from agentgym.errors import BundleError
from agentgym.weights import LEARNER_NAME
from trainer import scenarios
from trainer.model.config import Config
from trainer.model.model import params_of
from trainer.run import Run
from trainer.scenarios.base import ScenarioSpec
from trainer.training.evaluation import validation_split
from trainer.training.loop import Evaluating, StopAt
from trainer.training.loop import train as train_loop

VALIDATION_SHARE = Config().validation_share

EVAL_EVERY = 100  # as the trainer's tests run the worker


def weights_of(run: Run) -> bytes:
    return run.model.weights()


def spec(scenario_id: str) -> ScenarioSpec:
    return scenarios.get(scenario_id)


def train(run: Run, until: int | None = None, evaluate: bool = True) -> Run:
    """Train to `until` (a multiple of the batch, or the end), evaluating every EVAL_EVERY
    episodes as a worker does: the one training loop, as every entry point drives it."""
    callbacks = [Evaluating(EVAL_EVERY)] if evaluate else []
    train_loop(run, [*callbacks, StopAt(until or 0)])
    return run


def test_the_seed_ui_defaults_solve_a_good_share_of_the_heldout_tasks() -> None:
    """200 episodes at a learning rate of 0.001, as the seed UI starts them."""
    heldout, first, last = [], [], []
    for seed in range(5):
        run = Run(spec("customer_support"), learning_rate=0.001, seed=seed, max_episodes=200)
        train(run, 100, evaluate=False)
        first.append(run.metrics())
        train(run, evaluate=False)
        last.append(run.metrics())
        assert last[-1]["avg_reward"] > first[-1]["avg_reward"] + 0.3
        heldout.append(run.evaluate_heldout())
    assert sum(m["accuracy"] for m in last) > sum(m["accuracy"] for m in first)
    assert min(heldout) >= 40.0  # the bar: a user who clicks "Start" sees learning


@pytest.mark.parametrize("scenario_id", ["customer_support", "code_review", "data_analysis"])
def test_two_thousand_episodes_solve_most_heldout_tasks(scenario_id: str) -> None:
    run = train(Run(spec(scenario_id), learning_rate=0.001, seed=1, max_episodes=2000))
    assert run.evaluate_heldout() >= (95.0 if scenario_id == "customer_support" else 85.0)
    assert run.metrics()["accuracy"] >= 70.0  # sampled, and some episodes by descriptions alone


def test_same_seed_and_hyperparameters_give_the_same_run_bit_for_bit() -> None:
    runs = [train(Run(spec("code_review"), 0.002, seed=11, max_episodes=300)) for _ in range(2)]
    assert weights_of(runs[0]) == weights_of(runs[1])
    assert (
        runs[0].bundle("LangChain")[0].weights_sha256
        == runs[1].bundle("LangChain")[0].weights_sha256
    )
    assert runs[0].metrics() == runs[1].metrics()
    other = train(Run(spec("code_review"), 0.002, seed=12, max_episodes=300))
    assert weights_of(other) != weights_of(runs[0])


# A shortlist of 4: its decisions score the tools the policy chose as it was at the start of
# the shortlists' epoch (model.SHORTLIST_EPOCH), here one begun before the checkpoint.
@pytest.mark.parametrize(
    ("config", "until", "total"),
    [(Config(), 350, 600), (dataclasses.replace(Config(), shortlist=4), 650, 900)],
    ids=["every-tool", "shortlist"],
)
def test_a_run_restored_from_a_checkpoint_continues_exactly_and_keeps_its_best(
    config: Config, until: int, total: int
) -> None:
    straight = Run(spec("customer_support"), 0.001, seed=4, max_episodes=total, config=config)
    interrupted = train(
        Run(spec("customer_support"), 0.001, seed=4, max_episodes=total, config=config), until
    )
    resumed = Run.restore(interrupted.checkpoint(), spec("customer_support"))
    assert resumed.episode == until and resumed.metrics() == interrupted.metrics()
    assert resumed.best is not None and interrupted.best is not None
    assert resumed.best.episode == interrupted.best.episode
    for run in (straight, resumed):
        train(run)
    assert weights_of(resumed) == weights_of(straight)
    assert resumed.metrics() == straight.metrics()
    packed, expected = resumed.bundle("CrewAI")[0], straight.bundle("CrewAI")[0]
    assert packed.weights_sha256 == expected.weights_sha256
    assert packed.metrics == expected.metrics


def test_an_evaluation_a_pause_put_off_is_made_on_resuming_as_if_never_paused() -> None:
    straight = train(Run(spec("customer_support"), 0.001, seed=2, max_episodes=500))
    paused = Run(spec("customer_support"), 0.001, seed=2, max_episodes=500)
    train(paused, 200)
    # A pause arrives during the update that reaches 300: its evaluation waits.
    asked = lambda: paused.episode >= 300  # noqa: E731
    train_loop(paused, [Evaluating(EVAL_EVERY, asked), StopAt(interrupted=asked)])
    assert paused.episode == 300 and paused.evaluation_due
    assert paused.heldout_episode == 200
    resumed = Run.restore(paused.checkpoint(), spec("customer_support"))
    assert resumed.evaluation_due
    train_loop(resumed, [Evaluating(EVAL_EVERY), StopAt(310)])
    assert resumed.heldout_episode == 300 and not resumed.evaluation_due
    train(resumed)
    assert weights_of(resumed) == weights_of(straight)
    packed, expected = resumed.bundle("CrewAI")[0], straight.bundle("CrewAI")[0]
    assert packed.weights_sha256 == expected.weights_sha256
    assert packed.metrics == expected.metrics


def test_a_run_asked_to_stop_before_it_began_trains_nothing() -> None:
    run = train(Run(spec("customer_support"), 0.001, seed=2, max_episodes=500), 100)
    train_loop(run, [Evaluating(EVAL_EVERY), StopAt(interrupted=lambda: True)])
    assert run.episode == 100


def test_a_slice_begun_past_its_deadline_still_trains_an_update() -> None:
    # A busy machine may hand the slot its call late: it trains, rather than spin idle.
    run = Run(spec("customer_support"), 0.001, seed=2, max_episodes=500)
    train_loop(run, [StopAt(deadline=time.perf_counter() - 1.0)])
    assert run.episode == run.config.batch


def test_a_checkpoint_is_only_restored_for_its_own_scenario() -> None:
    data = train(Run(spec("customer_support"), 0.001, seed=4, max_episodes=20)).checkpoint()
    with pytest.raises(ValueError, match="customer_support"):
        Run.restore(data, spec("code_review"))


def test_the_bundle_packs_the_policy_that_did_best_on_validation() -> None:
    run = train(Run(spec("data_analysis"), 0.001, seed=2, max_episodes=600))
    assert run.best is not None
    best = run.best
    manifest, data = run.bundle("CrewAI")
    assert manifest.learner == LEARNER_NAME and manifest.metrics.episodes == 600
    assert manifest.metrics.best_episode == best.episode
    assert manifest.metrics.heldout_accuracy == best.heldout_accuracy
    assert bundle.unpack(data)[0] == manifest
    loaded, _ = Run.from_bundle(data, spec("data_analysis"))
    params, references = params_of(bundle.unpack(data)[1])
    for name, table in params.items():
        assert np.array_equal(table, best.params[name])
    assert references is None  # it reads words alone (the encoder's: tests/trainer/test_scope.py)
    assert loaded.evaluate().accuracy == best.heldout_accuracy
    expected = loaded.evaluate()
    assert set(expected.per_tool) == set(run.spec.tools)
    for scores in expected.per_tool.values():
        assert scores["precision"] is None or 0.0 <= scores["precision"] <= 1.0
        assert 0.0 <= (scores["recall"] or 0.0) <= 1.0


def test_a_run_validated_alone_keeps_the_same_best_and_measures_it_held_out_at_the_end() -> None:
    """`agentgym train`: held-out tasks only report, so they are measured once, on the best."""
    watched = train(Run(spec("data_analysis"), 0.001, seed=2, max_episodes=600))
    alone = Run(spec("data_analysis"), 0.001, seed=2, max_episodes=600)
    train_loop(alone, [Evaluating(EVAL_EVERY, heldout=False)])
    assert alone.heldout_episode is None  # never measured while it trained
    assert watched.best is not None and alone.best is not None
    assert alone.best.episode == watched.best.episode
    evaluation = alone.evaluate_best()
    assert evaluation.accuracy == watched.best.heldout_accuracy == alone.best.heldout_accuracy
    manifest, data = alone.bundle("CrewAI")
    assert manifest.metrics.heldout_accuracy == evaluation.accuracy
    assert data == watched.bundle("CrewAI", created_at=manifest.created_at)[1]


def test_the_policy_of_the_last_episode_is_a_candidate_for_the_bundle() -> None:
    """Never evaluated: the bundle evaluates the policy as it is, and packs it."""
    run = train(Run(spec("customer_support"), 0.001, seed=3, max_episodes=150), evaluate=False)
    manifest, data = run.bundle("AutoGen")
    assert manifest.metrics.best_episode == 150
    assert bundle.unpack(data)[1] == run.model.weights()


def test_evaluation_changes_nothing_in_the_run() -> None:
    run = train(Run(spec("customer_support"), 0.001, seed=3, max_episodes=50), 20)
    before = run.checkpoint()
    run.evaluate()
    assert run.checkpoint() == before


def test_the_validation_split_is_carved_from_training_by_intent_and_stable() -> None:
    cs = spec("customer_support")
    run = Run(cs, 0.001, seed=0, max_episodes=1)
    train_tasks, heldout = cs.split()
    validation = {t.id for t in run.validation}
    assert validation and not validation & {t.id for t in heldout}
    assert not validation & {t.id for t in run.training_tasks}
    assert len(validation) + len(run.training_tasks) == len(train_tasks)
    for intent in {t.intent for t in train_tasks}:
        of_intent = [t for t in train_tasks if t.intent == intent]
        held = [t for t in run.validation if t.intent == intent]
        assert len(held) == int(len(of_intent) * VALIDATION_SHARE + 0.5)
    assert validation_split(train_tasks, VALIDATION_SHARE, 500) == validation_split(
        list(train_tasks), VALIDATION_SHARE, 500
    )
    assert {t.id for t in Run(cs, 0.01, seed=9, max_episodes=1).validation} == validation


def narrowed(scenario_id: str) -> ScenarioSpec:
    """The scenario with each task offering only its solution's tools and two others."""
    base = spec(scenario_id)
    tasks = []
    for i, task in enumerate(base.tasks):
        others = [t for t in base.tools if t not in task.solution]
        extra = {others[i % len(others)], others[(i * 7 + 3) % len(others)]}
        fallbacks = {base.fallbacks[t] for t in task.solution if t in base.fallbacks}
        offered = set(task.solution) | extra | fallbacks
        tasks.append(dataclasses.replace(task, tools=tuple(t for t in base.tools if t in offered)))
    return dataclasses.replace(base, tasks=tuple(tasks))


def test_the_policy_never_calls_a_tool_its_task_does_not_offer() -> None:
    scenario = narrowed("customer_support")
    run = Run(scenario, 0.001, seed=0, max_episodes=300)
    offered = {t.id: set(t.tools) for t in scenario.tasks}
    calls = 0
    for _ in range(2):  # sampled episodes, before training and after
        for episode in run.simulator.episodes(run.model, run.rng, 150):
            assert {tool for tool, _ in episode.calls} <= offered[episode.task.id]
            calls += len(episode.calls)
        train(run)
    assert calls > 300
    assert run.evaluate_heldout() > 50.0
    for task in scenario.split()[1][:20]:
        assert set(run.choose_tools(task.text, task.tools)) <= set(task.tools)


def test_a_trained_bundle_chooses_the_tools_for_a_new_request(tmp_path: object) -> None:
    import subprocess
    import sys
    from pathlib import Path

    run = train(Run(spec("customer_support"), 0.001, seed=0, max_episodes=2000))
    loaded, _ = Run.from_bundle(run.bundle("LangChain")[1], spec("customer_support"))
    ticket = "I forgot my password and the reset email never arrives, can you help me log in?"
    assert loaded.choose_tools(ticket) == ["lookup_user", "verify_identity", "send_reset_link"]
    offered = ["lookup_user", "send_reset_link", "refund"]
    assert set(loaded.choose_tools(ticket, offered)) <= set(offered)
    with pytest.raises(ValueError, match="no tools"):
        loaded.choose_tools(ticket, ["lookup_user", "teleport"])
    path = Path(str(tmp_path)) / "model.agm"
    path.write_bytes(run.bundle("LangChain")[1])
    printed = subprocess.run(
        [sys.executable, "-m", "agentgym.cli", "act", "--model", str(path), ticket],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    first, sets, scope = printed.strip().splitlines()
    assert first == "customer_support: lookup_user -> verify_identity -> send_reset_link"
    assert sets.strip().startswith("next: right with 95% probability among: lookup_user")
    assert scope.strip().startswith("in scope (confidence ")


def old_bundle() -> bytes:
    """A bundle as the previous learner wrote it: its name, its (65,536, tools + 1) table."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, shape in (("w_pi", (1 << 16, 12)), ("w_v", (1 << 16,))):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.zeros(shape))
            archive.writestr(f"{name}.npy", member.getvalue())
    weights = buffer.getvalue()
    manifest = bundle.describe(
        weights,
        scenario_id="customer_support",
        scenario_version="1",
        learner="agentgym-linear-actor-critic/1",
        framework="LangChain",
        hyperparameters={"max_episodes": 10, "learning_rate": 0.001, "seed": 0},
        metrics=json.loads('{"accuracy": 1.0, "heldout_accuracy": 1.0, "episodes": 10}'),
    )
    return bundle.pack(manifest, weights)


def test_a_bundle_of_the_older_learner_asks_to_be_retrained() -> None:
    data = old_bundle()
    assert bundle.unpack(data)[0].metrics.best_episode is None  # old manifests still read
    with pytest.raises(BundleError, match=r"older learner.*retrain"):
        Run.from_bundle(data, spec("customer_support"))


def test_a_bundle_is_only_loaded_for_its_own_scenario() -> None:
    data = train(Run(spec("customer_support"), 0.001, seed=1, max_episodes=10)).bundle("AutoGen")
    with pytest.raises(BundleError, match="customer_support"):
        Run.from_bundle(data[1], spec("code_review"))
