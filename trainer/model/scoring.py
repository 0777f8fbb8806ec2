"""The one scoring function, used both to act and to learn, and the gradient of the one loss.

A decision's score of each action is a sparse linear function of the policy's hashed table
(`trainer/model/features.py`: rows and their coefficients) plus its row of the meaning table
times the request's embedding; its probabilities are their softmax over the actions on offer.
Decisions of any number of requests are laid out flat (`Layout`), so that scoring a batch is a
few numpy calls whatever its size, and acting is the same call on a batch of one.

Every step learned from is a weighted log-likelihood of the action taken: a demonstrated step
weighs `demonstration`; a simulated one its advantage (the policy gradient) plus `imitation`
where the call was right (self-imitation). So one gradient serves every source: the loss is

    sum over steps of  -weight * log p(action) - entropy * H(p) + value_weight * (return - v)^2

averaged over the steps. The gradient is derived by hand and checked against finite differences
(tests/trainer/test_scoring.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import NDArray

from trainer.model.features import Array, Rows, Step
from trainer.model.toolbox import Table


@dataclass
class Layout:
    """Decisions laid out flat: action j of decision k is `offsets[k] + j`, and its rows are
    `rows[starts[a]:starts[a + 1]]` (to the end for the last)."""

    offsets: Rows  # (K + 1,) where each decision's actions start, and the end
    rows: Rows  # the policy rows read, grouped by action ...
    starts: Rows  # (N,) ... where each flat action's start ...
    coef: NDArray[np.float32]  # ... and each row's coefficient
    slots: Rows  # (N,) each flat action's meaning row ...
    slot_scale: Array  # (N,) ... and how far it counts
    meanings: Table  # (K, D) each decision's embedding (zeros where none)
    meant: bool  # whether any decision read a meaning
    value_rows: Rows  # the value rows read ...
    value_owner: Rows  # ... the decision each belongs to
    value_counts: Array  # (K,) how many each decision averages
    _slot_groups: tuple[Rows, Rows] | None = None

    @property
    def size(self) -> int:
        return int(self.offsets[-1])

    @property
    def decisions(self) -> int:
        return len(self.offsets) - 1

    def decision_of(self) -> Rows:
        """(N,) each flat action's decision."""
        return np.repeat(np.arange(self.decisions), np.diff(self.offsets))

    def slot_groups(self) -> tuple[Rows, Rows]:
        """(the distinct meaning rows read, where each flat action's is in them): kept, as
        scoring and learning both ask."""
        if self._slot_groups is None:
            self._slot_groups = np.unique(self.slots, return_inverse=True)
        return self._slot_groups

    def lengths(self) -> Rows:
        """(N,) how many rows each flat action has."""
        return np.diff(self.starts, append=len(self.rows))


def layout(steps: Sequence[Step], dimensions: int) -> Layout:
    """The decisions `steps` laid out flat (a decision alone: its own, kept with it)."""
    if len(steps) == 1 and steps[0].alone is not None:
        return cast(Layout, steps[0].alone)
    sizes = np.array([s.n_actions for s in steps], dtype=np.intp)
    offsets = np.zeros(len(steps) + 1, dtype=np.intp)
    np.cumsum(sizes, out=offsets[1:])
    meanings = np.zeros((len(steps), dimensions), dtype=np.float32)  # as the table's rows
    meant = False
    for k, step in enumerate(steps):
        if step.meaning is not None:
            meanings[k] = step.meaning
            meant = True
    value_counts = np.array([len(s.value_rows) for s in steps], dtype=np.float64)
    if len(steps) == 1:  # acting: no copies
        step = steps[0]
        step.alone = Layout(
            offsets,
            step.rows,
            step.starts,
            step.coef,
            step.slots,
            step.slot_scale,
            meanings,
            meant,
            step.value_rows,
            np.zeros(len(step.value_rows), dtype=np.intp),
            value_counts,
        )
        return step.alone
    lengths = np.array([len(s.rows) for s in steps], dtype=np.intp)
    return Layout(
        offsets=offsets,
        rows=np.concatenate([s.rows for s in steps]),
        starts=np.concatenate([s.starts for s in steps])
        + np.repeat(np.cumsum(lengths) - lengths, sizes),
        coef=np.concatenate([s.coef for s in steps]),
        slots=np.concatenate([s.slots for s in steps]),
        slot_scale=np.concatenate([s.slot_scale for s in steps]),
        meanings=meanings,
        meant=meant,
        value_rows=np.concatenate([s.value_rows for s in steps]),
        value_owner=np.repeat(np.arange(len(steps)), value_counts.astype(np.intp)),
        value_counts=value_counts,
    )


def unique_rows(rows: Rows, scratch: NDArray[np.int32]) -> tuple[Rows, Rows]:
    """(the distinct rows, where each of `rows` is in them): np.unique's, but unsorted and in
    linear time, by marking each row's place in `scratch` (as long as the table; what it held
    does not matter). Whichever occurrence of a row marks it last stands for it."""
    at = np.arange(len(rows), dtype=np.int32)
    scratch[rows] = at
    owner = scratch[rows]
    first = owner == at
    return rows[first], (np.cumsum(first) - 1)[owner]


def sums(index: Rows, weights: Array, n: int) -> Array:
    """(n,) the sum of `weights` at each index: np.bincount, typed."""
    return cast(Array, np.bincount(index, weights, minlength=n))


def logits(w: Table, mu: Table, lay: Layout) -> Array:
    """(N,) every action's score: `w` the policy table, `mu` the meaning table."""
    # In single precision, the weights' and the coefficients': half the traffic of double
    # (each action's sum of a few hundred rows, pairwise, is good to about 1e-7 of its size).
    z = np.add.reduceat(lay.coef * w[lay.rows], lay.starts).astype(np.float64)
    if lay.meant:
        if lay.decisions == 1:
            z += lay.slot_scale * (mu[lay.slots] @ lay.meanings[0])
        else:
            # Each distinct row times every decision's embedding, one matrix product, then
            # each action's pick: a batch's actions share few rows (an action's row is by its
            # phase and the last call), so this reads a fraction of what a product per action
            # would gather.
            slots, inverse = lay.slot_groups()
            meant = (mu[slots] @ lay.meanings.T)[inverse, lay.decision_of()]
            z += lay.slot_scale * meant
    return z


def softmax(z: Array, offsets: Rows) -> Array:
    """(N,) each decision's softmax over its own actions."""
    if len(offsets) == 2:
        e = np.exp(z - z.max())
        return cast(Array, e / e.sum())
    starts = offsets[:-1]
    sizes = np.diff(offsets)
    e = np.exp(z - np.repeat(np.maximum.reduceat(z, starts), sizes))
    return cast(Array, e / np.repeat(np.add.reduceat(e, starts), sizes))


def choose(probs: Array, offsets: Rows, draws: Array | None) -> Rows:
    """(K,) each decision's action: its most probable (the first of equals, as argmax), or,
    with `draws` (uniform in [0, 1), one per decision), the one inverse-CDF sampling picks
    (what rng.choice does): every decision at once, the same as one by one. Each decision's
    probabilities are cumulated along a row of their own (padded with zeros past its end),
    in the order a cumsum of them alone adds them."""
    starts, sizes = offsets[:-1], np.diff(offsets)
    if draws is None:
        best = np.repeat(np.maximum.reduceat(probs, starts), sizes)
        at = np.flatnonzero(probs == best)
        return cast(Rows, at[np.searchsorted(at, starts)] - starts)
    padded = np.zeros((len(sizes), int(sizes.max())))
    padded[np.arange(padded.shape[1]) < sizes[:, None]] = probs
    below = (np.cumsum(padded, axis=1) < draws[:, None]).sum(axis=1)
    return cast(Rows, np.minimum(below, sizes - 1))


def temper(probs: Array, temperature: float) -> Array:
    """`probs` (one decision's, or rows of them) as the scores divided by `temperature` give
    them: calibrated (trainer/model/calibration.py), the same choices, each more or less sure."""
    if temperature == 1.0:
        return probs
    with np.errstate(divide="ignore"):
        logs = np.log(probs) / temperature
    logs -= logs.max(axis=-1, keepdims=True)
    tempered = np.exp(logs)
    return cast(Array, tempered / tempered.sum(axis=-1, keepdims=True))


def values(v: Table, lay: Layout) -> Array:
    """(K,) each decision's value: the mean of its rows of the value table."""
    weights = v[lay.value_rows].astype(np.float64)  # summed in double, as everything is
    return sums(lay.value_owner, weights, lay.decisions) / np.maximum(lay.value_counts, 1)


@dataclass
class Targets:
    """What a batch of decisions learns: the action taken, the weight of its log-likelihood,
    and the return the value should predict (where `valued`)."""

    actions: Rows  # (K,) within each decision
    weights: Array  # (K,)
    returns: Array  # (K,)
    valued: NDArray[np.bool_]  # (K,)


@dataclass
class Gradients:
    loss: float
    w_rows: Rows  # the policy rows with a gradient (unique) ...
    w: Array  # ... and it
    mu_slots: Rows  # the meaning rows (unique) ...
    mu: Array  # ... (slots, D)
    v_rows: Rows
    v: Array


def gradients(
    w: Table,
    mu: Table,
    v: Table,
    lay: Layout,
    targets: Targets,
    entropy: float,
    value_weight: float,
    scratch: NDArray[np.int32],
) -> Gradients:
    """The batch's mean loss and its gradients in the tables' rows that it read; pure but for
    `scratch` (room for `unique_rows`, as long as the largest table)."""
    k = lay.decisions
    z = logits(w, mu, lay)
    probs = softmax(z, lay.offsets)
    taken = lay.offsets[:-1] + targets.actions
    log_probs = np.log(probs + 1e-12)
    decision = lay.decision_of()
    entropies = -sums(decision, probs * log_probs, k)
    predicted = values(v, lay)
    errors = np.where(targets.valued, predicted - targets.returns, 0.0)
    loss = float(
        np.sum(-targets.weights * log_probs[taken] - entropy * entropies + value_weight * errors**2)
        / k
    )
    # d loss / d z: weight * (p - onehot) + entropy * p * (log p + H), per decision.
    dz = targets.weights[decision] * probs
    dz[taken] -= targets.weights
    dz += entropy * probs * (log_probs + entropies[decision])
    dz /= k

    w_rows, inverse = unique_rows(lay.rows, scratch)
    per_row: Array = np.repeat(dz, lay.lengths()) * lay.coef  # in double, as dz is
    grad_w = sums(inverse, per_row, len(w_rows))
    if lay.meant:
        # Each slot's gradient is a weighted sum of the decisions' embeddings: the weights as a
        # (slots, decisions) matrix times the embeddings, one matrix product (summing rows of
        # embeddings per slot, by np.add.at or reduceat, is many times slower).
        mu_slots, slot_inverse = lay.slot_groups()
        mixing = sums(slot_inverse * k + decision, dz * lay.slot_scale, len(mu_slots) * k)
        grad_mu = cast(Array, mixing.reshape(len(mu_slots), k).astype(np.float32) @ lay.meanings)
    else:
        mu_slots, grad_mu = np.zeros(0, dtype=np.intp), np.zeros((0, mu.shape[1]))
    dv = 2.0 * value_weight * errors / k / np.maximum(lay.value_counts, 1)
    v_rows, v_inverse = unique_rows(lay.value_rows, scratch)
    grad_v = sums(v_inverse, dv[lay.value_owner], len(v_rows))
    return Gradients(loss, w_rows, grad_w, mu_slots, grad_mu, v_rows, grad_v)
