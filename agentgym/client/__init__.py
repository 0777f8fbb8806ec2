"""A typed client of the AgentGym API, blocking (`Client`) or asyncio (`AsyncClient`).

    from agentgym.client import Client

    with Client("http://localhost:8000", api_key="agk_...") as client:
        session = client.training.start("customer_support", max_episodes=2000)
        for frame in client.training.watch(session.session_id):
            print(frame.seq, frame.data.status, frame.data.accuracy)

Both have the same resources (`scenarios`, `training`, `models`, `aliases`, `loops`,
`settings`) and methods, answering with the project's own models (`TrainingStatus`,
`ModelInfo`, `ScenarioRecord`, `Alias`, `LoopView`, ...). A refusal raises an `ApiError` subclass; an unreachable
service `ApiConnectionError`.

Retries: a 503 (the store, NATS or the trainers unreachable; the API did nothing) is sent again
with backoff (stamina), `retries` times; nothing else is retried. Starts carry an
Idempotency-Key, so that one never queues two sessions. `watch()` reconnects a dropped feed
from the last seq it saw, so that no update is missed or repeated.
"""

from __future__ import annotations

from agentgym.messages import Snapshot

from ._calls import SettingsWithETag
from ._feed import Frame
from .aio import AsyncClient
from .errors import (
    ApiConnectionError,
    ApiError,
    BadRequest,
    ClientError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PreconditionFailed,
    RateLimited,
    RetryLater,
    SessionEndedError,
    Unauthorized,
    Unavailable,
)
from .sync import Client

__all__ = [
    "ApiConnectionError",
    "ApiError",
    "AsyncClient",
    "BadRequest",
    "Client",
    "ClientError",
    "Conflict",
    "Forbidden",
    "Frame",
    "Invalid",
    "NotFound",
    "PreconditionFailed",
    "RateLimited",
    "RetryLater",
    "SessionEndedError",
    "SettingsWithETag",
    "Snapshot",
    "Unauthorized",
    "Unavailable",
]
