"""The one training loop: draw a batch of episodes from the run's sources, learn from it, and
let the callbacks look (evaluate, keep the best, record, stop). The slot of a trainer, `agentgym
train`, the benchmarks and the tests all drive it, as Stable-Baselines3's `learn` drives its
`BaseCallback`s (`EvalCallback`, `CheckpointCallback`): reporting, evaluation and checkpointing
hang off it instead of living inside it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from trainer.run import Run


class Callback(Protocol):
    def after_update(self, run: Run, first: int) -> bool:
        """Called after each update, which learned from the episodes numbered `first` + 1 to
        `run.episode`; True stops the loop there."""
        ...


def train(run: Run, callbacks: Sequence[Callback] = ()) -> None:
    """Train until the run has played its episodes or a callback stops it. Updates end at
    multiples of the batch whatever the callbacks, so that a run stopped anywhere and
    resumed learns exactly as one never stopped; a callback acts after the update that
    reached its episode (every 100 is every 100 with batches of 10). The callbacks look once
    before the first update too, as after one of no episodes (`first` is `run.episode`): a
    run asked to stop before it began stops at once, and what a stop put off is done first."""
    first = run.episode
    while True:
        stop = False
        for callback in callbacks:  # every one sees every update, whichever stops
            stop = callback.after_update(run, first) or stop
        if stop or run.finished:
            return
        first = run.episode
        run.update()


def crossed(first: int, last: int, every: int) -> bool:
    """Whether episodes `first` + 1 to `last` include a multiple of `every`."""
    return every > 0 and last // every > first // every


class Evaluating:
    """Evaluate on held-out and validation tasks every `every` episodes, keeping the best
    (with `heldout` False, on validation tasks alone: the held-out ones only report, and a run
    nobody watches measures them once, on the model it saves: `Run.evaluate_best`).

    Once `interrupted` says so (a pause or a stop is waiting), an evaluation due is put off
    (`Run.evaluation_due`, kept in its checkpoint) until the run trains on: a pause does not
    wait for it, and the model evaluated, at the same episode, is the one a run never paused
    evaluates."""

    def __init__(
        self, every: int, interrupted: Callable[[], bool] | None = None, heldout: bool = True
    ) -> None:
        self.every = every
        self.interrupted = interrupted
        self.heldout = heldout

    def after_update(self, run: Run, first: int) -> bool:
        if crossed(first, run.episode, self.every):
            run.evaluation_due = True
        if run.evaluation_due and not (self.interrupted is not None and self.interrupted()):
            if self.heldout:
                run.evaluate_heldout()
            else:
                run.evaluation_due = False
                run.validate()
        return False


class Recording:
    """Record a training episode now and then (`Config.record_every`: the last simulated one
    of the update that reached each multiple), and the run's last."""

    def after_update(self, run: Run, first: int) -> bool:
        if crossed(first, run.episode, run.config.record_every) or run.finished:
            run.record_last()
        return False


class StopAt:
    """Stop once a multiple of `every` episodes is reached (a checkpoint is due), at
    `deadline` (time.perf_counter's) once an update was made, or once `interrupted` says so:
    a call begun late (a busy machine) still trains, unless it is asked to stop."""

    def __init__(
        self,
        every: int = 0,
        deadline: float | None = None,
        interrupted: Callable[[], bool] | None = None,
    ) -> None:
        self.every = every
        self.deadline = deadline
        self.interrupted = interrupted

    def after_update(self, run: Run, first: int) -> bool:
        if crossed(first, run.episode, self.every):
            return True
        if self.interrupted is not None and self.interrupted():
            return True
        trained = run.episode > first
        return trained and self.deadline is not None and time.perf_counter() >= self.deadline
