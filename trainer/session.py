"""One session on one worker: claim it, train it, and leave it paused, stopped, completed,
failed or requeued, with its status, updates, checkpoints and model where they belong.

What happens next is `agentgym.lifecycle`'s decision, made on the stored record; this module
carries the decisions out. Ownership is the session record's: a worker trains a session only
after a compare-and-set made it the `owner`, and it writes a heartbeat with every status write.
The user's pending request in the record (pause, stop) wins over message order; control
messages only make it prompt.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum

from agentgym import lifecycle
from agentgym.artifacts import ArtifactStore
from agentgym.config import TrainerSettings
from agentgym.contracts import format_elapsed, utc_now
from agentgym.errors import (
    ArtifactNotFoundError,
    BusUnavailableError,
    KeyNotFoundError,
    ScenarioGoneError,
)
from agentgym.lifecycle import Do
from agentgym.messages import StatusEvent, TrainingUpdate
from agentgym.records import Keys, ModelRecord, SessionRecord, mark_active, modify
from agentgym.state import Action, SessionStatus
from agentgym.store import KeyValueStore
from trainer.checkpoints import CheckpointError
from trainer.definitions import Definitions
from trainer.publisher import Publisher
from trainer.recorder import Recorder
from trainer.runner import Progress, Slot, SlotRun, open_slot

logger = logging.getLogger(__name__)

SLICE_S = 0.02  # train this long between looking up: control, updates, acks
# A run set up for longer than this says so, in its status (`activity`) and the log.
PREPARING_NOTE_S = 0.5
PREPARING = "preparing: setting its run up (a scenario's first session reads what its texts mean)"


class Outcome(Enum):
    """What the command's message becomes once the session leaves this worker."""

    DONE = "ack"  # finished with it (any end, or nothing to do)
    REQUEUE = "nak"  # hand it to another worker now (this one is shutting down)
    LATER = "nak-later"  # look again after the ack wait (another worker seems to hold it)


def model_id_for(session_id: str) -> str:
    """One model per session, so a redelivered stop writes the same model again."""
    return f"model_{session_id.removeprefix('session_')}"


@dataclass
class SessionContext:
    """What a session needs from its worker."""

    worker_id: str
    store: KeyValueStore
    artifacts: ArtifactStore
    publisher: Publisher
    settings: TrainerSettings  # its intervals: checkpoints, evaluations, updates, the ack wait
    keep_alive: Callable[[], Awaitable[None]]  # tells NATS the command is still being worked on
    definitions: Definitions  # where the scenario of a session is read, by tenant and version


@dataclass
class Session:
    """A session this worker holds: requests to it arrive from control messages and status
    writes, and are read between slices of training. What happens to it next is
    `agentgym.lifecycle`'s decision; this class carries the decisions out."""

    session_id: str
    ctx: SessionContext
    keys: Keys = field(default_factory=Keys)  # the session's tenant
    slot: Slot | None = None  # where its run lives (trainer.runner); a thread by default
    pending: Action | None = None  # what a control message asked, until it is carried out
    action: lifecycle.CommandAction | None = None  # the command being carried out
    shutting_down: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    recorder: Recorder | None = None  # stores what its run records, while it is here

    def request(self, action: Action) -> None:
        if self.pending is not Action.STOP:  # a stop is final
            self.pending = action
        self._interrupt()

    def shutdown(self) -> None:
        self.shutting_down = True
        self._interrupt()

    def _interrupt(self) -> None:
        """Look up now: the slice training in the slot ends at its next update."""
        self.wake.set()
        if self.slot is not None:
            self.slot.interrupt.set()

    # --- the decision ----------------------------------------------------------------------------

    async def handle(self, action: lifecycle.CommandAction) -> Outcome:
        """Carry out a `start`, `resume` or `stop` command for this session."""
        try:
            record: SessionRecord | None = SessionRecord.load(
                (await self.ctx.store.get(self.keys.session(self.session_id))).value
            )
        except KeyNotFoundError:
            logger.info("%s: no such session; dropping its %s", self.session_id, action)
            record = None
        decision = self._decide(record, action)
        if record is None or not (decision.does(Do.TRAIN) or decision.does(Do.CHECKPOINT)):
            return _outcome(decision)
        self.slot = self.slot or _thread_slot()
        run = SlotRun(self.slot, f"{self.keys.tenant}/{self.session_id}")
        self.recorder = Recorder(self.session_id, self.keys, self.ctx.publisher, self.ctx.artifacts)
        try:
            try:
                progress = await self._prepared(run, record)
            except (ScenarioGoneError, CheckpointError) as exc:
                # Nothing to train on: its scenario was deleted, or its checkpoint is one this
                # trainer cannot continue. The session says why, and keeps what it had.
                ending = lifecycle.unrunnable(record, str(exc))
                await self._end(record, ending, None, error=str(exc))
                return _outcome(ending)
            if decision.does(Do.CHECKPOINT):  # it ends without training: paused or stopped
                assert decision.record is not None
                return await self._leave(run, record, decision.record.status)
            claimed = await self._claim(action)
            if claimed is None:
                await self._note(None)  # it was paused or stopped meanwhile
                return Outcome.LATER  # the record changed under us: decide again shortly
            return await self._train(run, progress, claimed)
        finally:
            await self._recorder.close()
            await run.close()

    @property
    def _recorder(self) -> Recorder:
        assert self.recorder is not None, "a session records only while it is handled"
        return self.recorder

    def _decide(
        self, record: SessionRecord | None, action: lifecycle.CommandAction
    ) -> lifecycle.Decision:
        ctx = self.ctx
        return lifecycle.command(
            record, action, ctx.worker_id, time.time(), ctx.settings.ack_wait_s
        )

    async def _prepared(self, run: SlotRun, record: SessionRecord) -> Progress:
        """`_load`, saying so in the status and the log when it takes more than a moment."""
        loading = asyncio.ensure_future(self._load(run, record))
        try:
            done, _ = await asyncio.wait({loading}, timeout=PREPARING_NOTE_S)
            if done:
                return loading.result()
            logger.info("%s: %s", self.session_id, PREPARING)
            await self._note(PREPARING)
            progress = await loading
        except BaseException:
            loading.cancel()
            raise
        logger.info("%s: prepared", self.session_id)
        return progress

    async def _note(self, activity: str | None) -> None:
        """Store what it is doing (the API shows it while the session is queued)."""
        await modify(
            self.ctx.store,
            self.keys.session(self.session_id),
            SessionRecord,
            lambda stored: stored.model_copy(update={"activity": activity}),
        )

    async def _load(self, run: SlotRun, record: SessionRecord) -> Progress:
        """The run in its slot, as its last checkpoint left it, or a new one."""
        checkpoint = None
        if record.checkpoint:
            try:
                checkpoint = await self.ctx.artifacts.get(record.checkpoint)
            except ArtifactNotFoundError:
                logger.warning(
                    "%s: checkpoint %s is gone; starting over", self.session_id, record.checkpoint
                )
        spec = await self.ctx.definitions.spec(
            self.keys.tenant, record.scenario_id, record.scenario_version
        )
        initial = None
        if checkpoint is None and record.warm_start is not None:
            initial = await self._bundle_of(record.warm_start)
        return await run.load(
            checkpoint,
            spec,
            record.learning_rate,
            record.seed,
            record.max_episodes,
            record.sources,
            initial,
        )

    async def _bundle_of(self, model_id: str) -> bytes | None:
        """The bundle of the model a session starts from (None: gone since it was asked)."""
        try:
            model = ModelRecord.load((await self.ctx.store.get(self.keys.model(model_id))).value)
            return await self.ctx.artifacts.get(model.bundle)
        except (KeyNotFoundError, ArtifactNotFoundError):
            logger.warning("%s: model %s to start from is gone", self.session_id, model_id)
            return None

    async def _claim(self, action: lifecycle.CommandAction) -> SessionRecord | None:
        """Make this worker the owner, deciding again on the latest record (compare-and-set)."""
        decision = lifecycle.Decision(None)

        def change(record: SessionRecord) -> SessionRecord:
            nonlocal decision
            decision = self._decide(record, action)
            if decision.does(Do.TRAIN) and decision.record:
                return decision.record.model_copy(update={"activity": None})  # prepared
            return record

        record, _ = await modify(
            self.ctx.store, self.keys.session(self.session_id), SessionRecord, change
        )
        if not decision.does(Do.TRAIN):
            return None
        await self._announce(decision)
        return record

    # --- training --------------------------------------------------------------------------------

    async def _train(self, run: SlotRun, progress: Progress, record: SessionRecord) -> Outcome:
        ctx = self.ctx
        seq = await ctx.publisher.last_seq(self.session_id, record.last_seq)
        base_elapsed = record.elapsed_seconds
        started = time.monotonic()
        last_update = last_status = last_ack = rate_clock = started
        first_episode = rate_episode = progress.episode
        rate = 0.0
        saved_at = -1  # the episode of the run's last checkpoint
        try:
            while True:
                # In the slot: the loop goes on with NATS and the other sessions meanwhile.
                update_due = (
                    time.monotonic() + SLICE_S - last_update >= ctx.settings.update_interval_s
                )
                if _validating(record, progress):
                    progress = await run.cross_validate(SLICE_S)
                else:
                    progress = await run.train(
                        SLICE_S, ctx.settings.eval_every, ctx.settings.checkpoint_every, update_due
                    )
                await self._recorder.add(progress)
                now = time.monotonic()
                if now - rate_clock >= 1.0:
                    rate, rate_clock, rate_episode = (
                        (progress.episode - rate_episode) / (now - rate_clock),
                        now,
                        progress.episode,
                    )
                elif rate_clock == started and now > started:  # its first second: so far
                    rate = (progress.episode - first_episode) / (now - started)
                record = self._observe(record, progress, base_elapsed + now - started, rate)
                # Every request from here on is either read now or cuts the next slice short.
                run.slot.interrupt.clear()
                ending = lifecycle.between_slices(
                    record,
                    self.pending,
                    self.shutting_down,
                    progress.finished and not _validating(record, progress),
                )
                if ending is not None:
                    break  # leaving checkpoints and writes the status: not twice
                if progress.checkpoint_due:
                    record.checkpoint = await self._checkpoint(run)
                    saved_at = progress.episode
                    last_status = 0.0  # write the status now: a successor must find it
                if now - last_status >= ctx.settings.status_interval_s:
                    record = await self._write_status(record)  # reads the user's `pending` too
                    last_status = now
                if now - last_update >= ctx.settings.update_interval_s:
                    seq = await self._publish(record, seq)
                    last_update = now
                if now - last_ack >= ctx.settings.ack_wait_s / 3:
                    await ctx.keep_alive()
                    last_ack = now
            assert ending.record is not None
            status = ending.record.status
            if status is SessionStatus.COMPLETED:
                progress = await run.evaluate_heldout()
                saved_at = -1  # the evaluation changed the run (its best, its numbers)
                await self._recorder.add(progress)
                ran_s = time.monotonic() - started
                record = self._observe(record, progress, base_elapsed + ran_s, rate)
            # A pause asked while the run's checkpoint was stored finds it as it is.
            saved = record.checkpoint if saved_at == progress.episode else None
            return await self._leave(run, record, status, seq, saved)
        except BusUnavailableError:
            raise  # NATS away past its bound: the command comes back, and the checkpoint with it
        except Exception as exc:  # a bug or a broken checkpoint: fail the session, not the worker
            logger.exception("%s: training failed", self.session_id)
            failure = lifecycle.failed(record, f"training failed: {exc}")
            # The stream says which seq comes next: a publish may have landed unconfirmed.
            await self._end(record, failure, None, error=f"training failed: {exc}")
            return _outcome(failure)

    def _observe(
        self, record: SessionRecord, progress: Progress, elapsed: float, rate: float
    ) -> SessionRecord:
        """The record with the run's current numbers (in memory only)."""
        remaining = max(record.max_episodes - progress.episode, 0)
        update = progress.metrics | {
            "kfold": progress.kfold,
            "activity": progress.activity,
            "elapsed_seconds": elapsed,
            "elapsed_time": format_elapsed(elapsed),
            "episodes_per_second": rate,
            "estimated_finish": _after(remaining / rate) if rate > 0 else None,
        }
        return record.model_copy(update=update)

    async def _write_status(
        self,
        record: SessionRecord,
        ending: SessionStatus | None = None,
        **changes: object,
    ) -> SessionRecord:
        """Write our numbers (and `changes`) over the stored record, keeping what others own:
        what the user asked for (`pending`). With `ending`, the session leaves this worker
        in that status, as `lifecycle.ended` has it (StopRequested when a stop asked meanwhile
        must win over a pause or a hand-back; nothing is written then). Returns the record as
        written."""
        theirs = {"pending", "created_at", "idempotency_key", "session_id", "scenario_id"}
        # As they are (not dumped): a nested model (`kfold`) stays one in the copy.
        ours = {
            name: getattr(record, name) for name in SessionRecord.model_fields if name not in theirs
        }

        def change(stored: SessionRecord) -> SessionRecord:
            merged = stored.model_copy(
                update=ours | changes | {"heartbeat": time.time(), "updated_at": utc_now()}
            )
            return merged if ending is None else lifecycle.ended(merged, ending)

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

    async def _checkpoint(self, run: SlotRun) -> str:
        name = self.keys.checkpoint(self.session_id)
        await self.ctx.artifacts.put(name, await run.checkpoint())
        return name

    async def _announce(self, decision: lifecycle.Decision) -> None:
        for effect in decision.effects:
            if effect.do is Do.ANNOUNCE:
                await self._tell(effect)

    async def _tell(self, effect: lifecycle.Effect) -> None:
        """Tell watchers of an ANNOUNCE effect's status change."""
        assert effect.status is not None
        await self.ctx.publisher.event(
            StatusEvent(
                session_id=self.session_id,
                tenant=self.keys.tenant,
                status=effect.status,
                previous=effect.previous,
            )
        )

    # --- endings ---------------------------------------------------------------------------------

    async def _leave(
        self,
        run: SlotRun,
        record: SessionRecord,
        status: SessionStatus,
        seq: int | None = None,
        saved: str | None = None,
    ) -> Outcome:
        """Carry out `lifecycle.leave`: checkpoint (unless `saved` names one of the run as it
        is), save the model when it ends, then write the record and tell watchers. A stop
        asked meanwhile wins over a pause or a hand-back, and ends it stopped with its model
        instead."""
        decision = lifecycle.leave(record, status)
        changes: dict[str, object] = {"checkpoint": saved or await self._checkpoint(run)}
        if decision.does(Do.SAVE_MODEL):
            changes["model_id"], progress = await self._save_model(run, record)
            record = record.model_copy(update=progress.metrics)
        await self._recorder.flush()  # all it recorded is there when the status says it ended
        try:
            await self._end(record, decision, seq, **changes)
        except lifecycle.StopRequested:
            return await self._leave(run, record, SessionStatus.STOPPED, seq)
        except lifecycle.AlreadyEnded:
            logger.info("%s: ended meanwhile by another trainer", self.session_id)
            return Outcome.DONE
        return _outcome(decision)

    async def _end(
        self,
        record: SessionRecord,
        decision: lifecycle.Decision,
        seq: int | None,
        **changes: object,
    ) -> None:
        """Write the decision's status, then carry out its effects, in order: every one of
        `lifecycle.TRAINER_EFFECTS` is either done here or was done before the record was
        written (`_leave`), or is what becomes of the work message (`_outcome`)."""
        assert decision.record is not None
        status = decision.record.status
        if seq is None:
            seq = await self.ctx.publisher.last_seq(self.session_id, record.last_seq)
        record = record.model_copy(update={"last_seq": seq + 1})
        written = await self._write_status(record, status, **changes)
        for effect in decision.effects:
            match effect.do:
                case Do.CHECKPOINT | Do.SAVE_MODEL:  # before the record (`_leave`)
                    pass
                case Do.UNMARK_ACTIVE:  # it no longer counts against the tenant's limit
                    await mark_active(self.ctx.store, self.keys, self.session_id, False)
                case Do.PUBLISH_LAST:
                    await self._publish(written, seq)
                case Do.ANNOUNCE:
                    await self._tell(effect)
                case Do.ACK | Do.HAND_BACK | Do.RETRY_LATER:  # the message's (`_outcome`)
                    pass
                case _:
                    raise AssertionError(f"a trainer does not carry out {effect.do} at an end")
        logger.info("%s: %s at episode %d", self.session_id, status, written.current_episode)

    async def _save_model(self, run: SlotRun, record: SessionRecord) -> tuple[str, Progress]:
        """The model as it is now: its bundle, then its record. Returns its id, and where the
        run is (held-out accuracy measured, if it never was)."""
        model_id = model_id_for(self.session_id)
        manifest, data, progress = await run.bundle(record.framework)
        await self._recorder.add(progress)
        await self.ctx.artifacts.put(self.keys.bundle(model_id), data)
        model = ModelRecord.of_bundle(
            manifest, model_id, self.keys, len(data), session_id=self.session_id
        )
        await self.ctx.store.put(self.keys.model(model_id), model.dump())
        return model_id, progress


def _validating(record: SessionRecord, progress: Progress) -> bool:
    """Whether the session, trained, is to be cross-validated still (`"evaluation": "kfold"`):
    it has not ended yet. A pause meanwhile keeps the run; resumed, the folds start over."""
    return progress.finished and record.evaluation == "kfold" and progress.kfold is None


def _after(seconds: float) -> str:
    """The ISO time `seconds` from now (capped: a crawl to a billion episodes has no date)."""
    return (datetime.now(UTC) + timedelta(seconds=min(seconds, 100 * 365 * 86400))).isoformat()


@functools.cache
def _thread_slot() -> Slot:
    """For a session given no slot (a test's own): one shared thread."""
    return open_slot("thread")


_OUTCOMES = {Do.ACK: Outcome.DONE, Do.HAND_BACK: Outcome.REQUEUE, Do.RETRY_LATER: Outcome.LATER}


def _outcome(decision: lifecycle.Decision) -> Outcome:
    """What becomes of the work message: the one of ACK, HAND_BACK and RETRY_LATER that the
    decision says (lifecycle gives every decision a session leaves the worker with one)."""
    (outcome,) = (_OUTCOMES[effect.do] for effect in decision.effects if effect.do in _OUTCOMES)
    return outcome
