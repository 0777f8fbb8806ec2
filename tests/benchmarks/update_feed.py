"""Training updates as trainers publish them, for streamer_fanout: the frames, their pacing,
and a publisher process that stands in for the trainers.

Updates are core NATS publishes to the trainers' subjects: the stream stores them and the
streamer receives them exactly as it does a trainer's JetStream publishes; only the trainer's
own wait for its ack is left out. The publisher runs in its own process, as trainers do: the
streamer's process then pays for taking updates from NATS and fanning them out, not for
publishing them. The parent drives it
with `Publisher.call(command)` over a pipe:
- ("paced", sessions, rate, seconds): `rate` updates/s per session; answers how many were
  published more than 5 ms late;
- ("saturate", sessions, in_flight): as fast as the streamer takes them: at most `in_flight`
  ahead of the count the parent keeps in the shared `taken` value, until the parent sets
  `stop`; answers the number published;
- ("close",): disconnect and exit.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from typing import Any

from tests.benchmarks.ws_clients import Child, Pipe

SEQ_SENTINEL = b"987654321"
TS_SENTINEL = b"@TS@"


def record(session_id: str) -> Any:
    from agentgym.records import SessionRecord

    return SessionRecord.model_validate(
        {"session_id": session_id, "scenario_id": "customer_support", "framework": "LangChain",
         "status": "running", "max_episodes": 100000, "current_episode": 1234, "accuracy": 61.5,
         "avg_reward": 0.58, "loss": 0.41, "learning_rate": 0.001, "seed": 1}
    )  # fmt: skip


class Updates:
    """Encoded `TrainingUpdate`s per session, built from a template: a fresh seq and the
    publish time (ns, in `data.error`) cost two joins, not a pydantic encode."""

    def __init__(self, sessions: list[str]) -> None:
        from agentgym.messages import TrainingUpdate

        self.parts: dict[str, tuple[bytes, bytes, bytes]] = {}
        self.seq = dict.fromkeys(sessions, 0)
        for session_id in sessions:
            data = record(session_id).status_view()
            data.error = TS_SENTINEL.decode()
            raw = TrainingUpdate(session_id=session_id, seq=int(SEQ_SENTINEL), data=data).encode()
            head, rest = raw.split(SEQ_SENTINEL, 1)
            middle, tail = rest.split(TS_SENTINEL, 1)
            self.parts[session_id] = (head, middle, tail)

    def next(self, session_id: str) -> bytes:
        seq = self.seq[session_id] = self.seq[session_id] + 1
        head, middle, tail = self.parts[session_id]
        return b"".join((head, str(seq).encode(), middle, str(time.time_ns()).encode(), tail))


async def paced(
    send: Callable[[str], Awaitable[None]], sessions: list[str], rate: float, seconds: float
) -> int:
    """`rate` updates/s per session, spread evenly over time and round robin over sessions;
    returns how many went out more than 5 ms late."""
    interval = 1.0 / (rate * len(sessions))
    count = int(seconds * rate * len(sessions))
    started = time.perf_counter()
    late = 0
    for index in range(count):
        delay = started + index * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)  # kept: the pacing is the load
        elif delay < -0.005:
            late += 1
        await send(sessions[index % len(sessions)])
    return late


# --- the publisher process ----------------------------------------------------------------------


async def _serve(
    conn: Connection, nats_url: str, sessions: list[str], taken: Any, stop: Any
) -> None:
    from agentgym import nats_client, subjects

    nats = await nats_client.connect(nats_url, "bench-trainers")
    updates = Updates(sessions)
    subject = {s: subjects.metrics_subject(s) for s in sessions}
    pipe = Pipe(conn)

    async def publish(session_id: str) -> None:
        await nats.publish(subject[session_id], updates.next(session_id))

    try:
        pipe.send(("ready",))
        while True:
            command = await pipe.get()
            if command[0] == "paced":
                _, chosen, rate, seconds = command
                late = await paced(publish, chosen, rate, seconds)
                await nats.flush()
                pipe.send((late,))
            elif command[0] == "saturate":
                _, chosen, in_flight = command
                sent = 0
                while not stop.value:
                    if sent - taken.value >= in_flight:
                        await asyncio.sleep(0.0005)  # kept: `taken` is a shared counter
                        continue
                    session_id = chosen[sent % len(chosen)]
                    await publish(session_id)
                    sent += 1
                    if sent % 32 == 0:
                        await asyncio.sleep(0)  # let the flusher write
                await nats.flush()
                pipe.send((sent,))
            else:  # close, or the parent went away
                return
    finally:
        pipe.close()
        await nats.close()


def _publisher_process(
    conn: Connection, nats_url: str, sessions: list[str], taken: Any, stop: Any
) -> None:
    asyncio.run(_serve(conn, nats_url, sessions, taken, stop))


class Publisher(Child):
    """The publisher process, seen from the parent; `taken` and `stop` are shared with it."""

    def __init__(self, nats_url: str, sessions: list[str]) -> None:
        context = multiprocessing.get_context("spawn")
        self.taken = context.Value("q", 0, lock=False)  # updates the streamer took from NATS
        self.stop = context.Value("b", 0, lock=False)
        args = (nats_url, sessions, self.taken, self.stop)
        super().__init__(_publisher_process, args, "bench-trainers")

    async def ready(self, timeout: float = 60) -> None:
        await self.started(timeout)
