"""One session on one worker: claim it, train it, and leave it paused, stopped, completed,
failed or requeued, with its status, updates, checkpoints and model where they belong.

Ownership is the session record's: a worker trains a session only after a compare-and-set made
it the `owner`, and it writes a heartbeat with every status write. The desired state in the
record (pause, stop) wins over message order; control messages only make it prompt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum

from agentgym.artifacts import ArtifactStore
from agentgym.contracts import format_elapsed, utc_now
from agentgym.errors import ArtifactNotFoundError, KeyNotFoundError
from agentgym.messages import StatusEvent, TrainingUpdate
from agentgym.records import Keys, ModelRecord, SessionRecord, modify
from agentgym.state import Action, SessionStatus
from agentgym.store import KeyValueStore
from trainer.publisher import Publisher
from trainer.run import Run

logger = logging.getLogger(__name__)

SLICE_S = 0.02  # train this long between looking up: control, updates, acks


class StopRequested(Exception):
    """The user asked to stop the session while this worker was letting go of it."""


class Outcome(Enum):
    """What the command's message becomes once the session leaves this worker."""

    DONE = "ack"  # finished with it (any end, or nothing to do)
    REQUEUE = "nak"  # hand it to another worker now (this one is shutting down)
    LATER = "nak-later"  # look again after the ack wait (another worker seems to hold it)


def model_id_for(session_id: str) -> str:
    """One model per session, so a redelivered stop writes the same model again."""
    return f"model_{session_id.removeprefix('session_')}"


@dataclass
class Context:
    """What a session needs from its worker."""

    worker_id: str
    store: KeyValueStore
    artifacts: ArtifactStore
    publisher: Publisher
    checkpoint_every: int
    eval_every: int
    update_interval_s: float
    status_interval_s: float
    ack_wait_s: float
    keep_alive: Callable[[], Awaitable[None]]  # tells NATS the command is still being worked on


@dataclass
class Session:
    """A session this worker holds: requests to it arrive from control messages and status
    writes, and are read between slices of training."""

    session_id: str
    ctx: Context
    keys: Keys = field(default_factory=Keys)  # the session's tenant
    wanted: Action | None = None
    shutting_down: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def request(self, action: Action) -> None:
        if self.wanted is not Action.STOP:  # a stop is final
            self.wanted = action
        self.wake.set()

    def shutdown(self) -> None:
        self.shutting_down = True
        self.wake.set()

    # --- the decision ----------------------------------------------------------------------------

    async def handle(self, action: str) -> Outcome:
        """Carry out a `start`, `resume` or `stop` command for this session."""
        try:
            record = SessionRecord.load(
                (await self.ctx.store.get(self.keys.session(self.session_id))).value
            )
        except KeyNotFoundError:
            logger.info("%s: no such session; dropping its %s", self.session_id, action)
            return Outcome.DONE
        if record.status.terminal:
            return Outcome.DONE
        if action == "stop" or record.desired is Action.STOP:
            if (
                record.status is SessionStatus.RUNNING
                and action == "stop"
                and self._owned_elsewhere(record)
            ):
                return Outcome.DONE  # its owner is stopping it
            await self._finish(await self._load(record), record, SessionStatus.STOPPED)
            return Outcome.DONE
        if record.status is SessionStatus.PAUSED:
            return Outcome.DONE  # paused while the command waited; a resume sends a new one
        if record.status is SessionStatus.RUNNING and self._owned_elsewhere(record):
            # Its owner wrote a heartbeat lately: this is a duplicate, or the owner died a
            # moment ago. Look again once a live owner's heartbeat could not be this old.
            return Outcome.LATER
        run = await self._load(record)
        if record.desired is Action.PAUSE:
            await self._pause(run, record)
            return Outcome.DONE
        claimed = await self._claim()
        if claimed is None:
            return Outcome.LATER  # the record changed under us: decide again shortly
        return await self._train(run, claimed)

    def _owned_elsewhere(self, record: SessionRecord) -> bool:
        alive = time.time() - record.heartbeat < self.ctx.ack_wait_s
        return record.owner not in (None, self.ctx.worker_id) and alive

    async def _load(self, record: SessionRecord) -> Run:
        """The run as its last checkpoint left it, or a new one."""
        if record.checkpoint:
            try:
                return Run.restore(await self.ctx.artifacts.get(record.checkpoint))
            except ArtifactNotFoundError:
                logger.warning(
                    "%s: checkpoint %s is gone; starting over", self.session_id, record.checkpoint
                )
        return Run(record.scenario_id, record.learning_rate, record.seed, record.max_episodes)

    async def _claim(self) -> SessionRecord | None:
        claimed = True

        def change(record: SessionRecord) -> SessionRecord:
            nonlocal claimed
            claimed = record.status in (SessionStatus.QUEUED, SessionStatus.RUNNING) and (
                record.desired is None and not self._owned_elsewhere(record)
            )
            if claimed:
                record.status, record.owner, record.heartbeat = (
                    SessionStatus.RUNNING,
                    self.ctx.worker_id,
                    time.time(),
                )
            return record

        record, _ = await modify(
            self.ctx.store, self.keys.session(self.session_id), SessionRecord, change
        )
        if not claimed:
            return None
        await self.ctx.publisher.event(
            StatusEvent(
                session_id=self.session_id, tenant=self.keys.tenant, status=SessionStatus.RUNNING
            )
        )
        return record

    # --- training --------------------------------------------------------------------------------

    async def _train(self, run: Run, record: SessionRecord) -> Outcome:
        ctx = self.ctx
        seq = await ctx.publisher.last_seq(self.session_id, record.last_seq)
        base_elapsed = record.elapsed_seconds
        started = time.monotonic()
        last_update = last_status = last_ack = rate_clock = started
        first_episode = rate_episode = run.episode
        rate = 0.0
        try:
            while not run.finished:
                deadline = time.perf_counter() + SLICE_S
                while not run.finished and time.perf_counter() < deadline:
                    run.train_episode()
                    if run.episode % ctx.eval_every == 0:
                        run.evaluate_heldout()
                    if run.episode % ctx.checkpoint_every == 0:
                        break
                now = time.monotonic()
                if now - rate_clock >= 1.0:
                    rate, rate_clock, rate_episode = (
                        (run.episode - rate_episode) / (now - rate_clock),
                        now,
                        run.episode,
                    )
                record = self._observe(record, run, base_elapsed + now - started, rate)
                if run.episode % ctx.checkpoint_every == 0 and not run.finished:
                    record.checkpoint = await self._checkpoint(run)
                    last_status = 0.0  # write the status now: a successor must find it
                if now - last_status >= ctx.status_interval_s:
                    record = await self._write_status(record)
                    last_status = now
                if now - last_update >= ctx.update_interval_s:
                    seq = await self._publish(record, seq)
                    last_update = now
                if now - last_ack >= ctx.ack_wait_s / 3:
                    await ctx.keep_alive()
                    last_ack = now
                if self.wanted is Action.STOP or record.desired is Action.STOP:
                    await self._finish(run, record, SessionStatus.STOPPED, seq)
                    return Outcome.DONE
                if self.wanted is Action.PAUSE or record.desired is Action.PAUSE:
                    await self._pause(run, record, seq)
                    return Outcome.DONE
                if self.shutting_down:
                    await self._requeue(run, record, seq)
                    return Outcome.REQUEUE
                await asyncio.sleep(0)  # let NATS and the other sessions run
            run.evaluate_heldout()
            ran_s = time.monotonic() - started
            if rate == 0.0 and ran_s > 0:  # done within the first one-second rate window
                rate = (run.episode - first_episode) / ran_s
            record = self._observe(record, run, base_elapsed + ran_s, rate)
            await self._finish(run, record, SessionStatus.COMPLETED, seq)
            return Outcome.DONE
        except Exception as exc:  # a bug or a broken checkpoint: fail the session, not the worker
            logger.exception("%s: training failed", self.session_id)
            # The stream says which seq comes next: a publish may have landed unconfirmed.
            await self._end(record, SessionStatus.FAILED, None, error=f"training failed: {exc}")
            return Outcome.DONE

    def _observe(
        self, record: SessionRecord, run: Run, elapsed: float, rate: float
    ) -> SessionRecord:
        """The record with the run's current numbers (in memory only)."""
        update = run.metrics() | {
            "elapsed_seconds": elapsed,
            "elapsed_time": format_elapsed(elapsed),
            "episodes_per_second": rate,
        }
        return record.model_copy(update=update)

    async def _write_status(
        self, record: SessionRecord, unless_stopping: bool = False, **changes: object
    ) -> SessionRecord:
        """Write our numbers (and `changes`) over the stored record, keeping what others own:
        the desired state the user asked for. Returns the record as written.

        With `unless_stopping`, a stop the user asked for meanwhile is not overwritten:
        StopRequested is raised instead, and nothing is written."""
        ours = record.model_dump(
            exclude={"desired", "created_at", "idempotency_key", "session_id", "scenario_id"}
        )

        def change(stored: SessionRecord) -> SessionRecord:
            if unless_stopping and stored.desired is Action.STOP:
                raise StopRequested
            return stored.model_copy(
                update=ours | changes | {"heartbeat": time.time(), "updated_at": utc_now()}
            )

        written, _ = await modify(
            self.ctx.store, self.keys.session(self.session_id), SessionRecord, change
        )
        return written

    async def _publish(self, record: SessionRecord, seq: int) -> int:
        seq += 1
        await self.ctx.publisher.update(
            TrainingUpdate(session_id=self.session_id, seq=seq, data=record.status_view())
        )
        record.last_seq = seq
        return seq

    async def _checkpoint(self, run: Run) -> str:
        name = self.keys.checkpoint(self.session_id)
        await self.ctx.artifacts.put(name, run.checkpoint())
        return name

    # --- endings ---------------------------------------------------------------------------------

    async def _end(
        self,
        record: SessionRecord,
        status: SessionStatus,
        seq: int | None = None,
        **changes: object,
    ) -> None:
        """Write the new status, then publish it as the session's last update and an event."""
        if seq is None:
            seq = await self.ctx.publisher.last_seq(self.session_id, record.last_seq)
        previous = record.status
        record = record.model_copy(update={"status": status, "last_seq": seq + 1, **changes})
        # Only a stop or an end ends a stop: a pause or a hand-back must not swallow one.
        unless_stopping = status in (SessionStatus.PAUSED, SessionStatus.QUEUED)
        written = await self._write_status(
            record, unless_stopping, desired=None, owner=None, status=status
        )
        await self._publish(written, seq)
        await self.ctx.publisher.event(
            StatusEvent(
                session_id=self.session_id,
                tenant=self.keys.tenant,
                status=status,
                previous=previous,
            )
        )
        logger.info("%s: %s at episode %d", self.session_id, status, written.current_episode)

    async def _pause(self, run: Run, record: SessionRecord, seq: int | None = None) -> None:
        await self._leave(run, record, SessionStatus.PAUSED, seq)

    async def _requeue(self, run: Run, record: SessionRecord, seq: int) -> None:
        await self._leave(run, record, SessionStatus.QUEUED, seq)

    async def _leave(
        self, run: Run, record: SessionRecord, status: SessionStatus, seq: int | None
    ) -> None:
        """Checkpoint and let go of the session, paused or queued; a stop asked for in the
        meantime wins, and ends it stopped with its model instead."""
        name = await self._checkpoint(run)
        try:
            await self._end(record, status, seq, checkpoint=name)
        except StopRequested:
            await self._finish(run, record, SessionStatus.STOPPED, seq)

    async def _finish(
        self, run: Run, record: SessionRecord, status: SessionStatus, seq: int | None = None
    ) -> None:
        """Save the model as it is now, then end the session `completed` or `stopped`."""
        name = await self._checkpoint(run)
        if run.episode and not run.heldout_accuracy:
            run.evaluate_heldout()
        model_id = model_id_for(self.session_id)
        manifest, data = run.bundle(record.framework)
        await self.ctx.artifacts.put(self.keys.bundle(model_id), data)
        model = ModelRecord(
            id=model_id,
            name=f"{record.scenario_id}_{record.framework.lower()}",
            scenario=record.scenario_id,
            framework=record.framework,
            accuracy=run.heldout_accuracy,  # the model's quality on tasks it never saw
            episodes=run.episode,
            created_at=manifest.created_at,
            size_mb=round(len(data) / (1024 * 1024), 3),
            session_id=self.session_id,
            tenant=self.keys.tenant,
            bundle=self.keys.bundle(model_id),
            sha256=manifest.weights_sha256,
            learning_rate=record.learning_rate,
            seed=record.seed,
            heldout_accuracy=run.heldout_accuracy,
        )
        await self.ctx.store.put(self.keys.model(model_id), model.dump())
        record = record.model_copy(update=run.metrics())
        await self._end(record, status, seq, checkpoint=name, model_id=model_id)
