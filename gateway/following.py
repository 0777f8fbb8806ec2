"""A gateway started on an alias follows it: at start and every `every_s` seconds it asks the
API which model the alias names, and what it serves beside it (an improvement loop's canary, on
a share of requests, and its shadow, which scores every request without serving:
agentgym/aliases.py). When that changed (a person set it, a loop run promoted a candidate, a
rollback) it loads the models new to it off the event loop and serves them from the next search
on. Each decision records the model that made it (gateway/server.py). Until the new models are
loaded, and whenever the API cannot be asked, what was loaded before goes on serving.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import anyio

from agentgym.aliases import Alias
from agentgym.client.errors import ApiConnectionError, ApiError
from agentgym.errors import BundleError
from trainer.serving import Served

if TYPE_CHECKING:
    from agentgym.client import AsyncClient


@dataclass(frozen=True)
class Serving:
    """What a gateway serves: its model, and where it follows an alias, the alias's canary
    (on `share` of requests) and shadow (scoring every request, served never)."""

    served: Served
    model_id: str
    canary: tuple[Served, str, float] | None = None
    shadow: tuple[Served, str] | None = None

    @property
    def key(self) -> tuple[str, str | None, float, str | None]:
        """What it serves, by model ids (and the canary's share)."""
        canary_id, share = (self.canary[1], self.canary[2]) if self.canary else (None, 0.0)
        return self.model_id, canary_id, share, self.shadow[1] if self.shadow else None

    def pick(self, rng: random.Random) -> tuple[Served, str]:
        """The model that decides this request: the canary on its share, else the model.
        Each decision records it, and the probability of its choice under it: the choice
        of model is a coin independent of the request, so the probability given it is a
        propensity off-policy estimates can use (agentgym/decisions.py)."""
        if self.canary is not None and rng.random() < self.canary[2]:
            return self.canary[0], self.canary[1]
        return self.served, self.model_id

    def loaded(self) -> dict[str, Served]:
        """Each model loaded, by id."""
        found = {self.model_id: self.served}
        if self.canary is not None:
            found[self.canary[1]] = self.canary[0]
        if self.shadow is not None:
            found[self.shadow[1]] = self.shadow[0]
        return found


logger = logging.getLogger(__name__)


class Models(Protocol):
    """Where a gateway's models come from. `alias` and `download` raise on any failure; the
    follower then keeps what it serves and asks again next time."""

    async def alias(self, name: str) -> Alias:
        """The alias now: the model it names, its canary and its shadow."""
        ...

    async def download(self, model_id: str) -> bytes: ...

    async def close(self) -> None: ...


class ApiModels:
    """The API's models, through the client (AGENTGYM_API_URL, AGENTGYM_API_KEY)."""

    def __init__(self, api_url: str, api_key: str | None) -> None:
        from agentgym.client import AsyncClient

        self.client: AsyncClient = AsyncClient(api_url, api_key, retries=0)

    async def alias(self, name: str) -> Alias:
        return await self.client.aliases.get(name)

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

    async def run(self, current: Callable[[], Serving], serve: Callable[[Serving], None]) -> None:
        try:
            while True:
                await self.check(current, serve)
                await anyio.sleep(self.every_s)
        finally:
            with anyio.CancelScope(shield=True):
                await self.models.close()

    async def check(self, current: Callable[[], Serving], serve: Callable[[Serving], None]) -> bool:
        """Once: serve what the alias names, if it is not what is served, each model new to
        the gateway loaded. Whether what is served changed."""
        before = current()
        try:
            alias = await self.models.alias(self.alias)
            wanted = (
                alias.model_id,
                alias.canary.model_id if alias.canary else None,
                alias.canary.share if alias.canary else 0.0,
                alias.shadow,
            )
            if wanted == before.key:
                return False
            loaded = before.loaded()
            for model_id in {m for m in (wanted[0], wanted[1], wanted[3]) if m} - set(loaded):
                data = await self.models.download(model_id)
                # Seconds of CPU: off the loop.
                loaded[model_id] = await anyio.to_thread.run_sync(Served, data)
        except (ApiError, ApiConnectionError, BundleError) as exc:
            logger.warning("alias %s: could not follow it (%s); what was loaded before goes on "
                           "serving", self.alias, exc)  # fmt: skip
            return False
        canary = None if alias.canary is None else (
            loaded[alias.canary.model_id], alias.canary.model_id, alias.canary.share
        )  # fmt: skip
        shadow = None if alias.shadow is None else (loaded[alias.shadow], alias.shadow)
        serve(Serving(loaded[alias.model_id], alias.model_id, canary, shadow))
        logger.info("alias %s: serving %s (canary %s, shadow %s), was %s", self.alias,
                    alias.model_id, wanted[1], alias.shadow, before.model_id)  # fmt: skip
        return True
