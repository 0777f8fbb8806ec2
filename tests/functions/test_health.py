"""`/`, `/healthz`, `/readyz` and the docs."""

from __future__ import annotations

import re

import httpx

from agentgym.config import ApiSettings
from agentgym.nats_server import free_port
from functions.app import build
from functions.resources import Resources

from ..servers import serve_asgi


def test_root_lists_the_endpoints_like_the_seed(api: httpx.Client) -> None:
    body = api.get("/").json()
    assert body["message"] == "AgentGym API"
    assert body["endpoints"]["training"] == "/api/training"
    assert body["endpoints"]["websocket"] == "/ws/training/{session_id}"


def test_docs_and_redoc_are_served(api: httpx.Client) -> None:
    assert "swagger" in api.get("/docs").text.lower()
    assert "redoc" in api.get("/redoc").text.lower()
    paths = api.get("/openapi.json").json()["paths"]
    assert "/api/training/start" in paths and "/api/models/{model_id}/download" in paths


def test_docs_and_redoc_load_nothing_from_elsewhere(api: httpx.Client) -> None:
    """Every script, style sheet and icon the pages name is served by the API itself."""
    for page, script in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        html = api.get(page).text
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
        assert any(a.endswith(script) for a in assets), assets
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
            response = api.get(asset)
            assert response.status_code == 200 and len(response.content) > 0, asset


def test_ready_when_store_and_nats_answer(api: httpx.Client) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"store": "ok", "nats": "ok"}


def test_not_ready_is_503_naming_what_is_unreachable(settings: ApiSettings) -> None:
    unreachable = settings.model_copy(update={"nats_url": f"nats://127.0.0.1:{free_port()}"})
    with serve_asgi(build(Resources(unreachable))) as url:
        assert httpx.get(f"{url}/healthz").status_code == 200
        response = httpx.get(f"{url}/readyz", timeout=15)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["checks"]["store"] == "ok"
    assert "nats" in response.json()["detail"]


def test_a_start_while_nats_is_unreachable_is_503_and_leaves_no_session(
    settings: ApiSettings,
) -> None:
    unreachable = settings.model_copy(update={"nats_url": f"nats://127.0.0.1:{free_port()}"})
    with serve_asgi(build(Resources(unreachable))) as url:
        response = httpx.post(
            f"{url}/api/training/start", json={"scenario_id": "customer_support"}, timeout=15
        )
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert httpx.get(f"{url}/api/training").json() == []


def test_agentgym_api_serves_the_combined_app(settings: ApiSettings, tmp_path: object) -> None:
    import os
    import subprocess
    import sys
    import time

    port = free_port()
    env = os.environ | {
        "AGENTGYM_STORE_URL": settings.store_url,
        "AGENTGYM_NATS_URL": settings.nats_url,
        "AGENTGYM_ARTIFACTS_URL": settings.artifacts_url,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentgym.cli",
            "api",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "agentgym api did not start"
                time.sleep(0.1)  # another process: asking it is the only way to know
        assert ready.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/api/scenarios").status_code == 200
    finally:
        process.terminate()
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert process.wait(timeout=10) in (0, -15)
