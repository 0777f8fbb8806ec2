"""The learner's hand-derived gradients against central finite differences of the loss its
docstring states, written out here from that statement alone.

Per step, with r the probability ratio of the step's action to the policy that acted and A
its advantage: -min(r A, clip(r, 1 - CLIP, 1 + CLIP) A) - ENTROPY * entropy
+ VALUE_WEIGHT * (return - value)^2, averaged over the episode's steps.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agentgym.weights import FEATURES
from trainer import learner
from trainer.learner import (
    ADAM_BETAS,
    ADAM_EPS,
    CLIP,
    ENTROPY,
    LOGIT_SCALE,
    VALUE_WEIGHT,
    Array,
    Indices,
    Policy,
    Step,
    gradients,
    returns_and_advantages,
    rows_of,
)

N_ACTIONS = 4  # three tools and finish
H = 1e-6  # central differences in float64: truncation ~H^2, rounding ~1e-16 / H
RTOL, ATOL = 1e-5, 1e-9
KINK_MARGIN = 0.01  # how far every ratio stays from the clip rule's kinks, so H never crosses one

Params = dict[str, Array]


# --- the loss, from its statement -----------------------------------------------------------


def stated_loss(params: Params, steps: list[Step], returns: Array, advantages: Array) -> float:
    total = 0.0
    for step, target, advantage in zip(steps, returns, advantages, strict=True):
        logits = [
            LOGIT_SCALE * sum(float(params["w_pi"][f, a]) for f in step.features)
            for a in range(N_ACTIONS)
        ]
        top = max(logits)
        normalizer = sum(math.exp(z - top) for z in logits)
        probs = [math.exp(z - top) / normalizer for z in logits]
        value = sum(float(params["w_v"][f]) for f in step.features) / len(step.features)
        ratio = probs[step.action] / float(step.probs[step.action])
        clipped_ratio = min(max(ratio, 1 - CLIP), 1 + CLIP)
        surrogate = min(ratio * advantage, clipped_ratio * advantage)
        entropy = -sum(p * math.log(p) for p in probs)
        total += -surrogate - ENTROPY * entropy + VALUE_WEIGHT * (target - value) ** 2
    return total / len(steps)


def numeric_gradients(
    params: Params, steps: list[Step], returns: Array, advantages: Array, rows: Indices
) -> tuple[Array, Array]:
    """Central differences of `stated_loss` in every parameter of `rows`."""

    def derivative(table: Array, index: tuple[int, ...]) -> float:
        original = float(table[index])
        table[index] = original + H
        up = stated_loss(params, steps, returns, advantages)
        table[index] = original - H
        down = stated_loss(params, steps, returns, advantages)
        table[index] = original
        return (up - down) / (2 * H)

    grad_pi = np.array(
        [[derivative(params["w_pi"], (int(r), a)) for a in range(N_ACTIONS)] for r in rows]
    )
    grad_v = np.array([derivative(params["w_v"], (int(r),)) for r in rows])
    return grad_pi, grad_v


# --- episodes ---------------------------------------------------------------------------------


def random_pool(rng: np.random.Generator, size: int) -> Indices:
    """Feature rows for an episode to draw from."""
    return rng.choice(FEATURES, size=size, replace=False).astype(np.intp)


def random_params(rng: np.random.Generator, pool: Indices) -> Params:
    params = {"w_pi": np.zeros((FEATURES, N_ACTIONS)), "w_v": np.zeros(FEATURES)}
    params["w_pi"][pool] = rng.normal(0.0, 0.1, (len(pool), N_ACTIONS))
    params["w_v"][pool] = rng.normal(0.0, 0.3, len(pool))
    return params


def random_episode(
    rng: np.random.Generator, params: Params, pool: Indices, n_steps: int = 5
) -> list[Step]:
    """Steps acted by the policy `params`: random features from `pool` (one of them twice, as
    a hashed feature table allows), the policy's probabilities and value, a sampled action and
    a reward."""
    steps = []
    for _ in range(n_steps):
        features = rng.choice(pool, size=6, replace=False).astype(np.intp)
        features = np.append(features, features[0])
        probs, value = learner.forward(params, features)
        action = int(rng.choice(N_ACTIONS, p=probs))
        reward = float(rng.choice([-0.05, -0.02, 0.5, 1.0, -1.0]))
        steps.append(Step(features, probs, value, action, reward))
    return steps


def with_ratio(step: Step, params: Params, ratio: float) -> Step:
    """The step as if a policy had acted, and taken the action `params` find least likely
    (so that any ratio from 0.5 up is possible), whose probability of it gives `ratio` now."""
    probs, _ = learner.forward(params, step.features)
    action = int(probs.argmin())
    acted = probs.copy()
    acted[action] = probs[action] / ratio
    others = np.arange(N_ACTIONS) != action
    acted[others] = probs[others] * (1 - acted[action]) / (1 - probs[action])
    assert 0 < acted[action] < 1
    return Step(step.features, acted, step.value, action, step.reward)


def ratios(params: Params, steps: list[Step]) -> Array:
    return np.array(
        [learner.forward(params, s.features)[0][s.action] / s.probs[s.action] for s in steps]
    )


def assert_matches_finite_differences(
    params: Params, steps: list[Step], returns: Array, advantages: Array
) -> tuple[Array, Array]:
    distance = np.abs(ratios(params, steps)[:, None] - np.array([1 - CLIP, 1 + CLIP]))
    assert distance.min() > KINK_MARGIN, "a ratio sits on a kink of the clip rule"
    rows = rows_of(steps)
    loss, grad_pi, grad_v = gradients(params, steps, returns, advantages, rows)
    numeric_pi, numeric_v = numeric_gradients(params, steps, returns, advantages, rows)
    np.testing.assert_allclose(grad_pi, numeric_pi, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad_v, numeric_v, rtol=RTOL, atol=ATOL)
    assert np.abs(numeric_pi).max() > 1e-3 and np.abs(numeric_v).max() > 1e-3  # not all zero
    if np.all(np.abs(ratios(params, steps) - 1) < CLIP):  # the loss reported is unclipped
        assert loss == pytest.approx(stated_loss(params, steps, returns, advantages), rel=1e-9)
    return grad_pi, grad_v


# --- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradients_match_finite_differences_on_the_policy_that_acted(seed: int) -> None:
    """The first epoch: every ratio is 1, well inside the trust region."""
    rng = np.random.default_rng(seed)
    pool = random_pool(rng, 12)
    params = random_params(rng, pool)
    steps = random_episode(rng, params, pool)
    returns, advantages = returns_and_advantages(steps)
    assert np.allclose(ratios(params, steps), 1.0)
    assert_matches_finite_differences(params, steps, returns, advantages)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_gradients_match_finite_differences_inside_the_trust_region(seed: int) -> None:
    """A later epoch: the weights moved since the policy acted, but not past the clip."""
    rng = np.random.default_rng(seed)
    pool = random_pool(rng, 12)
    acted = random_params(rng, pool)
    steps = random_episode(rng, acted, pool)
    returns, advantages = returns_and_advantages(steps)
    params = {name: table.copy() for name, table in acted.items()}
    params["w_pi"][pool] += rng.normal(0.0, 0.005, (len(pool), N_ACTIONS))
    params["w_v"][pool] += rng.normal(0.0, 0.05, len(pool))
    moved = ratios(params, steps)
    assert np.all(np.abs(moved - 1) < CLIP - KINK_MARGIN) and not np.allclose(moved, 1.0)
    assert_matches_finite_differences(params, steps, returns, advantages)


def test_gradients_follow_the_clip_rule_outside_the_trust_region() -> None:
    """A ratio past the trust region in the direction its advantage pushes it gives no
    surrogate gradient; past it the other way, the gradient still flows."""
    rng = np.random.default_rng(6)
    pool = random_pool(rng, 12)
    params = random_params(rng, pool)
    steps = random_episode(rng, params, pool, n_steps=4)
    # (ratio, advantage): clipped, clipped, not clipped, not clipped.
    cases = [(1.5, 0.8), (0.5, -0.6), (0.5, 0.7), (1.5, -0.9)]
    steps = [with_ratio(s, params, ratio) for s, (ratio, _) in zip(steps, cases, strict=True)]
    advantages = np.array([advantage for _, advantage in cases])
    returns = rng.normal(0.0, 1.0, len(steps))
    np.testing.assert_allclose(ratios(params, steps), [ratio for ratio, _ in cases])
    grad_pi, _ = assert_matches_finite_differences(params, steps, returns, advantages)

    # Without the clip rule the gradient would differ: the test above can tell.
    unclipped = [with_ratio(s, params, 1.0) for s in steps]
    _, unclipped_pi, _ = gradients(params, unclipped, returns, advantages, rows_of(steps))
    assert not np.allclose(grad_pi, unclipped_pi, rtol=RTOL, atol=ATOL)


def test_clipped_steps_leave_only_the_entropy_and_value_gradient() -> None:
    rng = np.random.default_rng(7)
    pool = random_pool(rng, 12)
    params = random_params(rng, pool)
    steps = random_episode(rng, params, pool, n_steps=2)
    steps = [with_ratio(steps[0], params, 1.4), with_ratio(steps[1], params, 0.6)]
    advantages, returns = np.array([1.0, -1.0]), np.array([0.3, -0.2])
    rows = rows_of(steps)
    _, grad_pi, _ = gradients(params, steps, returns, advantages, rows)
    _, no_advantage_pi, _ = gradients(params, steps, returns, np.zeros(2), rows)
    np.testing.assert_allclose(grad_pi, no_advantage_pi, rtol=1e-12, atol=1e-15)
    assert_matches_finite_differences(params, steps, returns, advantages)


def test_value_gradient_matches_finite_differences_with_repeated_features() -> None:
    """The value is the mean of its features' weights: a feature listed twice counts twice."""
    rng = np.random.default_rng(8)
    pool = random_pool(rng, 6)
    params = random_params(rng, pool)
    steps = random_episode(rng, params, pool, n_steps=3)
    steps[0].features = np.append(steps[0].features, steps[0].features[:3]).astype(np.intp)
    returns = np.array([2.0, -1.5, 0.7])  # far from the values: a large squared error
    advantages = np.zeros(3)
    rows = rows_of(steps)
    _, _, grad_v = gradients(params, steps, returns, advantages, rows)
    _, numeric_v = numeric_gradients(params, steps, returns, advantages, rows)
    np.testing.assert_allclose(grad_v, numeric_v, rtol=RTOL, atol=ATOL)
    assert np.abs(grad_v).min() > 1e-3  # every row of the value head is checked for real


def test_update_applies_these_gradients_with_adam(monkeypatch: pytest.MonkeyPatch) -> None:
    """One epoch of `Policy.update` moves the weights by Adam's first step on `gradients`."""
    monkeypatch.setattr(learner, "EPOCHS", 1)
    rng = np.random.default_rng(9)
    pool = random_pool(rng, 12)
    policy = Policy(("a", "b", "c"), rng)
    policy.params = random_params(rng, pool)
    steps = random_episode(rng, policy.params, pool)
    before = {name: table.copy() for name, table in policy.params.items()}
    rows = rows_of(steps)
    loss, grad_pi, grad_v = gradients(before, steps, *returns_and_advantages(steps), rows)
    learning_rate = 0.01

    assert policy.update(steps, learning_rate) == loss

    beta1, beta2 = ADAM_BETAS
    step_size = learning_rate * math.sqrt(1 - beta2) / (1 - beta1)
    for name, grad in (("w_pi", grad_pi), ("w_v", grad_v)):
        m, v = (1 - beta1) * grad, (1 - beta2) * grad**2
        expected = before[name][rows] - step_size * m / (np.sqrt(v) + ADAM_EPS)
        np.testing.assert_allclose(policy.params[name][rows], expected, rtol=1e-12, atol=1e-15)
        untouched = np.setdiff1d(np.arange(FEATURES), rows)
        assert np.array_equal(policy.params[name][untouched], before[name][untouched])
