"""The learner's hand-derived gradients against central finite differences of the loss its
docstring states, written out here from that statement alone.

Per step, with r the probability ratio of the step's action to the policy that acted and A
its advantage: -min(r A, clip(r, 1 - CLIP, 1 + CLIP) A) - ENTROPY * entropy
+ VALUE_WEIGHT * (return - value)^2 - IMITATION * log(probability of the action) if the step
was right (the next one has more progress, or it is the last of a solved episode), and then
also - MEANING_IMITATION * log(its probability under the meaning's scores alone: LOGIT_SCALE
times each action's meaning slot's row times the request's embedding) if that probability is
under MEANING_CONFIDENT, averaged over the episode's steps. An action's logit is
LOGIT_SCALE times: its familiarity times (the sum of its text rows plus the voice times its
meaning slot's row times the request's embedding), plus its dynamic rows, plus (1 + the step's gate) times the
scaled sum of its description rows; the value is the mean of the step's value rows plus the
sum of its summed rows.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray

from agentgym.weights import MEANING_DIMENSIONS
from trainer import learner
from trainer.features import GATES, Context
from trainer.learner import ADAM_BETAS, ADAM_EPS, DECAY_EPISODES, LEARNING_RATE_SCALE, Policy
from trainer.loss import (
    CLIP,
    ENTROPY,
    IMITATION,
    LOGIT_SCALE,
    MEANING_CONFIDENT,
    MEANING_IMITATION,
    VALUE_WEIGHT,
    Array,
    Batch,
    Step,
    batch_of,
    gradients,
    logits,
    returns_and_advantages,
    softmax,
)

TOOLS = ("lookup_user", "send_reset_link", "refund")
DESCRIPTIONS = {
    "lookup_user": "Find the customer's account by email address.",
    "send_reset_link": "Email the customer a link to choose a new password.",
    "refund": "Refund a charge to the customer's card.",
}
FALLBACKS = {"refund": "lookup_user"}
TEXT = "forgot my password, email me a reset link"
H = 1e-6  # central differences in float64: truncation ~H^2, rounding ~1e-16 / H
RTOL, ATOL = 1e-5, 1e-9
KINK_MARGIN = 0.01  # how far every ratio stays from the clip rule's kinks, so H never crosses one
SOLVED = True  # the episodes below end solved: their last step is imitated too
VOICE = 0.6  # how far the meaning counts (Policy.voice would give 1 under zero weights)
MEANT = 8  # the dimensions of the test's meanings that are not zero


# --- the loss, from its statement -----------------------------------------------------------


def stated_loss(
    w: Array, wv: Array, wmu: Array, batch: Batch, returns: Array, advantages: Array
) -> float:
    """The loss of the policy with full tables `w` (policy), `wv` (value), `wmu` (meaning)."""
    steps, n, _ = batch.text.shape
    total = 0.0
    for t in range(steps):
        logits = []
        for a in range(n):
            score = sum(float(w[f]) for f in batch.text[t, a])
            score += batch.voice * float(wmu[batch.slots[batch.slots_at[t, a]]] @ batch.meaning)
            score *= float(batch.familiarity[a])
            score += sum(
                float(w[f])
                for f, at in zip(batch.dynamic, batch.dynamic_at, strict=True)
                if at == t * n + a
            )
            described = sum(
                c * float(w[f])
                for f, act, c in zip(
                    batch.description,
                    batch.description_action,
                    batch.description_scale,
                    strict=True,
                )
                if act == a
            )
            score += (1.0 + float(w[batch.gates[t]])) * described
            logits.append(LOGIT_SCALE * score)
        top = max(logits)
        normalizer = sum(math.exp(z - top) for z in logits)
        probs = [math.exp(z - top) / normalizer for z in logits]
        averaged = [float(wv[f]) for f in batch.value_text[t]]
        averaged += [
            float(wv[f])
            for f, at in zip(batch.value_dynamic, batch.value_at, strict=True)
            if at == t
        ]
        value = sum(averaged) / len(averaged)
        value += sum(
            float(wv[f])
            for f, at in zip(batch.value_summed, batch.summed_at, strict=True)
            if at == t
        )
        action = int(batch.actions[t])
        ratio = probs[action] / float(batch.probs[t, action])
        clipped_ratio = min(max(ratio, 1 - CLIP), 1 + CLIP)
        surrogate = min(ratio * advantages[t], clipped_ratio * advantages[t])
        entropy = -sum(p * math.log(p) for p in probs)
        total += -surrogate - ENTROPY * entropy + VALUE_WEIGHT * (returns[t] - value) ** 2
        if batch.right[t]:
            total -= IMITATION * math.log(probs[action])
            meant = [
                LOGIT_SCALE * float(wmu[batch.slots[batch.slots_at[t, a]]] @ batch.meaning)
                for a in range(n)
            ]
            top = max(meant)
            normalizer = sum(math.exp(z - top) for z in meant)
            log_meant = meant[action] - top - math.log(normalizer)
            if math.exp(log_meant) < MEANING_CONFIDENT:
                total -= MEANING_IMITATION * log_meant
    return total / steps


def numeric_gradients(
    policy: Policy, batch: Batch, returns: Array, advantages: Array
) -> tuple[Array, Array, Array]:
    """Central differences of `stated_loss` in every parameter the batch reads (of the meaning
    table, the dimensions the test's meanings have: MEANT)."""
    w, wv, wmu = policy.params["w_pi"], policy.params["w_v"], policy.params["w_mu"]

    def derivative(table: Array, index: tuple[int, ...]) -> float:
        original = float(table[index])
        table[index] = original + H
        up = stated_loss(w, wv, wmu, batch, returns, advantages)
        table[index] = original - H
        down = stated_loss(w, wv, wmu, batch, returns, advantages)
        table[index] = original
        return (up - down) / (2 * H)

    return (
        np.array([derivative(w, (int(r),)) for r in batch.rows_pi]),
        np.array([derivative(wv, (int(r),)) for r in batch.rows_v]),
        np.array([[derivative(wmu, (int(r), d)) for d in range(MEANT)] for r in batch.slots]),
    )


# --- episodes ---------------------------------------------------------------------------------


def meaning_of(text: str) -> NDArray[np.float16]:
    """A unit vector standing for what `text` means: the gradients do not care which, and its
    first MEANT dimensions alone keep the finite differences quick."""
    v = np.zeros(MEANING_DIMENSIONS)
    v[:MEANT] = np.random.default_rng(len(text)).normal(size=MEANT)
    return (v / np.linalg.norm(v)).astype(np.float16)


def new_policy() -> tuple[Policy, Context]:
    policy = Policy(TOOLS, None, DESCRIPTIONS, FALLBACKS, meaning=meaning_of)
    return policy, policy.context(TEXT).voiced(VOICE)


def randomize(rng: np.random.Generator, policy: Policy, batch: Batch, scale: float = 1.0) -> None:
    """Random weights on every row the batch reads (gates around 0: a gate of about 1)."""
    policy.params["w_pi"][batch.rows_pi] += rng.normal(0.0, 0.1 * scale, len(batch.rows_pi))
    policy.params["w_mu"][batch.slots, :MEANT] += rng.normal(
        0.0, 0.1 * scale, (len(batch.slots), MEANT)
    )
    policy.params["w_v"][batch.rows_v] += rng.normal(0.0, 0.3 * scale, len(batch.rows_v))


def random_episode(rng: np.random.Generator, policy: Policy, context: Context) -> list[Step]:
    """Steps through states of every kind (done tools, wrong ones, a failure, a mistake made),
    each with an action sampled from the policy and a reward."""
    states = [
        ((), (), None, False),
        ((), (1,), None, True),
        ((0,), (), 2, True),
        ((0, 1), (2,), 1, False),
        ((0, 1, 2), (), None, True),
    ]
    steps = []
    for done, wrong, failed, mistaken in states:
        rows = policy.observe(context, done, wrong, failed, mistaken)
        probs, value = policy.forward(context, rows)
        action = int(rng.choice(context.n_actions, p=probs))
        reward = float(rng.choice([-0.05, -0.02, 0.5, 1.0, -1.0]))
        steps.append(Step(rows, probs, value, action, reward))
    return steps


def acted(rng: np.random.Generator) -> tuple[Policy, Context, list[Step], Batch]:
    """A policy with random weights, and an episode it acted."""
    policy, context = new_policy()
    first = random_episode(rng, policy, context)
    randomize(rng, policy, batch_of(context, first, SOLVED))
    steps = random_episode(rng, policy, context)
    return policy, context, steps, batch_of(context, steps, SOLVED)


def with_ratio(policy: Policy, context: Context, step: Step, ratio: float) -> Step:
    """The step as if a policy had acted, and taken the action `policy` finds least likely
    (so that any ratio from 0.5 up is possible), whose probability of it gives `ratio` now."""
    probs, _ = policy.forward(context, step.rows)
    action = int(probs.argmin())
    acting = probs.copy()
    acting[action] = probs[action] / ratio
    others = np.arange(len(probs)) != action
    acting[others] = probs[others] * (1 - acting[action]) / (1 - probs[action])
    assert 0 < acting[action] < 1
    return Step(step.rows, acting, step.value, action, step.reward)


def ratios(policy: Policy, context: Context, steps: list[Step]) -> Array:
    return np.array(
        [policy.forward(context, s.rows)[0][s.action] / s.probs[s.action] for s in steps]
    )


def where(rows: Array, wanted: Array) -> list[int]:
    """The positions of `wanted` in a batch's `rows` (distinct, in no particular order)."""
    position = {int(row): i for i, row in enumerate(rows)}
    return [position[int(row)] for row in wanted]


def compact(policy: Policy, batch: Batch) -> tuple[Array, Array, Array]:
    params = policy.params
    return params["w_pi"][batch.rows_pi], params["w_v"][batch.rows_v], params["w_mu"][batch.slots]


def assert_matches_finite_differences(
    policy: Policy, context: Context, steps: list[Step]
) -> tuple[Array, Array]:
    distance = np.abs(ratios(policy, context, steps)[:, None] - np.array([1 - CLIP, 1 + CLIP]))
    assert distance.min() > KINK_MARGIN, "a ratio sits on a kink of the clip rule"
    batch = batch_of(context, steps, SOLVED)
    returns, advantages = returns_and_advantages(steps)
    loss, grad_pi, grad_v, grad_mu = gradients(*compact(policy, batch), batch, returns, advantages)
    numeric_pi, numeric_v, numeric_mu = numeric_gradients(policy, batch, returns, advantages)
    np.testing.assert_allclose(grad_pi, numeric_pi, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad_v, numeric_v, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad_mu[:, :MEANT], numeric_mu, rtol=RTOL, atol=ATOL)
    assert not grad_mu[:, MEANT:].any() and np.abs(numeric_mu).max() > 1e-4
    assert np.abs(numeric_pi).max() > 1e-3 and np.abs(numeric_v).max() > 1e-3  # not all zero
    gates = where(batch.rows_pi, batch.gates)
    assert np.abs(numeric_pi[gates]).max() > 1e-4  # the gates are checked for real
    if np.all(np.abs(ratios(policy, context, steps) - 1) < CLIP):  # the loss reported is unclipped
        w, wv, wmu = policy.params["w_pi"], policy.params["w_v"], policy.params["w_mu"]
        stated = stated_loss(w, wv, wmu, batch, returns, advantages)
        assert loss == pytest.approx(stated, rel=1e-9)
    return grad_pi, grad_v


# --- the tests ----------------------------------------------------------------------------------


def test_the_right_steps_are_those_that_made_progress_and_the_last_of_a_solved_episode() -> None:
    policy, context = new_policy()
    steps = random_episode(np.random.default_rng(11), policy, context)  # progress 0 0 1 2 3
    assert list(batch_of(context, steps, solved=True).right) == [False, True, True, True, True]
    assert list(batch_of(context, steps, solved=False).right) == [False, True, True, True, False]


def test_the_batch_scores_each_step_as_the_policy_did_when_it_acted() -> None:
    policy, _, _, batch = acted(np.random.default_rng(10))
    np.testing.assert_allclose(
        softmax(logits(*compact(policy, batch)[::2], batch)), batch.probs, rtol=1e-12
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradients_match_finite_differences_on_the_policy_that_acted(seed: int) -> None:
    """The first epoch: every ratio is 1, well inside the trust region."""
    policy, context, steps, _ = acted(np.random.default_rng(seed))
    assert np.allclose(ratios(policy, context, steps), 1.0)
    assert_matches_finite_differences(policy, context, steps)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_gradients_match_finite_differences_inside_the_trust_region(seed: int) -> None:
    """A later epoch: the weights moved since the policy acted, but not past the clip."""
    rng = np.random.default_rng(seed)
    policy, context, steps, batch = acted(rng)
    randomize(rng, policy, batch, scale=0.02)
    moved = ratios(policy, context, steps)
    assert np.all(np.abs(moved - 1) < CLIP - KINK_MARGIN) and not np.allclose(moved, 1.0)
    assert_matches_finite_differences(policy, context, steps)


def test_gradients_follow_the_clip_rule_outside_the_trust_region() -> None:
    """A ratio past the trust region in the direction its advantage pushes it gives no
    surrogate gradient; past it the other way, the gradient still flows."""
    policy, context, steps, _ = acted(np.random.default_rng(6))
    # Ratios: clipped and clipped (with the advantages GAE gives these rewards), then not.
    rewards_and_ratios = [(1.0, 1.5), (-1.0, 0.5), (1.0, 0.5), (-1.0, 1.5)]
    steps = [
        with_ratio(policy, context, Step(s.rows, s.probs, 0.0, s.action, reward), ratio)
        for s, (reward, ratio) in zip(steps, rewards_and_ratios, strict=False)
    ]
    np.testing.assert_allclose(ratios(policy, context, steps), [r for _, r in rewards_and_ratios])
    assert list(np.sign(returns_and_advantages(steps)[1])) == [1, -1, 1, -1]
    grad_pi, _ = assert_matches_finite_differences(policy, context, steps)

    # Without the clip rule the gradient would differ: the test above can tell.
    unclipped = [with_ratio(policy, context, s, 1.0) for s in steps]
    batch = batch_of(context, steps, SOLVED)
    returns, advantages = returns_and_advantages(steps)
    unclipped_batch = batch_of(context, unclipped, SOLVED)
    unclipped_batch.actions = batch.actions
    _, unclipped_pi, _, _ = gradients(*compact(policy, batch), unclipped_batch, returns, advantages)
    assert not np.allclose(grad_pi, unclipped_pi, rtol=RTOL, atol=ATOL)


def test_clipped_steps_leave_only_the_entropy_and_value_gradient() -> None:
    policy, context, steps, _ = acted(np.random.default_rng(7))
    steps = [with_ratio(policy, context, steps[0], 1.4), with_ratio(policy, context, steps[1], 0.6)]
    batch = batch_of(context, steps, SOLVED)
    advantages, returns = np.array([1.0, -1.0]), np.array([0.3, -0.2])
    _, grad_pi, _, _ = gradients(*compact(policy, batch), batch, returns, advantages)
    _, no_advantage_pi, _, _ = gradients(*compact(policy, batch), batch, returns, np.zeros(2))
    np.testing.assert_allclose(grad_pi, no_advantage_pi, rtol=1e-12, atol=1e-15)
    assert_matches_finite_differences(policy, context, steps)


def test_value_gradient_matches_finite_differences_with_summed_rows() -> None:
    """A mistake's row is added to the value, the others averaged: both checked."""
    policy, _, steps, batch = acted(np.random.default_rng(8))
    assert len(batch.value_summed) > 0
    returns = np.array([2.0, -1.5, 0.7, 0.1, -0.4])  # far from the values: a large error
    advantages = np.zeros(len(steps))
    _, _, grad_v, _ = gradients(*compact(policy, batch), batch, returns, advantages)
    _, numeric_v, _ = numeric_gradients(policy, batch, returns, advantages)
    np.testing.assert_allclose(grad_v, numeric_v, rtol=RTOL, atol=ATOL)
    summed = where(batch.rows_v, batch.value_summed)
    assert np.abs(grad_v[summed]).min() > 1e-3


def test_update_applies_these_gradients_with_adam(monkeypatch: pytest.MonkeyPatch) -> None:
    """One epoch of `Policy.update` moves the rows read by Adam's first step on `gradients`,
    at the scheduled step size, and no other row."""
    monkeypatch.setattr(learner, "EPOCHS", 1)
    policy, context, steps, batch = acted(np.random.default_rng(9))
    policy.updates = 150  # the schedule has decayed a third of the way
    before = {name: table.copy() for name, table in policy.params.items()}
    returns, advantages = returns_and_advantages(steps)
    loss, grad_pi, grad_v, grad_mu = gradients(*compact(policy, batch), batch, returns, advantages)
    learning_rate = 0.01

    assert policy.update(context, steps, learning_rate, SOLVED) == loss

    beta1, beta2 = ADAM_BETAS
    step_size = (
        LEARNING_RATE_SCALE
        * learning_rate
        / (1 + 150 / DECAY_EPISODES)
        * math.sqrt(1 - beta2)
        / (1 - beta1)
    )
    for name, rows, grad in (
        ("w_pi", batch.rows_pi, grad_pi),
        ("w_v", batch.rows_v, grad_v),
        ("w_mu", batch.slots, grad_mu),
    ):
        m, v = (1 - beta1) * grad, (1 - beta2) * grad**2
        expected = before[name][rows] - step_size * m / (np.sqrt(v) + ADAM_EPS)
        np.testing.assert_allclose(policy.params[name][rows], expected, rtol=1e-12, atol=1e-14)
        untouched = np.ones(len(before[name]), dtype=bool)
        untouched[rows] = False
        assert np.array_equal(policy.params[name][untouched], before[name][untouched])
    assert policy.updates == 151 and policy.t == 1


def test_the_gates_have_a_row_per_progress() -> None:
    assert len(set(GATES.tolist())) == len(GATES)
