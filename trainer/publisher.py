"""What a trainer puts on NATS: training updates and status events, into the training stream."""

from __future__ import annotations

import json

import nats.js.errors
from nats.js import JetStreamContext

from agentgym import subjects
from agentgym.messages import StatusEvent, TrainingUpdate


class Publisher:
    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def update(self, update: TrainingUpdate) -> None:
        """Store the update in the stream (acknowledged): it is history as well as news."""
        await self.js.publish(subjects.metrics_subject(update.session_id), update.encode())

    async def event(self, event: StatusEvent) -> None:
        await self.js.publish(subjects.events_subject(event.session_id), event.encode())

    async def last_seq(self, session_id: str, recorded: int) -> int:
        """The seq of the session's last published update: the stream's word, since a worker
        that died published past what it last wrote to the store."""
        try:
            last = await self.js.get_last_msg(
                subjects.TRAINING_STREAM, subjects.metrics_subject(session_id)
            )
        except nats.js.errors.NotFoundError:
            return recorded
        return max(recorded, int(json.loads(last.data or b"{}").get("seq", 0)))
