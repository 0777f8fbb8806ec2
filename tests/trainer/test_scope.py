"""Whether a request is of those a model trained on (trainer/model/scope.py), as a saved model
answers it: its held-out requests in scope, other domains' out (tests/data/off_domain.txt), an
intent it never trained on unsure; by meaning with the sentence encoder, by words without."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from agentgym import bundle
from agentgym.act import ActAnswer
from tests.benchmarks.calibration import spec_of
from trainer import scenarios
from trainer.model.model import params_of, weights_of
from trainer.run import Run
from trainer.scenarios.base import ScenarioSpec, TaskSpec
from trainer.training.loop import Evaluating, train

DATA = Path(__file__).resolve().parents[1] / "data"
OFF_DOMAIN = [
    line.strip()
    for line in (DATA / "off_domain.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]
# Of customer_support's domain, in words none of its tasks has.
SARAH = "Hey, I cannot remember my password, this is Sarah from HR"


@pytest.fixture(scope="module")
def encoder_on() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AGENTGYM_ENCODER", "auto")  # the suite reads words alone otherwise
        yield


def saved(
    spec: ScenarioSpec, episodes: int = 1500, words: bool = False
) -> tuple[Run, bundle.Manifest]:
    """A run's saved model, loaded from its bundle alone as `act` loads it."""
    run = Run(spec, 0.001, seed=0, max_episodes=episodes, **({"encoder": None} if words else {}))
    train(run, [Evaluating(100)])
    return Run.from_bundle(run.bundle("LangChain")[1])


def answers(run: Run, texts: Sequence[str]) -> list[ActAnswer]:
    return [run.act(text, ()) for text in texts]


def share(found: Sequence[ActAnswer], field: str, value: bool = True) -> float:
    return sum(getattr(answer, field) == value for answer in found) / len(found)


def heldout_texts(run: Run) -> list[str]:
    return [task.text for task in scenarios.get(run.spec.id).split()[1]]


def test_by_meaning_held_out_requests_are_in_scope_and_other_domains_out(
    encoder_on: None,
) -> None:
    run, manifest = saved(scenarios.get("customer_support"))
    assert manifest.scope is not None and manifest.scope.measure == "meaning"
    assert manifest.scope.n > 0  # fitted on the validation requests
    heldout, off = answers(run, heldout_texts(run)), answers(run, OFF_DOMAIN)
    assert share(heldout, "in_scope") >= 0.95
    assert share(off, "in_scope", False) >= 0.9
    assert all(answer.unsure for answer in off if not answer.in_scope)
    assert run.act(SARAH, ()).in_scope  # its meaning, not its words


def test_by_words_alone_held_out_requests_are_in_scope_and_other_domains_out() -> None:
    run, manifest = saved(scenarios.get("customer_support"), words=True)
    assert manifest.scope is not None and manifest.scope.measure == "words"
    heldout, off = answers(run, heldout_texts(run)), answers(run, OFF_DOMAIN)
    assert share(heldout, "in_scope") >= 0.95
    assert share(off, "in_scope", False) >= 0.85


def test_an_intent_never_trained_on_is_unsure_and_trained_ones_are_not(encoder_on: None) -> None:
    spec = scenarios.get("code_review")
    unseen = set(sorted({task.intent for task in spec.tasks})[::5])
    tasks = tuple(
        dataclasses.replace(task, split="heldout") if task.intent in unseen else task
        for task in spec.tasks
    )
    run, _ = saved(dataclasses.replace(spec, tasks=tasks))
    held: list[TaskSpec] = [task for task in tasks if task.split == "heldout"]
    never = answers(run, [task.text for task in held if task.intent in unseen])
    trained = answers(run, [task.text for task in held if task.intent not in unseen])
    assert share(never, "unsure") >= 0.5
    assert share(trained, "unsure") <= 0.1


def test_with_hundreds_of_tools_on_offer_held_out_requests_stay_in_scope(
    encoder_on: None,
) -> None:
    spec = spec_of("many_tools")
    run, _ = saved(spec, episodes=100)
    assert len(run.spec.tools) > 400
    found = answers(run, [task.text for task in spec.split()[1]])  # every tool on offer
    assert share(found, "in_scope") >= 0.95


def test_requests_whose_right_move_is_no_tool_are_learned(encoder_on: None) -> None:
    """Tasks whose solution is empty teach finishing at once: the agent answers alone."""
    base = scenarios.get("customer_support")
    chat = [
        "thanks, that's all I needed", "ok great, bye!", "hello there", "you've been very "
        "helpful, cheers", "no that's everything, thank you", "hi!", "good morning",
        "perfect, thanks a lot", "that solved it, have a nice day", "cool, thanks",
        "appreciate the help", "hey", "alright, bye for now", "many thanks, all sorted",
        "great, nothing else", "thank you so much!", "got it, thanks", "ok that works, bye",
        "hi, anyone there?", "brilliant, cheers",
    ]  # fmt: skip
    small_talk = tuple(
        TaskSpec(f"talk-{k}", text, (), "small_talk", "heldout" if k % 5 == 0 else "train")
        for k, text in enumerate(chat)
    )
    run, _ = saved(dataclasses.replace(base, tasks=base.tasks + small_talk))
    found = answers(run, [task.text for task in small_talk if task.split == "heldout"])
    assert all((answer.next, answer.plan) == ("finish", []) for answer in found), found


def test_a_bundle_from_before_its_scope_was_kept_acts_by_words(encoder_on: None) -> None:
    run = Run(scenarios.get("data_analysis"), 0.001, seed=0, max_episodes=100)
    train(run, [Evaluating(100)])
    manifest, data = bundle.unpack(run.bundle("LangChain")[1])
    params, references = params_of(data)
    assert references is not None and np.array_equal(references, run.model.references)
    older = weights_of(params)  # no references, and no scope in the manifest
    fields = manifest.model_dump(exclude={"scope", "weights_sha256", "weights_size"})
    loaded, _ = Run.from_bundle(bundle.pack(bundle.describe(older, **fields), older))
    assert loaded.model.references is None and loaded.model.scope.measure == "words"
    answer = loaded.act(run.heldout[0].text, ())
    assert answer.next == run.act(run.heldout[0].text, ()).next
