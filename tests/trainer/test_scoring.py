"""The model's one scoring function and the hand-derived gradient of its one loss, against
central finite differences of the loss as trainer/model/scoring.py's docstring states it:

    mean over decisions of  -weight * log p(action) - entropy * H(p) + value_weight * (return - v)^2

where p is the softmax of each action's score (the sum of its rows' coefficients times their
weights, plus its meaning row times the request's embedding) and v the mean of the decision's
value rows (the last term only where the decision is valued).
"""

from __future__ import annotations

import numpy as np
import pytest

from agentgym.weights import FEATURES, MEANING_DIMENSIONS, MEANING_SLOTS, VALUE_FEATURES
from trainer.model.config import Config
from trainer.model.features import FAILED, OK, WRONG, State, Toolbox, build_context
from trainer.model.model import Model
from trainer.model.scoring import Targets, gradients, layout, logits, softmax

TOOLS = ("lookup_user", "send_reset_link", "refund")
DESCRIPTIONS = {
    "lookup_user": "Find the customer's account by email address.",
    "send_reset_link": "Email the customer a link to choose a new password.",
    "refund": "Refund a charge to the customer's card.",
}
H = 1e-6
ENTROPY, VALUE_WEIGHT = 0.01, 0.5


def _decisions(meaning: bool) -> list:  # type: ignore[type-arg]
    config = Config()
    toolbox = Toolbox(TOOLS, DESCRIPTIONS, {"refund": "lookup_user"}, usage={"refund": 3})
    rng = np.random.default_rng(3)
    embedding = rng.normal(size=MEANING_DIMENSIONS).astype(np.float16) if meaning else None
    context = build_context(
        config, toolbox, "forgot my password, email me a reset link", (0, 1, 2), embedding
    )
    other = build_context(config, toolbox, "refund order 1182 twice", (0, 2), None)
    return [
        context.step(State.of_calls([])),
        context.step(State.of_calls([(0, OK)])),
        context.step(State.of_calls([(0, OK), (1, FAILED)])),
        other.step(State.of_calls([(1, WRONG), (0, OK)])),
    ]


def _tables(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        rng.normal(scale=0.3, size=FEATURES),
        rng.normal(scale=0.05, size=(MEANING_SLOTS, MEANING_DIMENSIONS)),
        rng.normal(scale=0.3, size=VALUE_FEATURES),
    )


def _loss(w, mu, v, steps, targets: Targets) -> float:  # type: ignore[no-untyped-def]
    """The loss, written from the statement above, one decision at a time."""
    total = 0.0
    for k, step in enumerate(steps):
        z = np.zeros(step.n_actions)
        np.add.at(z, step.owner, step.coef * w[step.rows])
        if step.meaning is not None:
            z += step.slot_scale * (mu[step.slots] @ step.meaning)
        p = np.exp(z - z.max())
        p /= p.sum()
        total -= targets.weights[k] * np.log(p[targets.actions[k]] + 1e-12)
        total -= ENTROPY * -(p * np.log(p + 1e-12)).sum()
        if targets.valued[k]:
            value = v[step.value_rows].mean()
            total += VALUE_WEIGHT * (value - targets.returns[k]) ** 2
    return total / len(steps)


@pytest.mark.parametrize("meaning", [False, True])
def test_the_gradient_matches_finite_differences_of_the_stated_loss(meaning: bool) -> None:
    rng = np.random.default_rng(0)
    w, mu, v = _tables(rng)
    steps = _decisions(meaning)
    targets = Targets(
        actions=np.array([0, 1, 1, 2]),
        weights=np.array([1.0, -0.4, 0.7, 1.3]),
        returns=np.array([0.5, 0.0, -0.3, 1.0]),
        valued=np.array([True, False, True, True]),
    )
    scratch = np.empty(FEATURES, dtype=np.int32)
    grads = gradients(
        w, mu, v, layout(steps, MEANING_DIMENSIONS), targets, ENTROPY, VALUE_WEIGHT, scratch
    )
    assert grads.loss == pytest.approx(_loss(w, mu, v, steps, targets), rel=1e-9)

    def numeric(table: np.ndarray, index: tuple[int, ...]) -> float:
        saved = table[index]
        table[index] = saved + H
        up = _loss(w, mu, v, steps, targets)
        table[index] = saved - H
        down = _loss(w, mu, v, steps, targets)
        table[index] = saved
        return (up - down) / (2 * H)

    for row, grad in list(zip(grads.w_rows, grads.w, strict=True))[::37]:
        assert grad == pytest.approx(numeric(w, (row,)), rel=1e-5, abs=1e-9)
    for row, grad in zip(grads.v_rows, grads.v, strict=True):
        assert grad == pytest.approx(numeric(v, (row,)), rel=1e-5, abs=1e-9)
    assert len(grads.mu_slots) > 0 if meaning else len(grads.mu_slots) == 0
    for i, slot in enumerate(grads.mu_slots):
        for d in (0, 7, 200):
            assert grads.mu[i, d] == pytest.approx(numeric(mu, (slot, d)), rel=1e-5, abs=1e-9)


def test_acting_and_learning_score_a_decision_alike() -> None:
    """One scoring function: a decision scored alone (acting) and inside a batch (learning)."""
    model = Model(
        Config(), Toolbox(TOOLS, DESCRIPTIONS, {"refund": "lookup_user"}, usage={"refund": 3})
    )
    w, mu, v = _tables(np.random.default_rng(1))
    model.load_params({"w_pi": w, "w_mu": mu, "w_v": v})
    steps = _decisions(False)
    batch = layout(steps, MEANING_DIMENSIONS)
    together = softmax(logits(w, mu, batch), batch.offsets)
    context = model.context("forgot my password, email me a reset link", (0, 1, 2))
    for k, calls in enumerate([[], [(0, OK)], [(0, OK), (1, FAILED)]]):
        _, alone, _ = model.decide(context, State.of_calls(calls))
        assert np.allclose(alone, together[batch.offsets[k] : batch.offsets[k + 1]])
        assert alone.sum() == pytest.approx(1.0)


def test_the_state_reads_the_calls_in_order_and_with_counts() -> None:
    state = State.of_calls([(0, OK), (1, OK), (1, OK), (2, WRONG), (2, FAILED)])
    assert state.counts == ((0, 1), (1, 2)) and state.progress == 3
    assert state.last == 2 and state.failed == 2 and state.wrong == (2,) and state.mistaken
    assert State.of_calls([(1, OK), (0, OK)]) != State.of_calls([(0, OK), (1, OK)])
