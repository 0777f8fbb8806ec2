"""`agentgym trainer`: a worker that takes training commands from the JetStream work queue.

Any number of workers share the durable consumer `trainers`; each trains up to `concurrency`
sessions at once and pulls another command only when a slot is free. A command is acked when
its session leaves the worker (paused, stopped, completed, failed), kept alive with in-progress
acks while it trains, and redelivered to another worker if this one dies. The scenarios it
runs are the built-ins it ships with (agentgym.catalog) and the tenants' own, from artifacts.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
from collections.abc import Iterable, Sequence

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from agentgym import nats_client, subjects
from agentgym.artifacts import ArtifactStore, open_artifacts
from agentgym.config import ApiSettings, CommonSettings, TrainerSettings
from agentgym.errors import (
    ArtifactNotFoundError,
    BundleError,
    CorruptRecordError,
    KeyNotFoundError,
    ScenarioGoneError,
)
from agentgym.messages import (
    ControlMessage,
    EvaluateReply,
    EvaluateRequest,
    TrainCommand,
)
from agentgym.nats_bus import NatsBus
from agentgym.records import Keys, ModelRecord
from agentgym.state import Action
from agentgym.store import KeyValueStore, open_store
from trainer.acting import Acting
from trainer.definitions import Definitions
from trainer.logged_value import logged_value
from trainer.loop_run import RUNS_AT_ONCE, LoopRunner
from trainer.model import calibration
from trainer.publisher import Publisher
from trainer.run import Run
from trainer.runner import Slot, open_slot
from trainer.scenarios.base import ScenarioSpec
from trainer.services import Refused, Services
from trainer.session import Outcome, Session, SessionContext

logger = logging.getLogger(__name__)
# How soon a command for a session this worker is still carrying out another command of comes
# back (the command consumer redelivers without limit).
BUSY_RETRY_S = 0.2

EVALUATIONS = 2  # held-out evaluations of saved models a trainer runs at once
FETCH_RETRY_S = 0.2  # how soon a fetch JetStream could not answer is asked again
FETCH_WAIT_S = 1.0  # how long one pull waits for a command before looking at `stop` again


class Worker:
    def __init__(self, settings: TrainerSettings) -> None:
        self.settings = settings
        self.worker_id = settings.worker_id or f"{socket.gethostname()}-{os.getpid()}"
        self.sessions: dict[str, Session] = {}
        self.free_slots: list[Slot] = []  # trainer.runner: where sessions' runs live
        self.ready = asyncio.Event()
        self.evaluating = asyncio.Semaphore(EVALUATIONS)
        self.idle = asyncio.Event()  # set while the worker holds no session
        self.idle.set()
        self.store: KeyValueStore
        self.artifacts: ArtifactStore
        self.definitions: Definitions
        self.js: JetStreamContext

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then hand running sessions back (checkpointed) and return.

        Whatever fails to open, what opened before it is closed. The stores open before NATS
        and close after it, so NATS' callbacks (control, evaluation) in flight at shutdown
        finish with the stores they use while the connection drains."""
        settings = self.settings
        async with contextlib.AsyncExitStack() as opened:
            self.store = await open_store(settings.store_url)
            opened.push_async_callback(self.store.close)
            self.artifacts = open_artifacts(settings.artifacts_url)
            opened.push_async_callback(self.artifacts.close)
            acting = Acting(self.artifacts)  # closed after NATS drains its callbacks
            opened.callback(acting.close)
            client = await nats_client.connect(
                settings.nats_url, f"agentgym-trainer-{self.worker_id}"
            )
            pulls: list[JetStreamContext.PullSubscription] = []
            opened.push_async_callback(nats_client.close, client, pulls)
            self.js = client.jetstream()
            await subjects.ensure_streams(self.js, settings.nats_replicas)  # the owner
            await subjects.ensure_consumer(self.js, settings.ack_wait_s)
            self.definitions = Definitions(self.artifacts)
            await client.subscribe(subjects.CONTROL_ALL, cb=self._on_control)
            services = Services()
            # Stopped before NATS closes: the requests being answered get their replies.
            opened.push_async_callback(services.stop)
            await services.start(client, acting.answer, self._evaluate)
            commands = await self.js.pull_subscribe_bind(
                subjects.CMD_CONSUMER, stream=subjects.CMD_STREAM
            )
            pulls.append(commands)
            due = await self.js.pull_subscribe_bind(
                subjects.LOOP_CONSUMER, stream=subjects.LOOPS_STREAM
            )
            pulls.append(due)
            runner = LoopRunner(
                self.store,
                self.artifacts,
                NatsBus(client),
                # What a snapshot and a start read as the API does (the environment's
                # AGENTGYM_ settings), over this worker's own NATS, store and artifacts.
                ApiSettings(**settings.model_dump(include=set(CommonSettings.model_fields))),
                self.definitions,
                self.worker_id,
                settings.loop_lease_s,
                settings.ack_wait_s,
                settings.loop_step_pause_s,
            )
            # The slots, warm (training code imported) before the worker says it is ready.
            slots = [open_slot(settings.slot) for _ in range(settings.concurrency)]
            for slot in slots:
                opened.callback(slot.executor.shutdown, True, cancel_futures=True)
            await asyncio.gather(
                *(asyncio.get_running_loop().run_in_executor(slot.executor, bool) for slot in slots)
            )
            self.free_slots = slots
            logger.info(
                "trainer %s ready: %d %s slots", self.worker_id, settings.concurrency, settings.slot
            )
            self.ready.set()
            looping = asyncio.create_task(self._loop_runs(due, runner, stop))
            try:
                await self._work(commands, stop)
            finally:
                looping.cancel()
                await asyncio.gather(looping, return_exceptions=True)

    async def _loop_runs(
        self, due: JetStreamContext.PullSubscription, runner: LoopRunner, stop: asyncio.Event
    ) -> None:
        """Take the improvement loops' due messages (agentgym.loops), a few runs at once: a
        run mostly waits on its candidate's session, which trains in a slot like any other."""
        room = asyncio.Semaphore(RUNS_AT_ONCE)
        tasks: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                await room.acquire()
                try:
                    messages = await due.fetch(1, timeout=FETCH_WAIT_S)
                except nats.errors.TimeoutError:
                    room.release()
                    continue
                except nats_client.RETRYABLE:  # NATS restarting: JetStream not back yet
                    room.release()
                    await asyncio.sleep(FETCH_RETRY_S)
                    continue
                task = asyncio.create_task(runner.handle(messages[0]))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                task.add_done_callback(lambda _: room.release())
        finally:  # a run cut short is taken over by another trainer when its lease expires
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _work(self, commands: JetStreamContext.PullSubscription, stop: asyncio.Event) -> None:
        slots = asyncio.Semaphore(self.settings.concurrency)
        tasks: set[asyncio.Task[None]] = set()

        async def hand_back_on_stop() -> None:
            await stop.wait()
            for session in list(self.sessions.values()):
                session.shutdown()

        watcher = asyncio.create_task(hand_back_on_stop())
        try:
            while not stop.is_set():
                await slots.acquire()  # a slot frees when a session leaves, or at stop
                try:
                    messages = await commands.fetch(1, timeout=FETCH_WAIT_S)
                except nats.errors.TimeoutError:
                    slots.release()
                    continue
                except nats_client.RETRYABLE as exc:  # NATS restarting: JetStream not back yet
                    slots.release()
                    logger.info("fetching a command: %s; asking again", type(exc).__name__)
                    await asyncio.sleep(FETCH_RETRY_S)
                    continue
                except BaseException:
                    slots.release()
                    raise
                if stop.is_set():  # told to stop while it waited: the command goes elsewhere
                    await messages[0].nak()
                    slots.release()
                    break
                task = asyncio.create_task(self._command(messages[0]))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                task.add_done_callback(lambda _: slots.release())
        finally:
            watcher.cancel()
            for session in list(self.sessions.values()):
                session.shutdown()
            await asyncio.gather(watcher, *tasks, return_exceptions=True)

    def _context(self, msg: Msg) -> SessionContext:
        return SessionContext(
            worker_id=self.worker_id,
            store=self.store,
            artifacts=self.artifacts,
            publisher=Publisher(self.js),
            settings=self.settings,
            keep_alive=msg.in_progress,
            definitions=self.definitions,
        )

    async def _command(self, msg: Msg) -> None:
        try:
            command = TrainCommand.decode(msg.data)
        except ValueError:
            logger.error("dropping a malformed command: %r", msg.data[:200])
            await msg.term()
            return
        held = self.sessions.get(command.session_id)
        if held is not None:
            if held.action == command.action:  # a redelivery of the command it is working on
                await msg.ack()
            else:  # say, a stop just after the pause it is still writing: once that is done
                await msg.nak(delay=BUSY_RETRY_S)
            return
        slot = self.free_slots.pop()  # there is one: a command is fetched for a free slot
        session = Session(command.session_id, self._context(msg), Keys(command.tenant), slot)
        session.action = command.action
        self.sessions[command.session_id] = session
        self.idle.clear()
        try:
            outcome = await session.handle(command.action)
        except Exception:  # the store or NATS failed: let another attempt take it later
            logger.exception(
                "%s: %s failed; it will be redelivered", command.session_id, command.action
            )
            await msg.nak(delay=1.0)
            return
        finally:
            del self.sessions[command.session_id]
            self.free_slots.append(slot)
            if not self.sessions:
                self.idle.set()
        if outcome is Outcome.DONE:
            await msg.ack()
        else:
            await msg.nak(delay=self.settings.ack_wait_s if outcome is Outcome.LATER else None)

    async def _on_control(self, msg: Msg) -> None:
        try:
            control = ControlMessage.decode(msg.data)
        except ValueError:
            logger.warning("ignoring a malformed control message on %s", msg.subject)
            return
        session = self.sessions.get(control.session_id)
        if session is not None:
            session.request(Action(control.action))

    async def _evaluate(self, raw: bytes) -> bytes:
        """The EvaluateReply to an encoded EvaluateRequest; Refused (422) when the model
        cannot be scored."""
        try:
            request = EvaluateRequest.decode(raw)
        except ValueError:
            raise Refused(400, "malformed request") from None
        try:
            keys = Keys(request.tenant)
            model = ModelRecord.load((await self.store.get(keys.model(request.model_id))).value)
            data = await self.artifacts.get(model.bundle)
            # On the held-out tasks of the version it trained on, whatever was pushed since,
            # unless the request names another.
            spec = await self.definitions.spec(
                request.tenant, model.scenario, model.scenario_version
            )
            if request.scenario_id is not None:
                other = await self.definitions.spec(
                    request.tenant, request.scenario_id, request.version
                )
                spec = evaluated_on(spec, other)
            # Loading and scoring are CPU work: off the loop, so training and acks go on; a
            # few at once, each holding a model.
            async with self.evaluating:
                reply = await asyncio.to_thread(_evaluate, request.model_id, data, spec)
        except (
            KeyNotFoundError,
            ArtifactNotFoundError,
            BundleError,
            CorruptRecordError,
            ScenarioGoneError,
        ) as exc:
            raise Refused(422, str(exc)) from None
        return reply.encode()


def evaluated_on(own: ScenarioSpec, other: ScenarioSpec) -> ScenarioSpec:
    """What a model of `own` (the version it trained on) is evaluated on when asked for `other`:
    other's tasks and logs that use only the model's tools, in own's world (its tools, as the
    model reads them); all of them held out unless `other` is a version of the model's own
    scenario (whose split is kept: the model trained on its training part). Refused (422)
    where none is left."""
    tools = set(own.tools)
    same = other.id == own.id

    def usable(used: Iterable[str], offered: Sequence[str] | None) -> bool:
        return all(tool in tools for tool in (*used, *(offered or ())))

    tasks = tuple(
        task if same else dataclasses.replace(task, split="heldout")
        for task in other.tasks
        if usable(task.solution, task.tools)
    )
    logs = tuple(
        log if same else dataclasses.replace(log, split="heldout")
        for log in other.logs
        if usable((call.tool for call in log.calls), log.tools)
    )
    if not tasks and not logs:
        raise Refused(
            422, f"none of {other.id} version {other.version}'s tasks or logs uses only the "
            f"tools of the model, which has {sorted(tools)}",
        )  # fmt: skip
    return dataclasses.replace(own, tasks=tasks, logs=logs)


def _evaluate(model_id: str, data: bytes, spec: ScenarioSpec) -> EvaluateReply:
    run, _ = Run.from_bundle(data, spec)
    offline = logged_value(run.model, spec.logs)
    result = run.evaluate()
    found = calibration.decisions(run.model, run.heldout)
    return EvaluateReply.model_validate(
        {
            "model_id": model_id,
            "heldout_accuracy": result.accuracy,
            "avg_reward": result.avg_reward,
            "tasks": len(result.episodes),
            "per_tool": result.per_tool,
            **result.analytics,
            "calibration": calibration.reliability(found) | {"temperature": run.model.temperature},
            "offline": None if offline is None else dataclasses.asdict(offline),
        }
    )
