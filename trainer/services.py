"""The trainer's request-reply services, `act` and `evaluate`, as one nats.micro service.

nats.micro gives what a hand-made subscription did not: the queue group (any trainer answers,
`trainers`), errors in headers (`Nats-Service-Error-Code`: the HTTP status the API answers
with; `Nats-Service-Error`: the sentence saying why), and discovery and statistics on the
standard `$SRV.PING|INFO|STATS.agentgym-trainer` subjects (`nats micro ls` lists trainers).

nats-py runs one subscription's callbacks one after another, so each request is answered in
a task of its own: a slow evaluation never holds up the next request. The endpoints' own
counts are then of requests taken; their errors and timings are logged here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nats.aio.client import Client as Nats
from nats.micro import add_service
from nats.micro.request import Request, ServiceError
from nats.micro.service import Service

from agentgym import nats_client, subjects

logger = logging.getLogger(__name__)

# A request's answer: the reply's bytes, or ServiceError(code, description) to refuse it.
Answer = Callable[[bytes], Awaitable[bytes]]


class Refused(ServiceError):
    """A request the trainer will not answer: `status` is the HTTP status the API gives."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(str(status), description)


class Services:
    """The endpoints one trainer serves, and the requests it is answering."""

    def __init__(self) -> None:
        self.service: Service | None = None
        self.answering: set[asyncio.Task[None]] = set()

    async def start(self, client: Nats, act: Answer, evaluate: Answer) -> None:
        self.service = await add_service(
            client,
            name=subjects.TRAINER_SERVICE,
            version=subjects.TRAINER_SERVICE_VERSION,
            description="AgentGym trainer: a saved model's next tool, and its held-out scores",
            queue_group=subjects.TRAINERS_QUEUE,
        )
        for name, subject, answer in (
            ("act", subjects.ACT_SUBJECT, act),
            ("evaluate", subjects.EVALUATE_SUBJECT, evaluate),
        ):
            await self.service.add_endpoint(
                name=name, subject=subject, handler=self._concurrently(name, answer)
            )

    async def stop(self) -> None:
        """Take no more requests, and let those being answered finish (within the time NATS
        gives a draining connection's callbacks)."""
        if self.service is not None:
            await self.service.stop()
        if self.answering:
            await asyncio.wait(self.answering, timeout=nats_client.DRAIN_TIMEOUT_S)

    def _concurrently(self, name: str, answer: Answer) -> Callable[[Request], Awaitable[None]]:
        async def handle(request: Request) -> None:
            task = asyncio.create_task(_respond(name, request, answer))
            self.answering.add(task)
            task.add_done_callback(self.answering.discard)

        return handle


async def _respond(name: str, request: Request, answer: Answer) -> None:
    """Answer `request` always: a caller must never be left to time out."""
    try:
        data = await answer(request.data)
    except ServiceError as exc:
        logger.info("%s refused (%s): %s", name, exc.code, exc.description)
        reply = request.respond_error(exc.code, exc.description)
    except Exception as exc:
        logger.exception("%s failed", name)
        reply = request.respond_error("500", f"the trainer failed to {name}: {exc}")
    else:
        reply = request.respond(data)
    try:
        await reply
    except nats_client.UNAVAILABLE as exc:  # NATS went away meanwhile: the caller times out
        logger.warning("%s: the answer was not sent (%s)", name, type(exc).__name__)
