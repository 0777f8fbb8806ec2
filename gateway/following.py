"""A gateway started on an alias follows it: every `every_s` seconds it asks the API which model
the alias names, and when that changed (a person set it, a loop run promoted a candidate, a
rollback) it loads the new model off the event loop and serves it from the next search on. Each
decision records the model that made it (gateway/server.py). Until the new model is loaded,
and whenever the API cannot be asked, the model loaded before goes on serving.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import anyio

from agentgym.client.errors import ApiConnectionError, ApiError
from agentgym.errors import BundleError
from trainer.serving import Served

if TYPE_CHECKING:
    from agentgym.client import AsyncClient

logger = logging.getLogger(__name__)


class Models(Protocol):
    """Where a gateway's models come from. `resolve` and `download` raise on any failure;
    the follower then keeps what it serves and asks again next time."""

    async def resolve(self, id_or_alias: str) -> str:
        """The id of the model `id_or_alias` names now."""
        ...

    async def download(self, model_id: str) -> bytes: ...

    async def close(self) -> None: ...


class ApiModels:
    """The API's models, through the client (AGENTGYM_API_URL, AGENTGYM_API_KEY)."""

    def __init__(self, api_url: str, api_key: str | None) -> None:
        from agentgym.client import AsyncClient

        self.client: AsyncClient = AsyncClient(api_url, api_key, retries=0)

    async def resolve(self, id_or_alias: str) -> str:
        return (await self.client.models.get(id_or_alias)).id

    async def download(self, model_id: str) -> bytes:
        return await self.client.models.download(model_id)

    async def close(self) -> None:
        await self.client.close()


@dataclass
class Following:
    """Follow `alias` through `models` every `every_s` seconds, handing each new model to
    `serve(served, model_id)`; `current()` says the model id served now."""

    alias: str
    models: Models
    every_s: float  # AGENTGYM_GATEWAY_FOLLOW_S, or --follow

    async def run(self, current: Callable[[], str], serve: Callable[[Served, str], None]) -> None:
        try:
            while True:
                await anyio.sleep(self.every_s)
                await self.check(current, serve)
        finally:
            with anyio.CancelScope(shield=True):
                await self.models.close()

    async def check(self, current: Callable[[], str], serve: Callable[[Served, str], None]) -> bool:
        """Once: load and serve the model the alias names, if it is not the one served. Whether
        the model served changed."""
        try:
            model_id = await self.models.resolve(self.alias)
            if model_id == current():
                return False
            data = await self.models.download(model_id)
            served = await anyio.to_thread.run_sync(Served, data)  # seconds of CPU: off the loop
        except (ApiError, ApiConnectionError, BundleError) as exc:
            logger.warning("alias %s: could not follow it (%s); the model loaded before goes on "
                           "serving", self.alias, exc)  # fmt: skip
            return False
        previous = current()
        serve(served, model_id)
        logger.info("alias %s moved from %s to %s: serving it now", self.alias, previous, model_id)
        return True
