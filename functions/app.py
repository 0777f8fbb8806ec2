"""`functions.app:app`: every route in one app, for uvicorn (`agentgym api`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from agentgym import __version__
from functions import (
    aliases,
    dashboard,
    decisions,
    errors,
    loops,
    models,
    scenarios,
    settings,
    snapshots,
    traces,
    training,
    ws_relay,
)
from functions.factory import create_app
from functions.resources import Resources

root = APIRouter(responses=errors.DOCUMENTED)


@root.get("/", tags=["root"])
async def index() -> dict[str, Any]:
    """What the seed's `/` says, plus the routes added since."""
    return {
        "message": "AgentGym API",
        "version": __version__,
        "endpoints": {
            "scenarios": "/api/scenarios",
            "training": "/api/training",
            "models": "/api/models",
            "aliases": "/api/aliases",
            "settings": "/api/settings",
            "traces": "/v1/traces",
            "decisions": "/api/decisions",
            "websocket": "/ws/training/{session_id}",
            "metrics": "/api/training/{session_id}/metrics",
            "docs": "/docs",
            "redoc": "/redoc",
            "health": "/healthz",
            "ready": "/readyz",
        },
    }


# Training first: its status read is the busiest route, and routes are matched in order.
ROUTERS = (
    training.router,
    root,
    scenarios.router,
    traces.router,
    snapshots.router,
    loops.router,
    decisions.router,
    models.router,
    aliases.router,
    settings.router,
    ws_relay.router,
    dashboard.router,
)


def build(resources: Resources | None = None) -> Any:
    """The combined app over `resources` (tests pass their own; the default opens lazily)."""
    return create_app(*ROUTERS, resources=resources)


app = build()
