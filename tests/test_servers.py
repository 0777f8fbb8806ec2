"""The test helper that runs an ASGI app under uvicorn on a real socket."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from .servers import serve_asgi


def test_serve_asgi_runs_the_app_on_a_free_port_and_stops() -> None:
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    with serve_asgi(app) as base_url:
        assert httpx.get(f"{base_url}/ping").json() == {"pong": "yes"}
    try:
        httpx.get(f"{base_url}/ping", timeout=1)
    except httpx.ConnectError:
        pass
    else:
        raise AssertionError("the server still answers after the block")
