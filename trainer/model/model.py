"""The Model: a policy over a scenario's tools, how it scores, learns and is saved.

It holds its `Config`, its toolbox (the tools it reads, with their descriptions), the sentence
encoder it reads requests with (or none) and three tables: the policy's hashed weights, the
value's, and the meaning table, each with Adam's moments beside the weights. It knows nothing
of tasks, solutions or environments: `probabilities` scores a decision, `learn` takes a batch of
decisions with their targets (trainer/training/ makes both), and it loads from a bundle alone.
Adam is lazy (trainer/model/adam.py): only the rows a batch read are stepped.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from agentgym.weights import (
    FEATURES,
    MEANING_DIMENSIONS,
    MEANING_SLOTS,
    PARAMS,
    REFERENCES,
    VALUE_FEATURES,
)
from trainer.model import scope
from trainer.model.adam import DTYPE, Slab
from trainer.model.config import Config
from trainer.model.features import Array, Context, Rows, State, Step, Toolbox, build_context
from trainer.model.scoring import (
    Targets,
    gradients,
    layout,
    logits,
    softmax,
    temper,
    values,
)
from trainer.model.toolbox import Table

if TYPE_CHECKING:
    from trainer.model.conformal import Conformal

# What the rows of the requests kept may hold; the cache is dropped whole past it. By bytes, not
# requests: what a request keeps grows with the tools it scores and the words it has. Counted
# every CONTEXT_CHECK new requests (what each holds grows after it is kept: its steps), not on
# each, which would cost as much as the cache is long.
MAX_CONTEXT_BYTES = 128 << 20
CONTEXT_CHECK = 64
SHORTLIST_EPOCH = 50  # updates a shortlist is kept for, while the policy learns
Params = dict[str, Table]


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
        references: NDArray[np.float16] | None = None,
    ) -> None:
        self.config = config
        self.toolbox = toolbox
        self.meaning = meaning  # a request's embedding, if a sentence encoder reads it
        # What the training requests mean (unit rows), with an encoder: what a request's scope
        # is measured against (trainer/model/scope.py).
        self.references = references
        # Per table, the weights and Adam's two moments (views of one array: adam.py).
        self.slabs = {name: Slab(shape) for name, shape in shapes().items()}
        self.params: Params = {name: slab.weights for name, slab in self.slabs.items()}
        self._scratch = np.empty(max(FEATURES, VALUE_FEATURES), dtype=np.int32)
        self.t = 0  # Adam steps
        self.updates = 0
        self._contexts: dict[tuple[str, tuple[int, ...], tuple[int, ...], int], Context] = {}
        self._chooser: tuple[int, Table] | None = None  # (epoch, the policy shortlists read)
        # How its probabilities are calibrated (trainer/model/calibration.py), where its
        # prediction sets were fitted (trainer/model/conformal.py) and how near a request must
        # come to its training ones to be in scope (trainer/model/scope.py): fitted when bundled.
        self.temperature = 1.0
        self.conformal: Conformal | None = None
        self.scope = scope.unfitted(self)

    @property
    def tools(self) -> tuple[str, ...]:
        return self.toolbox.tools

    # --- scoring ---------------------------------------------------------------------------------

    def context(
        self, text: str, available: Sequence[int] | None = None, must: Sequence[int] = ()
    ) -> Context:
        """The context of a request offering `available` tools (indices; None: all), with the
        tools `must` among those it scores (training's right ones)."""
        offered = tuple(range(len(self.tools))) if available is None else tuple(available)
        # A shortlist is chosen by what the policy learned too: chosen anew as it learns on.
        shortlisted = len(offered) > self.config.shortlist
        epoch = self.updates // SHORTLIST_EPOCH if shortlisted else 0
        cache_key = (text, offered, tuple(must), epoch)
        context = self._contexts.get(cache_key)
        if context is None:
            full = len(self._contexts) % CONTEXT_CHECK == CONTEXT_CHECK - 1 and (
                sum(kept.nbytes for kept in self._contexts.values()) >= MAX_CONTEXT_BYTES
            )
            if full:
                self._contexts.clear()
            meaning = None if self.meaning is None else self.meaning(text)
            chooser = self._chosen_by(epoch) if shortlisted else None
            context = build_context(
                self.config, self.toolbox, text, offered, meaning, chooser, must
            )
            self._contexts[cache_key] = context
        return context

    def _chosen_by(self, epoch: int) -> Table:
        """The policy an epoch's shortlists are chosen by: as it was when the epoch's first was
        chosen (right after the update that began it), so that a context dropped from the
        cache and built again is the same one, whenever it is."""
        if self._chooser is None or self._chooser[0] != epoch:
            self._chooser = (epoch, self.params["w_pi"].copy())
        return self._chooser[1]

    def decide(self, context: Context, state: State) -> tuple[Step, Array, float]:
        """(the decision's rows, each action's probability, the state's value)."""
        step = context.step(state)
        lay = layout([step], MEANING_DIMENSIONS)
        probs = softmax(logits(self.params["w_pi"], self.params["w_mu"], lay), lay.offsets)
        return step, temper(probs, self.temperature), float(values(self.params["w_v"], lay)[0])

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
            self.slabs[name].step(rows, grad, step, beta1, beta2, config.adam_eps)
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
        return weights_of(self.params, self.references)

    def arrays(self, best: Params | None = None) -> dict[str, Any]:
        """Weights and optimizer state, for a checkpoint, and `best`, an earlier snapshot:
        only the rows ever updated (the rest are zeros, in a snapshot too)."""
        state: dict[str, Any] = {"adam_t": np.array([self.t, self.updates])}
        for name, weights in self.params.items():
            slab = self.slabs[name]
            rows = np.flatnonzero(slab.touched).astype(np.int32)
            state[f"rows_{name}"] = rows
            state[f"state_{name}"] = np.stack(
                [weights[rows], slab.first[rows], slab.second[rows]], axis=1
            )
            if best is not None:
                state[f"best_{name}"] = best[name][rows]
        if self._chooser is not None:  # a restored run chooses its shortlists as this one does
            epoch, chooser = self._chooser
            state["chooser"] = chooser[state["rows_w_pi"]]
            state["chooser_epoch"] = np.array([epoch])
        return state

    def load_arrays(self, arrays: Any) -> Params | None:
        """Restore what `arrays` wrote; returns its `best` (None if it held none)."""
        best: Params | None = {} if "best_w_pi" in arrays else None
        for name, weights in self.params.items():
            rows, stored = arrays[f"rows_{name}"], arrays[f"state_{name}"]
            slab = self.slabs[name]
            slab.touched[:] = False
            slab.touched[rows] = True
            for table, column in zip((weights, slab.first, slab.second), range(3), strict=True):
                table[:] = 0.0
                table[rows] = stored[:, column]
            if best is not None:
                best[name] = np.zeros_like(weights)
                best[name][rows] = arrays[f"best_{name}"]
        self.t, self.updates = (int(x) for x in arrays["adam_t"])
        self._chooser = None
        if "chooser" in arrays:
            chooser = np.zeros_like(self.params["w_pi"])
            chooser[arrays["rows_w_pi"]] = arrays["chooser"]
            self._chooser = (int(arrays["chooser_epoch"][0]), chooser)
        return best


def weights_of(params: Params, references: NDArray[np.float16] | None = None) -> bytes:
    """Parameters (and the training requests' meanings, where the model reads meanings) as
    an .npz archive whose bytes depend on them only, so equal policies have equal checksums."""
    buffer = io.BytesIO()
    # In the bundle format's precision.
    members = [(name, params[name].astype(np.float64, copy=False)) for name in PARAMS]
    if references is not None:
        members.append((REFERENCES.removesuffix(".npy"), references.astype("<f2", copy=False)))
    # Deflate's fastest level: the tables are mostly zeros, which any level packs small,
    # and saving a model (every stop, every `agentgym train`) waits for it.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, table in members:
            member = io.BytesIO()
            np.lib.format.write_array(member, table, allow_pickle=False)
            archive.writestr(
                zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)),
                member.getvalue(),
                compress_type=zipfile.ZIP_DEFLATED,
                compresslevel=1,
            )
    return buffer.getvalue()


def params_of(data: bytes) -> tuple[Params, NDArray[np.float16] | None]:
    """The parameters of `weights_of`'s archive, and its references (None if it holds none);
    ValueError if a table has another shape."""
    params: Params = {}
    with np.load(io.BytesIO(data)) as stored:
        for name, shape in shapes().items():
            if stored[name].shape != shape:
                raise ValueError(f"weights for {name} have shape {stored[name].shape}")
            params[name] = stored[name].astype(DTYPE)
        name = REFERENCES.removesuffix(".npy")
        references = stored[name].astype(np.float16) if name in stored else None
    return params, references
