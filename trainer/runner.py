"""Where a session's CPU work happens: off the worker's event loop, in a slot of its own.

A worker has `concurrency` slots; each is a one-worker executor from `concurrent.futures`, a
process (`AGENTGYM_SLOT=process`, the default) or a thread (`thread`). A session's `Run` lives
inside its slot for as long as the session stays on the worker, and every step that costs CPU
(training a slice, a held-out evaluation, serializing a checkpoint, packing a bundle) is a
call into the slot, so the event loop only does I/O: NATS acks, pause and stop messages,
evaluate requests and the other sessions go on while a slice trains.

Processes, because training is numpy on small sparse rows, which holds the GIL most of the
time: two threads train no faster than one (tests/benchmarks/slot_scaling.py measures both).
The run's state never leaves its process but as a checkpoint, so a run checkpointed, moved and
restored continues bit for bit as it would have.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from agentgym import orphans
from agentgym.bundle import Manifest
from agentgym.contracts import Framework, KFold
from trainer.scenarios.base import ScenarioSpec

T = TypeVar("T")
SlotKind = Literal["process", "thread"]
# A slot's process yields the CPU to the worker's loop: with every core training, a pause or a
# stop still gets its turn at once (the loop's work is short; training takes what is left).
SLOT_NICENESS = 10


@dataclass(frozen=True)
class Progress:
    """Where a run is, as the slot reports it after each call."""

    metrics: dict[str, float | int | None]  # Run.metrics(): the status fields the run owns
    episode: int
    finished: bool
    heldout_accuracy: float
    checkpoint_due: bool = False  # the slice reached a multiple of checkpoint_every
    # Since the last call: the episodes recorded (trainer.recorded, as JSON), and the report
    # of the latest held-out evaluation, if one ran.
    episodes: list[bytes] = field(default_factory=list)
    report: dict[str, Any] | None = None
    kfold: KFold | None = None  # its k-fold estimate, once cross-validated
    activity: str | None = None  # what it is doing past training (cross-validating)


@dataclass
class Slot:
    """Where a session's run lives, and how to cut its current call short: `interrupt`, set,
    ends a training call at its next update (a pause or a stop is then carried out at once,
    not after the slice)."""

    executor: Executor
    interrupt: Any  # a multiprocessing.Event for a process slot, a threading.Event for a thread


def open_slot(kind: SlotKind) -> Slot:
    """A slot: one process (spawned, so it shares nothing with the worker but what it is
    sent) or one thread."""
    if kind == "process":
        context = multiprocessing.get_context("spawn")
        interrupt: Any = context.Event()  # a process inherits it at its start, or never
        executor: Executor = ProcessPoolExecutor(
            1,
            mp_context=context,
            initializer=_warm,
            initargs=(interrupt, SLOT_NICENESS, os.getpid()),
        )
    else:
        interrupt = threading.Event()
        executor = ThreadPoolExecutor(
            1, thread_name_prefix="agentgym-slot", initializer=_warm, initargs=(interrupt,)
        )
    return Slot(executor, interrupt)


class SlotRun:
    """A session's run inside a slot: each method is one call into it."""

    def __init__(self, slot: Slot, key: str) -> None:
        self.slot = slot
        self.key = key  # names the run among those the slot holds (tenant and session)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        executor = self.slot.executor
        return await asyncio.get_running_loop().run_in_executor(executor, fn, self.key, *args)

    async def load(
        self,
        checkpoint: bytes | None,
        spec: ScenarioSpec,
        learning_rate: float,
        seed: int,
        max_episodes: int,
        sources: Sequence[str] | None = None,
        initial: bytes | None = None,
    ) -> Progress:
        """The run of scenario `spec` from its checkpoint, or a new one (learning from
        `sources`; None: all the scenario has), from the weights of bundle `initial` where
        they fit (Run.start_from)."""
        return await self._call(
            _load, checkpoint, spec, learning_rate, seed, max_episodes, sources, initial
        )

    async def train(
        self, seconds: float, eval_every: int, checkpoint_every: int, record_last: bool = False
    ) -> Progress:
        """Train for about `seconds`, stopping early at a checkpoint's episode or the end;
        `record_last`: record the slice's last episode (whatever the sample takes). Cut short
        by `Slot.interrupt`."""
        return await self._call(_train, seconds, eval_every, checkpoint_every, record_last)

    async def cross_validate(self, seconds: float) -> Progress:
        """Go on with the run's k-fold cross-validation for about `seconds` (trained, it is
        begun; its `kfold` is there once done). Cut short by `Slot.interrupt`."""
        return await self._call(_cross_validate, seconds)

    async def evaluate_heldout(self) -> Progress:
        return await self._call(_evaluate_heldout)

    async def checkpoint(self) -> bytes:
        return await asyncio.to_thread(_take, Path(await self._call(_checkpoint)))

    async def bundle(self, framework: Framework) -> tuple[Manifest, bytes, Progress]:
        """The model bundle as the run is now (evaluated on held-out tasks first if it never
        was), and where the run is."""
        return await self._call(_bundle, framework)

    async def close(self) -> None:
        """Drop the run from the slot (the session left this worker)."""
        await self._call(_drop)


def _take(path: Path) -> bytes:
    """The file's bytes; the file is gone."""
    try:
        return path.read_bytes()
    finally:
        path.unlink()


# --- inside the slot ---------------------------------------------------------------------------
# Module functions, so that a process slot can run them: each finds its run by key.

_runs: dict[str, Any] = {}
_validations: dict[str, Any] = {}  # a run's cross-validation under way, by the run's key
_slot = threading.local()  # the slot's interrupt, in the thread that runs its calls


def _warm(interrupt: Any, niceness: int = 0, parent: int | None = None) -> None:
    """Import the training code at the slot's start, not at its first session's; a process
    slot ends with its `parent`, the trainer that opened it (agentgym.orphans)."""
    import trainer.run  # noqa: F401

    _slot.interrupt = interrupt
    if niceness:
        os.nice(niceness)
    if parent is not None:
        orphans.watch_parent(parent)


def _progress(run: Any, checkpoint_due: bool = False) -> Progress:
    episodes = [episode.model_dump_json().encode() for episode in run.recorded]
    report, run.recorded, run.report = run.report, [], None
    return Progress(
        run.metrics(),
        run.episode,
        run.finished,
        run.heldout_accuracy,
        checkpoint_due,
        episodes,
        report,
        run.kfold,
    )


def _load(
    key: str,
    checkpoint: bytes | None,
    spec: ScenarioSpec,
    learning_rate: float,
    seed: int,
    max_episodes: int,
    sources: Sequence[str] | None,
    initial: bytes | None = None,
) -> Progress:
    from trainer.run import Run

    if checkpoint:
        run = Run.restore(checkpoint, spec)
    else:
        run = Run(spec, learning_rate, seed, max_episodes, sources=sources)
        if initial is not None:
            run.start_from(initial)
    _runs[key] = run
    return _progress(run)


def _train(
    key: str, seconds: float, eval_every: int, checkpoint_every: int, record_last: bool
) -> Progress:
    from trainer.training.loop import Evaluating, Recording, StopAt, crossed, train

    run = _runs[key]
    first = run.episode
    train(
        run,
        [
            Evaluating(eval_every, _slot.interrupt.is_set),
            Recording(),
            StopAt(checkpoint_every, time.perf_counter() + seconds, _slot.interrupt.is_set),
        ],
    )
    if record_last or run.finished:
        run.record_last()
    return _progress(run, crossed(first, run.episode, checkpoint_every))


def _cross_validate(key: str, seconds: float) -> Progress:
    from trainer.training.crossval import CrossValidation

    run = _runs[key]
    validation = _validations.get(key) or _validations.setdefault(key, CrossValidation(run))
    if validation.advance(time.perf_counter() + seconds, _slot.interrupt.is_set):
        run.kfold = validation.result()
        del _validations[key]
        return _progress(run)
    return dataclasses.replace(_progress(run), activity=validation.where())


def _evaluate_heldout(key: str) -> Progress:
    run = _runs[key]
    run.evaluate_heldout()
    return _progress(run)


def _checkpoint(key: str) -> str:
    """The run's checkpoint, in a file whose path it returns (the caller removes it). Not
    through the slot's pipe: 64 KiB at a time, megabytes take a hundred turns of a busy
    scheduler, and a pause waits for them."""
    import tempfile

    with tempfile.NamedTemporaryFile(prefix="agentgym-checkpoint-", delete=False) as out:
        out.write(_runs[key].checkpoint())
    return out.name


def _bundle(key: str, framework: Framework) -> tuple[Manifest, bytes, Progress]:
    run = _runs[key]
    if run.episode and not run.heldout_accuracy:
        run.evaluate_heldout()
    manifest, data = run.bundle(framework)
    return manifest, data, _progress(run)


def _drop(key: str) -> None:
    _runs.pop(key, None)
    _validations.pop(key, None)
