"""The clients a function needs, opened on first use and kept for the life of the process.

On Lambda that is once per container: Mangum runs the lifespan on every call
(Kludex/mangum#342), so nothing is opened there. Under uvicorn the lifespan closes them.
Each app holds its own Resources on `app.state`; nothing lives at module level.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Request

from agentgym.artifacts import ArtifactStore, open_artifacts
from agentgym.auth import (
    DECISIONS,
    Authenticator,
    AuthError,
    Principal,
    authenticate,
    authenticator_for,
    bearer,
)
from agentgym.bus import Bus, Connection, Decisions, History, Loops, Trainers
from agentgym.config import ApiSettings, get_api_settings
from agentgym.records import Keys
from agentgym.store import KeyValueStore, open_store
from functions.errors import HttpError


class Resources:
    def __init__(
        self,
        settings: ApiSettings | None = None,
        *,
        store: KeyValueStore | None = None,
        bus: Connection | None = None,
        artifacts: ArtifactStore | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._bus = bus
        self._artifacts = artifacts
        self._authenticator: Authenticator | None = None
        self._lock = asyncio.Lock()

    @property
    def settings(self) -> ApiSettings:
        if self._settings is None:
            self._settings = get_api_settings()
        return self._settings

    @property
    def authenticator(self) -> Authenticator:
        if self._authenticator is None:
            self._authenticator = authenticator_for(self.settings)
        return self._authenticator

    async def store(self) -> KeyValueStore:
        if self._store is None:
            async with self._lock:  # concurrent first requests open one client, not several
                if self._store is None:
                    self._store = await open_store(self.settings.store_url)
        return self._store

    async def bus(self) -> Connection:
        if self._bus is None:
            async with self._lock:
                if self._bus is None:
                    from agentgym.nats_bus import NatsBus  # nats loads on first use only

                    self._bus = await NatsBus.connect(
                        self.settings.nats_url, "agentgym-api", self.settings.nats_replicas
                    )
        return self._bus

    async def artifacts(self) -> ArtifactStore:
        if self._artifacts is None:
            self._artifacts = open_artifacts(self.settings.artifacts_url)
        return self._artifacts

    async def close(self) -> None:
        for resource in (self._store, self._bus, self._artifacts):
            if resource is not None:
                await resource.close()
        self._store = self._bus = self._artifacts = None


# Dependencies are coroutines: FastAPI runs a plain function in a thread pool, whose first use
# costs a Lambda cold start ~12 ms (and every request a thread hop) for no blocking work.
async def _resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


async def store_of(request: Request) -> KeyValueStore:
    return await (await _resources(request)).store()


async def _bus(request: Request) -> Connection:
    return await (await _resources(request)).bus()


async def _artifacts(request: Request) -> ArtifactStore:
    return await (await _resources(request)).artifacts()


async def _settings(request: Request) -> ApiSettings:
    return (await _resources(request)).settings


async def principal_of(request: Request) -> Principal:
    """Who is calling (401 without valid credentials)."""
    credential = bearer(request.headers.get("authorization")) or request.headers.get("x-api-key")
    try:
        return await authenticate((await _resources(request)).authenticator, credential)
    except AuthError as exc:
        raise HttpError(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None


async def keys_of(request: Request) -> Keys:
    """The caller's tenant, as the key layout of its things (401 without valid credentials)."""
    return Keys((await principal_of(request)).tenant)


async def decisions_reader(request: Request) -> Keys:
    """As `keys_of`, for a caller whose key may read decisions (403 otherwise): they hold
    users' own words."""
    principal = await principal_of(request)
    if DECISIONS not in principal.scopes:
        raise HttpError(
            403,
            f"reading decisions needs a key with the {DECISIONS!r} scope (agentgym keys create "
            f"--scope {DECISIONS}; a JWT's scope claim naming it)",
        )
    return Keys(principal.tenant)


StoreDep = Annotated[KeyValueStore, Depends(store_of)]
BusDep = Annotated[Bus, Depends(_bus)]
HistoryDep = Annotated[History, Depends(_bus)]
DecisionsDep = Annotated[Decisions, Depends(_bus)]
TrainersDep = Annotated[Trainers, Depends(_bus)]
LoopsDep = Annotated[Loops, Depends(_bus)]
ArtifactsDep = Annotated[ArtifactStore, Depends(_artifacts)]
SettingsDep = Annotated[ApiSettings, Depends(_settings)]
ResourcesDep = Annotated[Resources, Depends(_resources)]
KeysDep = Annotated[Keys, Depends(keys_of)]
DecisionsReaderDep = Annotated[Keys, Depends(decisions_reader)]
Authenticated = Depends(keys_of)  # for routers whose routes need the check but not the tenant
