"""The policy and how it learns: an actor-critic over what the agent reads and where it is.

Pure numpy and deterministic: the same seed and hyperparameters give the same run, bit for
bit, and a policy restored from its arrays continues exactly as the original would have.

- Features: each word and word pair of the task's text, joined with how many steps of the
  task are done ("1|refund": the text says refund and one step is done), plus which tools are
  done, which were called wrongly since the last progress, which just failed, and a bias per
  step. Hashed (stable CRC32, so a text means the same features in every
  process) into a fixed table: the policy reads the text and what has happened so far.
- Model: a linear softmax policy over the tools and "finish", and a linear value (the
  baseline), on those sparse features. Joining words with progress lets a linear model say
  "for a refund, after the lookup, check the payment", and it generalizes to new phrasings
  through the words they share.
- Update: after each episode, a few Adam steps (the session's learning rate) on PPO's clipped
  policy-gradient objective with the value as baseline and an entropy bonus. Only the rows of the features the episode used are
  updated (lazy Adam: a row's moments decay when it is used), so an update costs the same
  however large the table.
"""

from __future__ import annotations

import io
import itertools
import re
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

# The weights' layout is a fact the API checks imports against without numpy: it lives there.
from agentgym.weights import FEATURES, PARAMS

GAMMA = 0.9
LOGIT_SCALE = 5
LAMBDA = 0.5  # GAE's trade between the value's bias and the returns' variance
EPOCHS = 6  # Adam steps per episode
CLIP = 0.2  # PPO's trust region on the probability ratio
ENTROPY = 0.003
VALUE_WEIGHT = 0.5
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-3

Array = NDArray[np.float64]
Indices = NDArray[np.intp]
_WORD = re.compile(r"[a-z0-9']+")


def _hash(feature: str) -> int:
    return zlib.crc32(feature.encode()) % FEATURES


def words_of(text: str) -> list[str]:
    """The words and word pairs a text's features are made of."""
    words = _WORD.findall(text.lower())
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


@dataclass
class Step:
    features: Indices
    probs: Array
    value: float
    action: int
    reward: float = 0.0


class Policy:
    """The weights, with Adam's moments, for `n_tools` tools plus "finish"."""

    def __init__(self, tools: tuple[str, ...], rng: np.random.Generator) -> None:
        self.tools = tools
        self.n_actions = len(tools) + 1
        self.params: dict[str, Array] = {
            # Zeros: a linear softmax has no symmetry to break, and untouched rows compress.
            "w_pi": np.zeros((FEATURES, self.n_actions)),
            "w_v": np.zeros(FEATURES),
        }
        self.m = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.v = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.t = 0
        self._cache: dict[tuple[str, int], Indices] = {}

    def features(self, observation: dict[str, Any]) -> Indices:
        """The active features of an environment observation."""
        text, done = observation["task"], observation["done"]
        progress = int(done.sum())
        key = (text, progress)
        base = self._cache.get(key)
        if base is None:
            base = self._cache[key] = np.array(
                [_hash(f"{progress}|{w}") for w in words_of(text)] + [_hash(f"{progress}|bias")],
                dtype=np.intp,
            )
        extra = [_hash(f"done|{self.tools[i]}") for i in np.flatnonzero(done)]
        extra += [_hash(f"wrong|{self.tools[i]}") for i in np.flatnonzero(observation["wrong"])]
        if observation["failed"] < len(self.tools):
            extra.append(_hash(f"failed|{self.tools[observation['failed']]}"))
        return np.append(base, extra) if extra else base

    def forward(self, features: Indices) -> tuple[Array, float]:
        """(action probabilities, value)."""
        return forward(self.params, features)

    def update(self, steps: list[Step], learning_rate: float) -> float:
        """Learn from a finished episode; returns its loss (per step, first epoch).

        PPO-style: EPOCHS Adam steps on the episode, each on the clipped probability ratio
        to the policy that acted, so the reuse stays on-policy in effect.
        """
        returns, advantages = returns_and_advantages(steps)
        rows = rows_of(steps)
        first_loss = 0.0
        for epoch in range(EPOCHS):
            loss, grad_pi, grad_v = gradients(self.params, steps, returns, advantages, rows)
            if epoch == 0:
                first_loss = loss
            self._adam_step(rows, grad_pi, grad_v, learning_rate)
        return first_loss

    def _adam_step(
        self, rows: Indices, grad_pi: Array, grad_v: Array, learning_rate: float
    ) -> None:
        self.t += 1
        step_size = (
            learning_rate * np.sqrt(1 - ADAM_BETAS[1] ** self.t) / (1 - ADAM_BETAS[0] ** self.t)
        )
        for name, grad in (("w_pi", grad_pi), ("w_v", grad_v)):
            m, v = self.m[name][rows], self.v[name][rows]
            self.params[name][rows] -= step_size * _adam_direction(m, v, grad)
            self.m[name][rows], self.v[name][rows] = m, v

    # --- persistence ---------------------------------------------------------------------------

    def weights(self) -> bytes:
        """The parameters alone (what a model bundle carries), as an .npz archive whose bytes
        depend on the parameters only, so equal policies have equal checksums."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in PARAMS:
                member = io.BytesIO()
                np.lib.format.write_array(member, self.params[name], allow_pickle=False)
                # Fixed timestamps; untouched rows are zeros and compress away.
                archive.writestr(
                    zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)),
                    member.getvalue(),
                    compress_type=zipfile.ZIP_DEFLATED,
                )
        return buffer.getvalue()

    def load_weights(self, data: bytes) -> None:
        with np.load(io.BytesIO(data)) as stored:
            for name in PARAMS:
                if stored[name].shape != self.params[name].shape:
                    raise ValueError(f"weights for {name} have shape {stored[name].shape}")
                self.params[name] = stored[name].astype(np.float64)

    def arrays(self) -> dict[str, Any]:
        """Weights and optimizer state, for a checkpoint: only the rows ever updated (every
        other row is still all zeros), which keeps a checkpoint small and quick to write."""
        rows = np.flatnonzero(self.v["w_pi"].any(axis=1) | (self.v["w_v"] != 0))
        state: dict[str, Any] = {"rows": rows, "adam_t": np.array([self.t])}
        for name in PARAMS:
            for prefix, table in (("p", self.params), ("m", self.m), ("v", self.v)):
                state[f"{prefix}_{name}"] = table[name][rows]
        return state

    def load_arrays(self, arrays: Any) -> None:
        rows = arrays["rows"]
        for prefix, table in (("p", self.params), ("m", self.m), ("v", self.v)):
            for name in PARAMS:
                table[name] = np.zeros_like(self.params[name])
                table[name][rows] = arrays[f"{prefix}_{name}"]
        self.t = int(arrays["adam_t"][0])


def forward(params: dict[str, Array], features: Indices) -> tuple[Array, float]:
    """(action probabilities, value) of the policy with these parameters."""
    logits = LOGIT_SCALE * params["w_pi"][features].sum(axis=0)
    logits -= logits.max()
    exp = np.exp(logits)
    # The value is the mean of its features' weights, not their sum: each Adam step moves
    # every active weight by about the learning rate, and a sum over dozens of features
    # would make the baseline overshoot.
    return exp / exp.sum(), float(params["w_v"][features].mean())


def returns_and_advantages(steps: list[Step]) -> tuple[Array, Array]:
    """Each step's value target and advantage, by generalized advantage estimation: mostly the
    step's own reward and the value of where it led, so a right call is credited at once
    rather than through the noise of everything that followed it."""
    values = np.array([step.value for step in steps] + [0.0])
    advantages = np.zeros(len(steps))
    running = 0.0
    for i in range(len(steps) - 1, -1, -1):
        delta = steps[i].reward + GAMMA * values[i + 1] - values[i]
        running = delta + GAMMA * LAMBDA * running
        advantages[i] = running
    returns = advantages + values[:-1]
    return returns, advantages


def rows_of(steps: list[Step]) -> Indices:
    """The feature rows an episode used, sorted: the only rows its update changes."""
    return np.unique(np.concatenate([step.features for step in steps]))


def gradients(
    params: dict[str, Array],
    steps: list[Step],
    returns: Array,
    advantages: Array,
    rows: Indices,
) -> tuple[float, Array, Array]:
    """(loss, gradient of w_pi's `rows`, gradient of w_v's `rows`), all per step, of the
    episode's loss under `params`; pure. Per step: PPO's clipped surrogate of the probability
    ratio to the policy that acted (`step.probs`) times the advantage, minus ENTROPY times the
    entropy, plus VALUE_WEIGHT times the value's squared error to the return. The loss reported
    is the unclipped surrogate's; the gradient is the clipped one's.
    """
    grad_pi = np.zeros((len(rows), params["w_pi"].shape[1]))
    grad_v = np.zeros(len(rows))
    loss = 0.0
    for step, target, advantage in zip(steps, returns, advantages, strict=True):
        at = np.searchsorted(rows, step.features)
        probs, value = forward(params, step.features)
        ratio = probs[step.action] / step.probs[step.action]
        log_probs = np.log(probs + 1e-12)
        entropy = -float(probs @ log_probs)
        loss += -ratio * advantage - ENTROPY * entropy + VALUE_WEIGHT * (target - value) ** 2
        # The clipped objective has no gradient once the ratio left the trust region in the
        # direction the advantage pushes it.
        clipped = ratio > 1 + CLIP if advantage > 0 else ratio < 1 - CLIP
        d_logits = ENTROPY * probs * (log_probs + entropy)
        if not clipped:
            d_logits += ratio * advantage * probs
            d_logits[step.action] -= ratio * advantage
        np.add.at(grad_pi, at, LOGIT_SCALE * d_logits)  # a feature may occur twice
        np.add.at(grad_v, at, VALUE_WEIGHT * 2.0 * (value - target) / len(at))
    return loss / len(steps), grad_pi / len(steps), grad_v / len(steps)


def _adam_direction(m: Array, v: Array, grad: Array) -> Array:
    """Update Adam's moments in place and return the (uncorrected) step direction."""
    beta1, beta2 = ADAM_BETAS
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad * grad
    result: Array = m / (np.sqrt(v) + ADAM_EPS)
    return result
