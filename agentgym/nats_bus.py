"""The bus over NATS: JetStream for commands and history, core NATS for control."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js.kv import KeyValue

from agentgym import history, nats_client, subjects
from agentgym.act import ActAnswer
from agentgym.bus import Found
from agentgym.errors import BusUnavailableError, TrainerRefusedError
from agentgym.messages import (
    ActRequest,
    ControlMessage,
    EvaluateReply,
    EvaluateRequest,
    LoopDue,
    StatusEvent,
    TrainCommand,
)

PUBLISH_TIMEOUT_S = 5.0
DECISIONS_IN_FLIGHT = 100  # publishes awaiting their acks together
CALLS_SCANNED = 1000  # what a decision's calls are looked for in: what its scenario logged next
EVALUATE_TIMEOUT_S = 30.0
ACT_TIMEOUT_S = 10.0  # a cold bundle loads in well under a second; a decision takes a few ms
_UNAVAILABLE = nats_client.UNAVAILABLE


@asynccontextmanager
async def reachable() -> AsyncIterator[None]:
    """Translate NATS' connection troubles into BusUnavailableError."""
    try:
        yield
    except _UNAVAILABLE as exc:
        raise BusUnavailableError(str(exc) or type(exc).__name__) from exc


class NatsBus:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.js = client.jetstream(timeout=PUBLISH_TIMEOUT_S)
        self._index: KeyValue | None = None

    @classmethod
    async def connect(cls, url: str, name: str, replicas: int = 1) -> NatsBus:
        """Connect, and create a stream that does not exist yet, with this version's
        configuration, so that a command sent before any trainer ever ran waits durably.

        A stream that exists is left exactly as it is: the trainers own the streams' and the
        consumer's configuration (agentgym.subjects), and an API instance of an older version
        during a rolling deploy must never rewrite a newer one."""
        async with reachable():
            client = await nats_client.connect(url, name)
            bus = cls(client)
            try:
                await subjects.create_missing_streams(bus.js, replicas)
            except BaseException:
                await nats_client.close(client)
                raise
        return bus

    async def send_command(self, command: TrainCommand, msg_id: str) -> None:
        async with reachable():
            await self.js.publish(
                subjects.CMD_SUBJECT, command.encode(), headers={"Nats-Msg-Id": msg_id}
            )

    async def send_control(self, message: ControlMessage) -> None:
        async with reachable():
            await self.client.publish(
                subjects.control_subject(message.session_id), message.encode()
            )

    async def publish_event(self, event: StatusEvent) -> None:
        async with reachable():
            await self.js.publish(subjects.events_subject(event.session_id), event.encode())

    async def schedule_loop(self, tenant: str, scenario_id: str, every_s: float | None) -> None:
        subject = subjects.loop_schedule_subject(tenant, scenario_id)
        async with reachable():
            if every_s is None:
                await self.js.purge_stream(subjects.LOOPS_STREAM, subject=subject)
                return
            due = LoopDue(tenant=tenant, scenario_id=scenario_id)
            seconds = max(1, round(every_s))
            await self.js.publish(
                subject,
                due.encode(),
                headers={
                    "Nats-Schedule": f"@every {seconds}s",
                    "Nats-Schedule-Target": subjects.loop_due_subject(tenant, scenario_id),
                    "Nats-Schedule-TTL": f"{seconds}s",  # a tick nobody took goes with the next
                    # One definition per loop: a new one replaces the one before.
                    "Nats-Rollup": "sub",
                },
            )

    async def ask_loop_run(
        self, tenant: str, scenario_id: str, run_id: str, again: bool = False
    ) -> None:
        due = LoopDue(tenant=tenant, scenario_id=scenario_id, run_id=run_id)
        # A message more for a run is harmless (its lease lets one trainer through); one
        # lost is not.
        msg_id = f"{run_id}-{time.time_ns()}" if again else run_id
        async with reachable():
            await self.js.publish(
                subjects.loop_due_subject(tenant, scenario_id),
                due.encode(),
                headers={"Nats-Msg-Id": msg_id},
            )

    async def _decision_index(self) -> KeyValue:
        if self._index is None:
            self._index = await subjects.decision_index(self.js)
        return self._index

    async def publish_decisions(self, tenant: str, items: Sequence[tuple[str, str, bytes]]) -> None:
        async with reachable():
            index = await self._decision_index()
            stored: Counter[str] = Counter()
            for start in range(0, len(items), DECISIONS_IN_FLIGHT):
                chunk = items[start : start + DECISIONS_IN_FLIGHT]
                acks = await asyncio.gather(
                    *(
                        self.js.publish(
                            subjects.decisions_subject(tenant, scenario_id),
                            data,
                            headers={"Nats-Msg-Id": item_id},
                        )
                        for scenario_id, item_id, data in chunk
                    )
                )
                # Where each decision is (a retry's ack names the first copy's place).
                await asyncio.gather(
                    *(
                        index.put(
                            f"{tenant}.{item_id}",
                            json.dumps({"scenario_id": scenario_id, "seq": ack.seq}).encode(),
                        )
                        for (scenario_id, item_id, _), ack in zip(chunk, acks, strict=True)
                        if item_id.startswith("dec_")
                    )
                )
                for (scenario_id, _, _), ack in zip(chunk, acks, strict=True):
                    if not ack.duplicate:  # a gateway's retry is stored once, counted once
                        stored[scenario_id] += 1
            for scenario_id, count in stored.items():
                await self.js.publish(
                    subjects.decision_counts_subject(tenant, scenario_id),
                    b"",
                    headers={"Nats-Incr": f"+{count}"},
                )

    async def decisions_kept(self, tenant: str, scenario_id: str, after: int) -> tuple[int, int]:
        async with reachable():
            try:  # the count first: what is stored meanwhile is then held, never dropped
                last = await self.js.get_last_msg(
                    subjects.DECISION_COUNTS_STREAM,
                    subjects.decision_counts_subject(tenant, scenario_id),
                )
                sent = int(json.loads(last.data or b"{}").get("val", 0))
            except nats.js.errors.NotFoundError:
                sent = 0
            held = await history.held_after(self.js, tenant, scenario_id, after)
            return sent, held

    async def decisions(
        self, tenant: str, scenario_id: str | None, after: int, limit: int
    ) -> tuple[list[tuple[int, bytes]], int]:
        async with reachable():
            return await history.read_decisions(self.js, tenant, scenario_id, after, limit)

    async def decision(self, tenant: str, decision_id: str) -> Found | None:
        async with reachable():
            index = await self._decision_index()
            try:
                where = json.loads((await index.get(f"{tenant}.{decision_id}")).value or b"{}")
                stored = await self.js.get_msg(subjects.DECISIONS_STREAM, where["seq"])
            except (nats.js.errors.KeyNotFoundError, nats.js.errors.NotFoundError):
                return None  # never taken in, or gone past the scenario's cap
            following, _ = await history.read_decisions(
                self.js, tenant, where["scenario_id"], where["seq"], CALLS_SCANNED
            )
            assert stored.data is not None
            session = json.loads(stored.data).get("session")
            marks = [f'"decision_id":"{decision_id}"'.encode()]
            if session:
                marks.append(f'"session":"{session}"'.encode())
            about = [data for _, data in following if any(mark in data for mark in marks)]
            feedback = (await self.feedback(tenant, [decision_id])).get(decision_id)
            return Found(stored.data, about, feedback)

    async def feedback(self, tenant: str, decision_ids: Sequence[str]) -> dict[str, bytes]:
        async with reachable():
            index = await self._decision_index()

            async def one(decision_id: str) -> tuple[str, bytes | None]:
                try:
                    return decision_id, (await index.get(f"{tenant}.{decision_id}.feedback")).value
                except nats.js.errors.KeyNotFoundError:
                    return decision_id, None

            found: dict[str, bytes] = {}
            for start in range(0, len(decision_ids), DECISIONS_IN_FLIGHT):
                chunk = decision_ids[start : start + DECISIONS_IN_FLIGHT]
                for decision_id, value in await asyncio.gather(*(one(d) for d in chunk)):
                    if value is not None:
                        found[decision_id] = value
            return found

    async def give_feedback(self, tenant: str, decision_id: str, feedback: bytes) -> bool:
        async with reachable():
            index = await self._decision_index()
            try:
                await index.get(f"{tenant}.{decision_id}")
            except nats.js.errors.KeyNotFoundError:
                return False
            await index.put(f"{tenant}.{decision_id}.feedback", feedback)
            return True

    async def updates(
        self, session_id: str, since: int = 0, limit: int | None = None
    ) -> list[bytes]:
        async with reachable():
            return await history.read_updates(self.js, session_id, since, limit)

    async def sampled_updates(self, session_id: str, points: int) -> list[bytes]:
        async with reachable():
            return await history.sample_updates(self.js, session_id, points)

    async def episodes(
        self,
        session_id: str,
        after: int = 0,
        limit: int | None = None,
        keep: Callable[[bytes], bool] | None = None,
    ) -> tuple[list[bytes], int | None, int]:
        async with reachable():
            return await history.read_episodes(self.js, session_id, after, limit, keep)

    async def forget(self, session_id: str) -> None:
        async with reachable():
            for stream, subject in (
                (subjects.TRAINING_STREAM, subjects.metrics_subject(session_id)),
                (subjects.TRAINING_STREAM, subjects.events_subject(session_id)),
                (subjects.EPISODES_STREAM, subjects.episodes_subject(session_id)),
            ):
                await self.js.purge_stream(stream, subject=subject)

    async def evaluate(
        self,
        model_id: str,
        tenant: str,
        scenario_id: str | None = None,
        version: str | None = None,
    ) -> EvaluateReply:
        request = EvaluateRequest(
            model_id=model_id, tenant=tenant, scenario_id=scenario_id, version=version
        )
        data = await self._call(
            subjects.EVALUATE_SUBJECT, request.encode(), EVALUATE_TIMEOUT_S, "evaluate the model"
        )
        return EvaluateReply.decode(data)

    async def act(self, request: ActRequest) -> ActAnswer:
        data = await self._call(
            subjects.ACT_SUBJECT, request.encode(), ACT_TIMEOUT_S, "act with the model"
        )
        return ActAnswer.model_validate_json(data)

    async def _call(self, subject: str, payload: bytes, wait_s: float, what: str) -> bytes:
        """A trainer service's answer (trainer/services.py), or the refusal in its headers."""
        try:
            reply = await self.client.request(subject, payload, timeout=wait_s)
        except nats.errors.NoRespondersError:
            raise BusUnavailableError(f"no trainer is running to {what}") from None
        except _UNAVAILABLE as exc:
            raise BusUnavailableError(str(exc) or type(exc).__name__) from exc
        headers = reply.headers or {}
        code = headers.get(subjects.SERVICE_ERROR_CODE)
        if code is not None:
            status = int(code) if code.isdigit() else 500
            raise TrainerRefusedError(status, headers.get(subjects.SERVICE_ERROR, "refused"))
        return reply.data

    async def ping(self) -> None:
        async with reachable():
            if not self.client.is_connected:
                raise nats.errors.ConnectionClosedError
            await self.client.flush(timeout=2)

    async def close(self) -> None:
        """Drain, then close (nats_client.close): what was published is flushed first."""
        await nats_client.close(self.client)
