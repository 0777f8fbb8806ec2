"""What a trainer puts on NATS: training updates and status events, into the training stream.

A publish that NATS does not confirm (it restarted, or is busy) is retried until it is stored,
so an outage pauses a session rather than failing it. Each update carries a `Nats-Msg-Id` of
its session and seq, so a publish that did land before its confirmation was lost is dropped as
a duplicate when retried: every seq is stored once.
"""

from __future__ import annotations

import asyncio
import json
import logging

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext

from agentgym import subjects
from agentgym.messages import StatusEvent, TrainingUpdate

logger = logging.getLogger(__name__)

TRANSIENT = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.ConnectionReconnectingError,
    nats.js.errors.ServiceUnavailableError,
)
MAX_BACKOFF_S = 2.0


class Publisher:
    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

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
        delay = 0.1
        while True:
            try:
                await self.js.publish(subject, payload, headers=headers)
                return
            except TRANSIENT as exc:
                logger.warning("%s: not confirmed (%s); retrying", subject, type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)

    async def last_seq(self, session_id: str, recorded: int) -> int:
        """The seq of the session's last published update: the stream's word, since a worker
        that died published past what it last wrote to the store."""
        delay = 0.1
        while True:
            try:
                last = await self.js.get_last_msg(
                    subjects.TRAINING_STREAM, subjects.metrics_subject(session_id)
                )
                return max(recorded, int(json.loads(last.data or b"{}").get("seq", 0)))
            except nats.js.errors.NotFoundError:
                return recorded
            except TRANSIENT as exc:
                logger.warning(
                    "%s: last update not readable (%s); retrying", session_id, type(exc).__name__
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
