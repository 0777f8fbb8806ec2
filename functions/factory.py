"""Building an app: one per Lambda entry point (its own router only) and a combined one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Receive, Scope, Send

from agentgym import __version__
from functions import (
    errors,
    pydantic_v2_only,  # noqa: F401 (before any route is built)
)
from functions.guard import BrowserGuard
from functions.health import router as health_router
from functions.resources import Resources

TITLE = "AgentGym API"
DESCRIPTION = "REST API for AgentGym: scenarios, training sessions, models and settings."
IMPORT_PATH = "/api/models/import"
SCENARIOS_PATH = "/api/scenarios"  # where scenario files are pushed (POST, PUT, validate)
OTLP_PATHS = frozenset({"/v1/traces", "/v1/logs"})  # the OTLP receiver (functions.traces)


class LazyCORS:
    """CORS whose allowed origins come from the settings at the first request, not at import."""

    def __init__(self, app: ASGIApp, resources: Resources) -> None:
        self.app = app
        self.resources = resources
        self._inner: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._inner is None:
            self._inner = CORSMiddleware(
                self.app,
                allow_origins=self.resources.settings.cors_origins,
                allow_credentials=True,
                allow_methods=["*"],
                allow_headers=["*"],
                expose_headers=["ETag", "Retry-After", "Content-Disposition"],
            )
        await self._inner(scope, receive, send)


def create_app(*routers: APIRouter, resources: Resources | None = None, **fastapi: Any) -> FastAPI:
    """An app serving `routers` (plus /healthz and /readyz) over `resources`, opened lazily."""
    resources = resources or Resources()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await resources.close()  # under uvicorn; Mangum runs with lifespan off

    # Swagger UI and ReDoc load their scripts from the app itself (fastapi-offline ships them):
    # FastAPI's own pages load them from a CDN, and are blank without internet.
    app = FastAPIOffline(
        title=TITLE, description=DESCRIPTION, version=__version__, lifespan=lifespan, **fastapi
    )
    app.state.resources = resources
    errors.install(app)

    def body_limit(scope: Scope) -> int:
        settings = resources.settings
        path = scope["path"]
        if path == IMPORT_PATH:
            return settings.max_bundle_bytes
        if path.startswith(SCENARIOS_PATH) and scope["method"] in ("POST", "PUT"):
            return settings.max_scenario_bytes
        if path in OTLP_PATHS:
            return settings.max_otlp_bytes
        return settings.max_body_bytes

    app.add_middleware(errors.BodyLimit, limit_for=body_limit)
    app.add_middleware(LazyCORS, resources=resources)
    app.add_middleware(BrowserGuard, settings=lambda: resources.settings)  # outermost
    # The routers' routes as they are, each whole already (its router gives its prefix, tags,
    # dependencies and documented errors): `include_router` would have FastAPI build every
    # route of a router a second time at the first request, which a Lambda cold start pays.
    # (So `app.dependency_overrides` does not reach them; nothing here overrides.)
    for router in (*routers, health_router):
        app.router.routes.extend(router.routes)
    return app
