"""The learner's loss and its gradients, pure: an episode laid out as a batch of rows, the
policy's logits and value over them, and PPO's clipped objective differentiated by hand
(tests/trainer/test_learner_gradients.py checks it against finite differences).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import NDArray

from agentgym.weights import FEATURES, MEANING_DIMENSIONS, VALUE_FEATURES
from trainer.features import GATES, Context, Rows, StepRows

GAMMA = 0.9
LOGIT_SCALE = 5
LAMBDA = 0.5  # GAE's trade between the value's bias and the returns' variance
CLIP = 0.2  # PPO's trust region on the probability ratio
ENTROPY = 0.003
VALUE_WEIGHT = 0.5
# Self-imitation (Oh et al., 2018): the cross-entropy toward each call the episode made that
# was right (it made progress, or it finished a solved task), weighted by this. PPO's gradient
# fades once a call is likely; this keeps widening the margin of what the agent found right,
# which is what carries to requests worded unlike any it trained on, and it learns the first
# few hundred episodes faster.
IMITATION = 0.5
# The meaning table's own self-imitation: the same cross-entropy, of the meaning's scores alone
# (each action's slot row times the embedding), weighted by this. A training request's words
# soon fit it, and its meaning then counts little in its scores (Policy.voice), so the combined
# loss leaves the meaning little to learn; this makes it a classifier of the right calls by
# itself, which is what chooses where the words are new.
MEANING_IMITATION = 0.5
# ... until the meaning alone gives the right call this probability: its weights stay bounded,
# so that over a long run it does not come to outvote the words where it counts only in part.
MEANING_CONFIDENT = 0.98

Array = NDArray[np.float64]


@dataclass
class Step:
    rows: StepRows
    probs: Array  # over the context's actions
    value: float
    action: int  # the context's action index
    reward: float = 0.0


@dataclass
class Batch:
    """An episode laid out for the vectorized loss: T steps over the same A actions."""

    text: Rows  # (T, A, S): each step's text-and-progress rows of every action ...
    familiarity: Array  # (A,) ... and their coefficient per action (the meaning's too)
    meaning: Array  # (D,) the request's embedding, weighted (zeros if not read) ...
    meant: bool  # ... whether it was read ...
    voice: float  # ... and how far it counts in the scores
    slots: Rows  # the meaning table's rows the episode read, sorted and unique ...
    slots_at: Rows  # (T, A) ... and which of them each step's action reads
    dynamic: Rows  # rows of features that change within the episode ...
    dynamic_at: Rows  # ... and the (step * A + action) each belongs to
    description: Rows  # rows of the description features (the same at every step) ...
    description_action: Rows  # ... the action each belongs to ...
    description_scale: Array  # ... and its coefficient
    gates: Rows  # (T,) the row of each step's gate on the description features
    value_text: Rows  # (T, S) value rows of the text and progress
    value_dynamic: Rows  # value rows of the state features that change ...
    value_at: Rows  # ... and the step each belongs to
    value_summed: Rows  # value rows added, not averaged ...
    summed_at: Rows  # ... and the step each belongs to
    actions: Rows  # (T,) the action taken
    right: NDArray[np.bool_]  # (T,) whether it was right: made progress, or finished solved
    probs: Array  # (T, A) the probabilities of the policy that acted
    rows_pi: Rows  # the policy rows the episode read, sorted and unique ...
    inverse_pi: Rows  # ... and where each of text, dynamic, description, gates is in them
    rows_v: Rows  # the same for the value rows ...
    inverse_v: Rows  # ... of value_text, value_dynamic (concatenated)


def batch_of(
    context: Context, steps: Sequence[Step], solved: bool, scratch: NDArray[np.int32] | None = None
) -> Batch:
    """The batch of an episode played in `context` (`solved`: whether it ended solved);
    `scratch`: room for `unique_rows` (one per call if not given)."""
    if scratch is None:
        scratch = np.empty(max(FEATURES, VALUE_FEATURES), dtype=np.int32)
    n = context.n_actions
    progress = [s.rows.progress for s in steps]
    blocks = [context.rows_at(s.rows.progress) for s in steps]
    text = np.stack([b[0] for b in blocks])
    value_text = np.stack([b[1] for b in blocks])
    dynamic = np.concatenate([s.rows.dynamic for s in steps])
    dynamic_at = np.concatenate([s.rows.dynamic_action + t * n for t, s in enumerate(steps)])
    value_dynamic = np.concatenate([s.rows.value for s in steps])
    value_at = np.concatenate(
        [np.full(len(s.rows.value), t, dtype=np.intp) for t, s in enumerate(steps)]
    )
    value_summed = np.concatenate([s.rows.summed for s in steps])
    summed_at = np.concatenate(
        [np.full(len(s.rows.summed), t, dtype=np.intp) for t, s in enumerate(steps)]
    )
    gates = GATES[progress]
    rows_pi, inverse_pi = unique_rows(
        np.concatenate([text.ravel(), dynamic, context.description, gates]), scratch
    )
    if context.meaning is None:  # nothing to read: one slot, whose gradient is zero
        meaning = np.zeros(MEANING_DIMENSIONS)
        slots, slots_at = np.zeros(1, dtype=np.intp), np.zeros(len(steps) * n, dtype=np.intp)
    else:
        meaning = context.meaning
        slots, slots_at = np.unique(
            np.concatenate([context.slots_at(p) for p in progress]), return_inverse=True
        )
    rows_v, inverse_v = unique_rows(
        np.concatenate([value_text.ravel(), value_dynamic, value_summed]), scratch
    )
    return Batch(
        text=text,
        familiarity=context.familiarity,
        meaning=meaning,
        meant=context.meaning is not None,
        voice=context.voice,
        slots=slots,
        slots_at=slots_at.reshape(len(steps), n),
        dynamic=dynamic,
        dynamic_at=dynamic_at,
        description=context.description,
        description_action=context.description_action,
        description_scale=context.description_scale,
        gates=gates,
        value_text=value_text,
        value_dynamic=value_dynamic,
        value_at=value_at,
        value_summed=value_summed,
        summed_at=summed_at,
        actions=np.array([s.action for s in steps], dtype=np.intp),
        right=np.array([b > a for a, b in itertools.pairwise(progress)] + [solved], dtype=bool),
        probs=np.stack([s.probs for s in steps]),
        rows_pi=rows_pi,
        inverse_pi=inverse_pi,
        rows_v=rows_v,
        inverse_v=inverse_v,
    )


def unique_rows(rows: Rows, scratch: NDArray[np.int32]) -> tuple[Rows, Rows]:
    """(the distinct rows, where each of `rows` is in them): np.unique's, but unsorted and in
    linear time, by marking each row's slot in `scratch` (as long as the table; what it held
    does not matter). Whichever occurrence of a row marks its slot last stands for it."""
    at = np.arange(len(rows))
    scratch[rows] = at
    owner = scratch[rows]
    first = owner == at
    return rows[first], (np.cumsum(first) - 1)[owner]


def sums(index: Rows, weights: Array, n: int) -> Array:
    """(n,) the sum of `weights` at each index: np.bincount, typed."""
    return cast(Array, np.bincount(index, weights, minlength=n))


def logits(w_rows: Array, mu_rows: Array, batch: Batch) -> Array:
    """(T, A): LOGIT_SCALE times each action's score at each step, where `w_rows` are the
    policy's weights of `batch.rows_pi` and `mu_rows` the meaning table's of `batch.slots`:
    the sum of its rows and its meaning (its slot's row times the embedding, times the
    batch's voice), times its familiarity, but for the description features, whose sum is
    multiplied by the step's gate."""
    return _scores(w_rows, mu_rows, batch)[0]


def _scores(w_rows: Array, mu_rows: Array, batch: Batch) -> tuple[Array, Array, Array, Array]:
    """(logits (T, A), description sums (A,), gates (T,), the meaning's own scores (T, A):
    zeros if no meaning was read)."""
    steps, n, width = batch.text.shape
    entries = w_rows[batch.inverse_pi]
    text, dynamic = steps * n * width, len(batch.dynamic)
    z = entries[:text].reshape(steps, n, width).sum(axis=2)
    meant = np.zeros((steps, n))
    if batch.meant:
        meant = (mu_rows @ batch.meaning)[batch.slots_at]
        z += batch.voice * meant
    z *= batch.familiarity
    z += np.bincount(batch.dynamic_at, entries[text : text + dynamic], minlength=steps * n).reshape(
        steps, n
    )
    described = description_part(entries, batch)
    gate = 1.0 + entries[-steps:]
    z += gate[:, None] * described
    z *= LOGIT_SCALE
    return z, described, gate, meant


def description_part(entries: Array, batch: Batch) -> Array:
    """(A,) each action's description features (ungated), of the batch's `entries`."""
    start = batch.text.size + len(batch.dynamic)
    return sums(
        batch.description_action,
        entries[start : start + len(batch.description)] * batch.description_scale,
        batch.text.shape[1],
    )


def values(v_rows: Array, batch: Batch) -> tuple[Array, Array]:
    """((T,) values, (T,) how many rows each averages), where `v_rows` are the value's
    weights of `batch.rows_v`: the mean of the state's rows, plus the summed rows."""
    steps, width = batch.value_text.shape
    entries = v_rows[batch.inverse_v]
    text, dynamic = steps * width, len(batch.value_dynamic)
    counts = width + np.bincount(batch.value_at, minlength=steps)
    # The mean, not the sum: each Adam step moves every active weight by about the step size,
    # and a sum over dozens of rows would make the baseline overshoot. A mistake's row is
    # added instead: once made, the task can no longer be solved exactly, and the value must
    # be able to say so at once rather than by a fiftieth.
    total = entries[:text].reshape(steps, width).sum(axis=1)
    total += np.bincount(batch.value_at, entries[text : text + dynamic], minlength=steps)
    result: Array = total / counts
    result += np.bincount(batch.summed_at, entries[text + dynamic :], minlength=steps)
    return result, counts


def softmax(z: Array) -> Array:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    result: Array = e / e.sum(axis=-1, keepdims=True)
    return result


def returns_and_advantages(steps: Sequence[Step]) -> tuple[Array, Array]:
    """Each step's value target and advantage, by generalized advantage estimation: mostly the
    step's own reward and the value of where it led, so a right call is credited at once
    rather than through the noise of everything that followed it."""
    values_ = np.array([step.value for step in steps] + [0.0])
    advantages = np.zeros(len(steps))
    running = 0.0
    for i in range(len(steps) - 1, -1, -1):
        delta = steps[i].reward + GAMMA * values_[i + 1] - values_[i]
        running = delta + GAMMA * LAMBDA * running
        advantages[i] = running
    return advantages + values_[:-1], advantages


def gradients(
    w_rows: Array,
    v_rows: Array,
    mu_rows: Array,
    batch: Batch,
    returns: Array,
    advantages: Array,
    with_loss: bool = True,
) -> tuple[float, Array, Array, Array]:
    """(loss, gradients of `w_rows`, `v_rows` and `mu_rows`), all per step, of the episode's
    loss under the policy weights `w_rows` (of `batch.rows_pi`), value weights `v_rows` (of
    `batch.rows_v`) and meaning weights `mu_rows` (of `batch.slots`); pure. Per step: PPO's
    clipped surrogate of the probability ratio to the policy that acted (`batch.probs`) times
    the advantage, minus ENTROPY times the entropy, plus VALUE_WEIGHT times the value's
    squared error to the return, plus IMITATION times the negative log-probability of a right
    call, plus (where the request's meaning was read) MEANING_IMITATION times that of the
    meaning's scores alone, where under MEANING_CONFIDENT. The loss reported is the unclipped
    surrogate's, if `with_loss` (else NaN: the gradients alone cost less); the gradient is
    the clipped one's.
    """
    steps = batch.text.shape[0]
    at = np.arange(steps)
    z, described, gate, meant = _scores(w_rows, mu_rows, batch)
    probs = softmax(z)
    value, counts = values(v_rows, batch)
    ratio = probs[at, batch.actions] / batch.probs[at, batch.actions]
    log_probs = np.log(probs + 1e-12)
    entropy = -(probs * log_probs).sum(axis=1)
    meaning_imitated, d_meaning = _meaning_imitation(meant, batch)
    loss = math.nan
    if with_loss:
        imitated = -log_probs[at, batch.actions] * batch.right
        loss = float(
            np.mean(
                -ratio * advantages
                - ENTROPY * entropy
                + VALUE_WEIGHT * (returns - value) ** 2
                + IMITATION * imitated
                + meaning_imitated
            )
        )
    # The clipped objective has no gradient once the ratio left the trust region in the
    # direction the advantage pushes it.
    clipped = np.where(advantages > 0, ratio > 1 + CLIP, ratio < 1 - CLIP)
    push = np.where(clipped, 0.0, ratio * advantages)
    d = ENTROPY * probs * (log_probs + entropy[:, None]) + push[:, None] * probs
    d[at, batch.actions] -= push
    d += IMITATION * batch.right[:, None] * probs
    d[at, batch.actions] -= IMITATION * batch.right
    d *= LOGIT_SCALE / steps
    familiar = d * batch.familiarity  # what the text rows and the meaning get
    per_entry = np.concatenate(
        [
            np.repeat(familiar.ravel(), batch.text.shape[2]),
            d.ravel()[batch.dynamic_at],
            (gate[:, None] * d).sum(axis=0)[batch.description_action] * batch.description_scale,
            (d * described).sum(axis=1),
        ]
    )
    grad_pi = sums(batch.inverse_pi, per_entry, len(batch.rows_pi))
    # A slot's row meets the same embedding at every step: its gradient is the embedding times
    # the sum of its steps' and actions' logit gradients.
    grad_mu = (
        np.outer(
            sums(
                batch.slots_at.ravel(),
                (batch.voice * familiar + d_meaning).ravel(),
                len(batch.slots),
            ),
            batch.meaning,
        )
        if batch.meant
        else np.zeros_like(mu_rows)
    )
    d_value = VALUE_WEIGHT * 2.0 * (value - returns) / steps
    averaged = d_value / counts
    per_value = np.concatenate(
        [
            np.repeat(averaged, batch.value_text.shape[1]),
            averaged[batch.value_at],
            d_value[batch.summed_at],
        ]
    )
    grad_v = sums(batch.inverse_v, per_value, len(batch.rows_v))
    return loss, grad_pi, grad_v, grad_mu


def _meaning_imitation(meant: Array, batch: Batch) -> tuple[Array, Array]:
    """((T,) MEANING_IMITATION times the negative log-probability of each right call under the
    meaning's scores alone (`meant`: what it adds to each action's, before the voice and
    familiarity), where that probability is under MEANING_CONFIDENT, (T, A) its gradient in
    the logits of those scores, per step); zeros where no meaning was read."""
    steps, n = batch.slots_at.shape
    if not batch.meant:
        return np.zeros(steps), np.zeros((steps, n))
    at = np.arange(steps)
    probs = softmax(LOGIT_SCALE * meant)
    unsure = probs[at, batch.actions] < MEANING_CONFIDENT
    weight: Array = np.where(batch.right & unsure, MEANING_IMITATION, 0.0)
    d = weight[:, None] * probs
    d[at, batch.actions] -= weight
    imitated: Array = -weight * np.log(probs[at, batch.actions] + 1e-12)
    return imitated, d * (LOGIT_SCALE / steps)
