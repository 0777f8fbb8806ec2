"""The Model: a policy over a scenario's tools, how it scores, learns and is saved.

It holds its `Config`, its toolbox (the tools it reads, with their descriptions), the sentence
encoder it reads requests with (or none) and three tables: the policy's hashed weights, the
value's, and the meaning table, each with Adam's moments beside the weights. It knows nothing
of tasks, solutions or environments: `probabilities` scores a decision, `learn` takes a batch of
decisions with their targets (trainer/training/ makes both), and it loads from a bundle alone.

Adam is lazy: only the rows a batch read are stepped (their moments decay when they are used),
so an update costs the same however large the tables.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agentgym.weights import FEATURES, MEANING_DIMENSIONS, MEANING_SLOTS, PARAMS, VALUE_FEATURES
from trainer.model.config import Config
from trainer.model.features import Array, Context, Rows, State, Step, Toolbox, build_context
from trainer.model.scoring import (
    Targets,
    gradients,
    layout,
    logits,
    softmax,
    values,
)

MAX_CONTEXTS = 4096  # requests whose rows are kept; the cache is dropped whole past it
Params = dict[str, Array]


def shapes() -> dict[str, tuple[int, ...]]:
    return {
        "w_pi": (FEATURES,),
        "w_v": (VALUE_FEATURES,),
        "w_mu": (MEANING_SLOTS, MEANING_DIMENSIONS),
    }


class Model:
    def __init__(
        self,
        config: Config,
        toolbox: Toolbox,
        meaning: Callable[[str], NDArray[np.float16]] | None = None,
    ) -> None:
        self.config = config
        self.toolbox = toolbox
        self.meaning = meaning  # a request's embedding, if a sentence encoder reads it
        # Per table, the weights and Adam's two moments, each an array of its own (gathering
        # and scattering rows of one array is three times as quick as of rows of three).
        self.params: Params = {name: np.zeros(shape) for name, shape in shapes().items()}
        self.moments: dict[str, tuple[Array, Array]] = {
            name: (np.zeros(shape), np.zeros(shape)) for name, shape in shapes().items()
        }
        # The rows ever updated, per table: all a checkpoint needs to hold (the rest are zeros).
        self.touched = {name: np.zeros(shape[0], dtype=bool) for name, shape in shapes().items()}
        self._scratch = np.empty(max(FEATURES, VALUE_FEATURES), dtype=np.int32)
        self.t = 0  # Adam steps
        self.updates = 0
        self._contexts: dict[tuple[str, tuple[int, ...]], Context] = {}

    @property
    def tools(self) -> tuple[str, ...]:
        return self.toolbox.tools

    # --- scoring ---------------------------------------------------------------------------------

    def context(self, text: str, available: Sequence[int] | None = None) -> Context:
        """The context of a request offering `available` tools (indices; None: all)."""
        offered = tuple(range(len(self.tools))) if available is None else tuple(available)
        cache_key = (text, offered)
        context = self._contexts.get(cache_key)
        if context is None:
            if len(self._contexts) >= MAX_CONTEXTS:
                self._contexts.clear()
            meaning = None if self.meaning is None else self.meaning(text)
            context = build_context(self.config, self.toolbox, text, offered, meaning)
            self._contexts[cache_key] = context
        return context

    def decide(self, context: Context, state: State) -> tuple[Step, Array, float]:
        """(the decision's rows, each action's probability, the state's value)."""
        step = context.step(state)
        lay = layout([step], MEANING_DIMENSIONS)
        probs = softmax(logits(self.params["w_pi"], self.params["w_mu"], lay), lay.offsets)
        return step, probs, float(values(self.params["w_v"], lay)[0])

    def decide_many(self, steps: Sequence[Step]) -> tuple[Array, Rows, Array]:
        """Many decisions at once: (every action's probability, flat, where each decision's
        start (and the end), each decision's value)."""
        lay = layout(steps, MEANING_DIMENSIONS)
        probs = softmax(logits(self.params["w_pi"], self.params["w_mu"], lay), lay.offsets)
        return probs, lay.offsets, values(self.params["w_v"], lay)

    # --- learning --------------------------------------------------------------------------------

    def learn(self, steps: Sequence[Step], targets: Targets, learning_rate: float) -> float:
        """One Adam step on a batch of decisions; returns its loss."""
        config = self.config
        lay = layout(steps, MEANING_DIMENSIONS)
        grads = gradients(
            self.params["w_pi"],
            self.params["w_mu"],
            self.params["w_v"],
            lay,
            targets,
            config.entropy,
            config.value_weight,
            self._scratch,
        )
        self.t += 1
        self.updates += 1
        beta1, beta2 = config.adam_beta1, config.adam_beta2
        step = config.learning_step(learning_rate) / np.sqrt(
            1 + self.updates / config.decay_updates
        )
        step *= np.sqrt(1 - beta2**self.t) / (1 - beta1**self.t)
        for name, rows, grad in (
            ("w_pi", grads.w_rows, grads.w),
            ("w_v", grads.v_rows, grads.v),
            ("w_mu", grads.mu_slots, grads.mu),
        ):
            if not len(rows):
                continue
            self.touched[name][rows] = True
            first, second = self.moments[name]
            m = first[rows] * beta1 + (1 - beta1) * grad
            v = second[rows] * beta2 + (1 - beta2) * grad * grad
            first[rows] = m
            second[rows] = v
            self.params[name][rows] -= step * m / (np.sqrt(v) + config.adam_eps)
        return grads.loss

    # --- persistence -----------------------------------------------------------------------------

    def load_params(self, params: Params) -> None:
        """Set the weights (the optimizer's state is untouched)."""
        for name, table in self.params.items():
            table[:] = params[name]

    def snapshot(self, into: Params | None = None) -> Params:
        """A copy of the weights, written over `into` (an earlier snapshot no longer needed)
        where given: fresh pages for tens of megabytes cost more than the copy."""
        copies: Params = {}
        for name, table in self.params.items():
            if into is not None:
                copies[name] = into[name]
                np.copyto(copies[name], table)
            else:
                copies[name] = table.copy()
        return copies

    def weights(self) -> bytes:
        return weights_of(self.params)

    def arrays(self) -> dict[str, Any]:
        """Weights and optimizer state, for a checkpoint: only the rows ever updated."""
        state: dict[str, Any] = {"adam_t": np.array([self.t, self.updates])}
        for name, weights in self.params.items():
            first, second = self.moments[name]
            rows = np.flatnonzero(self.touched[name])
            state[f"rows_{name}"] = rows
            state[f"state_{name}"] = np.stack([weights[rows], first[rows], second[rows]], axis=1)
        return state

    def load_arrays(self, arrays: Any) -> None:
        for name, weights in self.params.items():
            rows, stored = arrays[f"rows_{name}"], arrays[f"state_{name}"]
            self.touched[name][:] = False
            self.touched[name][rows] = True
            for table, column in zip((weights, *self.moments[name]), range(3), strict=True):
                table[:] = 0.0
                table[rows] = stored[:, column]
        self.t, self.updates = (int(x) for x in arrays["adam_t"])


def weights_of(params: Params) -> bytes:
    """Parameters as an .npz archive whose bytes depend on the parameters only, so equal
    policies have equal checksums."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in PARAMS:
            member = io.BytesIO()
            np.lib.format.write_array(member, params[name], allow_pickle=False)
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


def sparse(params: Params, prefix: str, touched: dict[str, NDArray[np.bool_]]) -> dict[str, Any]:
    """The nonzero entries of parameters, as arrays a checkpoint can hold: looked for in the
    `touched` rows only (every other row of them is zero)."""
    state: dict[str, Any] = {}
    for name in PARAMS:
        table = params[name]
        rows = np.flatnonzero(touched[name])
        width = table[0].size
        entries = (rows[:, None] * width + np.arange(width)).ravel()
        flat = table.reshape(-1)
        entries = entries[flat[entries] != 0]
        state[f"{prefix}rows_{name}"] = entries
        state[f"{prefix}{name}"] = flat[entries]
    return state


def dense(arrays: Any, prefix: str) -> Params:
    """`sparse`'s parameters back as tables."""
    params: Params = {}
    for name, shape in shapes().items():
        table = np.zeros(shape)
        table.reshape(-1)[arrays[f"{prefix}rows_{name}"]] = arrays[f"{prefix}{name}"]
        params[name] = table
    return params
