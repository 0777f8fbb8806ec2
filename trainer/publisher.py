"""What a trainer puts on NATS: training updates and status events, into the training stream.

A publish that NATS does not confirm (it restarted, or is busy) is retried, backing off with
jitter, for as long as `bound` allows (about a minute by default: a restart pauses a session
rather than failing it). Past that, BusGaveUpError names the subject and the caller stops
waiting instead of hanging: a session's training fails, and a command the worker could not
finish is nakked for redelivery. Each update carries a `Nats-Msg-Id` of its session and seq,
so a publish that did land before its confirmation was lost is dropped as a duplicate when
retried: every seq is stored once.
"""

from __future__ import annotations

import nats.js.errors
from nats.js import JetStreamContext

from agentgym import retries, subjects
from agentgym.messages import StatusEvent, TrainingUpdate, parse_update
from agentgym.nats_client import RETRYABLE


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
        subject = subjects.metrics_subject(session_id)

        async def read() -> int:
            try:
                last = await self.js.get_last_msg(subjects.TRAINING_STREAM, subject)
            except nats.js.errors.NotFoundError:
                return recorded
            return max(recorded, parse_update(last.data)[0]) if last.data else recorded

        return await retries.until_answered(subject, read, RETRYABLE, self.bound)
