"""The policy and how it learns: an actor-critic that scores each tool on offer by what the
request says, what the tool's name and description say, and what has happened so far.

Pure numpy and deterministic: the same seed and hyperparameters give the same run, bit for
bit, and a policy restored from its arrays continues exactly as the original would have.

- Features (`trainer/features.py`): per action on offer, rows of one hashed table of
  FEATURES scalars: the state's features crossed with the action's name ("identity"), the
  request's terms crossed with the tool's name and description terms, and features every tool
  shares (done, failed, called wrongly, how well its description matches the request). Memory
  does not depend on the tool count, and a tool training seldom saw is still scored by its
  description: its identity features count by how many training tasks call it (`familiarity`),
  and some training episodes read every tool by its description alone (IDENTITY_DROPOUT).
- Model: a softmax over the actions on offer (the task's available tools and "finish"; no
  other tool can be chosen) of LOGIT_SCALE times each action's score: the sum of its rows, the
  description rows' sum times a learned gate per progress. The value (the baseline) is the
  mean of the state's rows in a second table, plus a mistake's row once one was made.
- Update: after each episode, EPOCHS Adam steps on PPO's clipped policy-gradient objective
  with the value as baseline, an entropy bonus and self-imitation of the episode's right
  calls (`trainer/loss.py`), vectorized over every step of the episode.
  Only the rows the episode read are updated (lazy Adam: a row's moments decay when it is
  used), so an update costs the same however large the table. The step size is the session's
  learning rate (the API's 1e-5 to 1.0, default 0.001) times LEARNING_RATE_SCALE, decaying as
  1 / (1 + episodes / DECAY_EPISODES).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

# The weights' layout is a fact the API checks imports against without numpy: it lives there.
from agentgym.weights import FEATURES, MEANING_DIMENSIONS, MEANING_SLOTS, PARAMS, VALUE_FEATURES
from trainer.features import (
    GATES,
    MAX_CONTEXT_BYTES,
    MAX_CONTEXTS,
    Context,
    StepRows,
    Toolbox,
    build_context,
    step_rows,
)
from trainer.loss import (
    LOGIT_SCALE,
    Array,
    Step,
    batch_of,
    gradients,
    returns_and_advantages,
    softmax,
    sums,
)

EPOCHS = 3  # Adam steps per episode: more fit each episode closer, and generalize worse
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-3
# The Adam step is the session's learning rate times LEARNING_RATE_SCALE / (1 + episodes /
# DECAY_EPISODES): large enough early that the first few hundred episodes at the default 0.001
# already solve many held-out tasks, and falling so that later episodes refine rather than
# overfit (a constant small step generalizes as well, but learns too slowly at first).
LEARNING_RATE_SCALE = 2.0
DECAY_EPISODES = 300
# The share of training episodes that read the tools by their descriptions alone (their
# identity text features off), rising to IDENTITY_DROPOUT over DROPOUT_EPISODES: the
# description features must then choose on their own, which is what scores a tool training
# seldom saw; at first, the identity features learn the common tools fastest.
IDENTITY_DROPOUT = 0.2
DROPOUT_EPISODES = 1000
# The meaning counts fully in a request at least 1/NOVELTY_VOICE of whose words training never
# read, and in proportion below (Policy.voice): requests from training's templates have a few
# new words (names, numbers), ones worded as people write a third or more.
NOVELTY_VOICE = 3.0

Params = dict[str, Array]
_NO_MEANING = np.zeros((1, MEANING_DIMENSIONS))  # the meaning's rows where none was read
Indices = Sequence[int] | NDArray[np.intp]  # tool indices


def identity_dropout(episode: int) -> float:
    """The probability that a training episode reads the tools by their descriptions alone."""
    return IDENTITY_DROPOUT * min(1.0, episode / DROPOUT_EPISODES)


class Policy:
    """The weights, with Adam's moments, scoring `tools` (by name and `descriptions`) and
    "finish"."""

    def __init__(
        self,
        tools: tuple[str, ...],
        rng: np.random.Generator | None = None,
        descriptions: Mapping[str, str] | None = None,
        fallbacks: Mapping[str, str] | None = None,
        usage: Mapping[str, int] | None = None,
        meaning: Callable[[str], NDArray[np.float16]] | None = None,
    ) -> None:
        del rng  # zeros: a linear softmax has no symmetry to break, and untouched rows compress
        self.tools = tools
        self.toolbox = Toolbox(tools, descriptions or {}, fallbacks or {}, usage)
        # Per table, each row's weight and Adam moments side by side (table[:, 0], [:, 1] and
        # [:, 2]): an update gathers and writes back the rows it reads once each.
        self.tables = {
            name: np.zeros((shape[0], 3, *shape[1:])) for name, shape in shapes().items()
        }
        # The weights, views of the tables (which are only ever written in place).
        self.params: Params = {name: table[:, 0] for name, table in self.tables.items()}
        self._scratch = np.empty(max(FEATURES, VALUE_FEATURES), dtype=np.int32)  # batch_of's
        self.t = 0  # Adam steps
        self.updates = 0  # episodes learned from
        self._contexts: dict[tuple[str, tuple[int, ...]], Context] = {}
        self._cached = 0  # about how many bytes the cached contexts hold
        self.meaning = meaning  # a request's embedding, if a sentence encoder reads it

    def load_params(self, params: Params) -> None:
        """Set the weights (the optimizer's state is untouched)."""
        for name, table in self.tables.items():
            table[:, 0] = params[name]

    def context(self, text: str, available: Sequence[int] | None = None) -> Context:
        """The context of a request offering `available` tools (indices; None: all)."""
        offered = tuple(range(len(self.tools))) if available is None else tuple(available)
        cache_key = (text, offered)
        context = self._contexts.get(cache_key)
        if context is None:
            meaning = None if self.meaning is None else self.meaning(text)
            context = build_context(self.toolbox, text, offered, meaning)
            full = len(self._contexts) >= MAX_CONTEXTS
            if (
                full or self._cached + context.nbytes > MAX_CONTEXT_BYTES
            ):  # bounded, whatever the tasks
                self._contexts.clear()
                self._cached = 0
            self._contexts[cache_key] = context
            self._cached += context.nbytes
        if context.meaning is None:
            return context
        return context.voiced(self.voice(context))

    def voice(self, context: Context) -> float:
        """How far the request's meaning counts now: NOVELTY_VOICE times the share of its
        words (its text features) training never read, at most 1. The words choose best
        where they are training's (held-out requests from the same templates), the meaning
        where they are new; both learn from every episode that reads them (the meaning also
        to choose alone, MEANING_IMITATION). A feature training read has a nonzero weight in
        the row of "finish" at the first step: every episode's update writes that row."""
        rows = context.rows_at(0)[0][-1, :-1]  # finish's rows of the text (not the bias)
        if not len(rows):
            return 1.0
        novelty = float(np.count_nonzero(self.params["w_pi"][rows] == 0.0)) / len(rows)
        return min(1.0, NOVELTY_VOICE * novelty)

    def observe(
        self,
        context: Context,
        done: Indices,
        wrong: Indices = (),
        failed: int | None = None,
        mistaken: bool = False,
    ) -> StepRows:
        """A step's rows: `done`, the solution tools completed; `wrong`, the tools called wrongly
        since the last progress; `failed`, the tool whose call just failed (all indices);
        `mistaken`, whether any call was a mistake."""
        cache_key = (tuple(map(int, done)), tuple(map(int, wrong)), failed, mistaken)
        rows = context.steps.get(cache_key)
        if rows is None:
            rows = context.steps[cache_key] = step_rows(context, done, wrong, failed, mistaken)
        return rows

    def familiarity(self, context: Context) -> float:
        """The share of the request's word features (its terms and term pairs, at the first
        step) that training touched for the actions on offer: near 1 for a request like those
        it trained on, low for one unlike any (an unseen word's rows are zero but where
        another feature's hash lands on them)."""
        rows, _ = context.rows_at(0)
        words = rows[:, :-1]  # the last state feature is the bias, trained by every request
        return float((self.params["w_pi"][words] != 0).mean()) if words.size else 0.0

    def description_logits(self, context: Context) -> Array:
        """(A,) each action's description features, before the gate: the same at every step
        of an episode, while the weights do not change."""
        w = self.params["w_pi"]
        return sums(
            context.description_action,
            w[context.description] * context.description_scale,
            context.n_actions,
        )

    def forward(
        self, context: Context, rows: StepRows, description: Array | None = None
    ) -> tuple[Array, float]:
        """(probabilities of the context's actions, value) at a step (`description`: the
        context's `description_logits`, if the caller has them)."""
        text, value_text = context.rows_at(rows.progress)
        params = self.params
        w, w_v = params["w_pi"], params["w_v"]
        z = w[text].sum(axis=1)
        if context.meaning is not None and context.voice:
            meaning = params["w_mu"][context.slots_at(rows.progress)] @ context.meaning
            z += context.voice * meaning
        z *= context.familiarity
        z += np.bincount(rows.dynamic_action, w[rows.dynamic], minlength=context.n_actions)
        if description is None:
            description = self.description_logits(context)
        z += (1.0 + w[GATES[rows.progress]]) * description
        value = (w_v[value_text].sum() + w_v[rows.value].sum()) / (
            len(value_text) + len(rows.value)
        ) + w_v[rows.summed].sum()
        return softmax(LOGIT_SCALE * z), float(value)

    def update(
        self, context: Context, steps: Sequence[Step], learning_rate: float, solved: bool
    ) -> float:
        """Learn from a finished episode (`solved`: whether it ended solved); returns its loss
        (per step, first epoch).

        PPO-style: EPOCHS Adam steps on the episode, each on the clipped probability ratio
        to the policy that acted, so the reuse stays on-policy in effect. The rows the episode
        read are gathered once, stepped EPOCHS times, and written back.
        """
        returns, advantages = returns_and_advantages(steps)
        batch = batch_of(context, steps, solved, self._scratch)
        # The rows read, each with its weight and moments side by side.
        policy = self.tables["w_pi"][batch.rows_pi]
        value = self.tables["w_v"][batch.rows_v]
        w_mu = self.params["w_mu"][batch.slots] if batch.meant else _NO_MEANING
        # The meaning table's rows are stepped only in an update whose first epoch gives them
        # a gradient. A familiar request's meaning has none once the meaning alone is
        # confident of its calls (its voice is zero, and MEANING_CONFIDENT), and nothing in
        # the update changes that: later in a run, many updates skip them, which is most of an
        # update's work when a meaning is read. (Skipping each row without a gradient instead,
        # as lazy Adam does, saves more, and the plain-words probe lost 2 to 3 points.)
        stepped = self.tables["w_mu"][:0]
        schedule = LEARNING_RATE_SCALE * learning_rate / (1 + self.updates / DECAY_EPISODES)
        first_loss = 0.0
        for epoch in range(EPOCHS):
            loss, grad_pi, grad_v, grad_mu = gradients(
                policy[:, 0], value[:, 0], w_mu, batch, returns, advantages, with_loss=epoch == 0
            )
            if epoch == 0:
                first_loss = loss
                if batch.meant and grad_mu.any():
                    stepped = self.tables["w_mu"][batch.slots]
                    w_mu = stepped[:, 0]
            self.t += 1
            step_size = (
                schedule * np.sqrt(1 - ADAM_BETAS[1] ** self.t) / (1 - ADAM_BETAS[0] ** self.t)
            )
            for block, grad in ((policy, grad_pi), (value, grad_v), (stepped, grad_mu)):
                if len(block):
                    block[:, 0] -= step_size * _adam_direction(block[:, 1], block[:, 2], grad)
        self.tables["w_pi"][batch.rows_pi] = policy
        self.tables["w_v"][batch.rows_v] = value
        if len(stepped):
            self.tables["w_mu"][batch.slots] = stepped
        self.updates += 1
        return first_loss

    # --- persistence ---------------------------------------------------------------------------

    def weights(self) -> bytes:
        """The parameters alone (what a model bundle carries)."""
        return weights_of(self.params)

    def load_weights(self, data: bytes) -> None:
        self.load_params(params_of(data))

    def snapshot(self, into: Params | None = None) -> Params:
        """A copy of the parameters, to keep as they are now: written over `into` (an earlier
        snapshot no longer needed), which saves faulting in fresh pages for tens of megabytes
        each time. A meaning table never used is kept as fresh zeros, which take no memory
        until written."""
        copies: Params = {}
        for name, table in self.params.items():
            if name == "w_mu" and self.meaning is None:
                copies[name] = np.zeros(table.shape)
            elif into is not None:
                copies[name] = into[name]
                np.copyto(copies[name], table)
            else:
                copies[name] = table.copy()
        return copies

    def arrays(self) -> dict[str, Any]:
        """Weights and optimizer state, for a checkpoint: only the rows ever updated (every
        other row is still all zeros), which keeps a checkpoint small and quick to write. Each
        row's weight and moments are its last axis there, as checkpoints have always held them."""
        state: dict[str, Any] = {"adam_t": np.array([self.t, self.updates])}
        for name, table in self.tables.items():
            rows = np.flatnonzero(table[:, 2].reshape(len(table), -1).any(axis=1))
            state[f"rows_{name}"] = rows
            state[f"state_{name}"] = np.moveaxis(table[rows], 1, -1)
        return state

    def load_arrays(self, arrays: Any) -> None:
        for name, table in self.tables.items():
            table[:] = 0.0
            table[arrays[f"rows_{name}"]] = np.moveaxis(arrays[f"state_{name}"], -1, 1)
        self.t, self.updates = (int(x) for x in arrays["adam_t"])


def shapes() -> dict[str, tuple[int, ...]]:
    return {
        "w_pi": (FEATURES,),
        "w_v": (VALUE_FEATURES,),
        "w_mu": (MEANING_SLOTS, MEANING_DIMENSIONS),
    }


def weights_of(params: Params) -> bytes:
    """Parameters as an .npz archive whose bytes depend on the parameters only, so equal
    policies have equal checksums."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in PARAMS:
            member = io.BytesIO()
            np.lib.format.write_array(member, params[name], allow_pickle=False)
            # Fixed timestamps; untouched rows are zeros and compress away.
            archive.writestr(
                zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)),
                member.getvalue(),
                compress_type=zipfile.ZIP_DEFLATED,
            )
    return buffer.getvalue()


def params_of(data: bytes) -> Params:
    """The parameters of `weights_of`'s archive; ValueError if a table has another shape."""
    params: Params = {}
    with np.load(io.BytesIO(data)) as stored:
        for name, shape in shapes().items():
            if stored[name].shape != shape:
                raise ValueError(f"weights for {name} have shape {stored[name].shape}")
            params[name] = stored[name].astype(np.float64)
    return params


def sparse(params: Params, prefix: str) -> dict[str, Any]:
    """The nonzero entries of parameters, as arrays a checkpoint can hold."""
    state: dict[str, Any] = {}
    for name in PARAMS:
        flat = params[name].reshape(-1)
        rows = np.flatnonzero(flat)
        state[f"{prefix}rows_{name}"] = rows
        state[f"{prefix}{name}"] = flat[rows]
    return state


def dense(arrays: Any, prefix: str) -> Params:
    """`sparse`'s parameters back as tables."""
    params: Params = {}
    for name, shape in shapes().items():
        table = np.zeros(shape)
        table.reshape(-1)[arrays[f"{prefix}rows_{name}"]] = arrays[f"{prefix}{name}"]
        params[name] = table
    return params


def _adam_direction(m: Array, v: Array, grad: Array) -> Array:
    """Update Adam's moments in place and return the (uncorrected) step direction."""
    beta1, beta2 = ADAM_BETAS
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad * grad
    result: Array = m / (np.sqrt(v) + ADAM_EPS)
    return result
