"""`/healthz` (the process answers) and `/readyz` (the store and NATS answer too)."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from agentgym.errors import AgentGymError, KeyNotFoundError
from agentgym.records import Keys
from functions.errors import RETRY_AFTER_S
from functions.resources import ResourcesDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(resources: ResourcesDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        store = await resources.store()
        with contextlib.suppress(KeyNotFoundError):  # answered: there are no settings yet
            await store.get(Keys().settings)
        checks["store"] = "ok"
    except AgentGymError as exc:
        checks["store"] = str(exc)
    try:
        await (await resources.bus()).ping()
        checks["nats"] = "ok"
    except AgentGymError as exc:
        checks["nats"] = str(exc)
    failing = [name for name, state in checks.items() if state != "ok"]
    if failing:
        return JSONResponse(
            {"detail": f"not ready: {', '.join(failing)} unreachable", "code": "unavailable",
             "checks": checks},
            503,
            headers={"Retry-After": RETRY_AFTER_S},
        )  # fmt: skip
    return JSONResponse({"status": "ready", "checks": checks})
