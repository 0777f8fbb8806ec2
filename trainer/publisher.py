"""What a trainer puts on NATS: training updates and status events into the training stream,
recorded episodes into the episodes stream.

A publish that NATS does not confirm (it restarted, or is busy) is retried, backing off with
jitter, for as long as `bound` allows (about a minute by default: a restart pauses a session
rather than failing it). Past that, BusGaveUpError names the subject and the caller stops
waiting instead of hanging: a session's training fails, and a command the worker could not
finish is nakked for redelivery. Each update carries a `Nats-Msg-Id` of its session and seq,
so a publish that did land before its confirmation was lost is dropped as a duplicate when
retried: every seq is stored once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import nats.js.errors
from nats.js import JetStreamContext

from agentgym import retries, subjects
from agentgym.messages import StatusEvent, TrainingUpdate, parse_update
from agentgym.nats_client import RETRYABLE

BATCH = 256  # episodes in flight at once, at most
CONFIRM_S = 5.0  # a batch not confirmed by then is sent again (a JetStream publish's timeout)
UNCONFIRMED: tuple[type[Exception], ...] = (*RETRYABLE, TimeoutError)


def _episode(session_id: str, seq: int, data: bytes) -> tuple[str, bytes, dict[str, str]]:
    """The subject, payload and headers of a recorded episode's message (the Msg-Id drops a
    publish repeated after one that landed unconfirmed)."""
    payload = b'{"type":"episode","session_id":%s,"seq":%d,"data":%s}' % (
        json.dumps(session_id).encode(),
        seq,
        data,
    )
    return (
        subjects.episodes_subject(session_id),
        payload,
        {"Nats-Msg-Id": f"{session_id}:episode:{seq}"},
    )


class Publisher:
    def __init__(self, js: JetStreamContext, bound: retries.Bound | None = None) -> None:
        """`bound`: how long a publish or a read keeps trying (None: retries.NATS_OUTAGE)."""
        self.js = js
        self.bound = bound

    async def update(self, update: TrainingUpdate) -> None:
        """Store the update in the stream: it is history as well as news."""
        await self._until_stored(
            subjects.metrics_subject(update.session_id),
            update.encode(),
            {"Nats-Msg-Id": f"{update.session_id}:{update.seq}"},
        )

    async def episode(self, session_id: str, seq: int, data: bytes) -> None:
        """Store a recorded episode (`data`: trainer.recorded's JSON) as the session's `seq`th."""
        await self._until_stored(*_episode(session_id, seq, data))

    async def episodes(self, session_id: str, first: int, items: Sequence[bytes]) -> None:
        """Store recorded episodes as the session's `first`th onwards, in order.

        Sent together and confirmed together (a held-out evaluation's dozens would otherwise
        wait one round trip each, and a pause waits for them). JetStream stores what one
        connection sends in the order sent, so when any is not confirmed (NATS restarted, say)
        the stream's last says how far the batch got: those after it are sent again one at a
        time, retried as any publish, and the order holds."""
        for start in range(0, len(items), BATCH):
            batch = items[start : start + BATCH]
            if not await self._all_stored(session_id, first + start, batch):
                stored, _ = await self.last_episode(session_id)
                for seq, data in enumerate(batch, first + start):
                    if seq > stored:
                        await self.episode(session_id, seq, data)

    async def _all_stored(self, session_id: str, first: int, batch: Sequence[bytes]) -> bool:
        """Publish `batch` without waiting in between; whether JetStream confirmed every one."""
        acks: list[asyncio.Future[Any]] = []
        try:
            for seq, data in enumerate(batch, first):
                subject, payload, headers = _episode(session_id, seq, data)
                acks.append(await self.js.publish_async(subject, payload, headers=headers))
            await asyncio.wait_for(asyncio.gather(*acks), CONFIRM_S)
        except UNCONFIRMED:
            return False
        finally:
            for ack in acks:  # unconfirmed ones leave the client's table of those pending
                ack.cancel()
        return True

    async def event(self, event: StatusEvent) -> None:
        await self._until_stored(subjects.events_subject(event.session_id), event.encode(), None)

    async def _until_stored(
        self, subject: str, payload: bytes, headers: dict[str, str] | None
    ) -> None:
        async def publish() -> None:
            await self.js.publish(subject, payload, headers=headers)

        await retries.until_answered(subject, publish, RETRYABLE, self.bound)

    async def last_seq(self, session_id: str, recorded: int) -> int:
        """The seq of the session's last published update: the stream's word, since a worker
        that died published past what it last wrote to the store."""
        data = await self._last(subjects.TRAINING_STREAM, subjects.metrics_subject(session_id))
        return max(recorded, parse_update(data)[0]) if data else recorded

    async def last_episode(self, session_id: str) -> tuple[int, int]:
        """(seq, episode number) of the session's last recorded episode ((0, 0): none)."""
        data = await self._last(subjects.EPISODES_STREAM, subjects.episodes_subject(session_id))
        if data is None:
            return 0, 0
        message = json.loads(data)
        return int(message["seq"]), int(message["data"]["episode"])

    async def _last(self, stream: str, subject: str) -> bytes | None:
        async def read() -> bytes | None:
            try:
                last = await self.js.get_last_msg(stream, subject)
            except nats.js.errors.NotFoundError:
                return None
            return last.data or None

        return await retries.until_answered(subject, read, RETRYABLE, self.bound)
