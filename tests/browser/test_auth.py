"""With authentication on, the dashboard asks for a key once and sends it everywhere."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from agentgym.auth import hash_key, new_key
from agentgym.config import local_artifacts_url, local_store_url
from agentgym.nats_server import NatsServer, free_port

from .conftest import Console, require_chromium, run_to_end, wait_for

KEY = new_key()


@dataclass
class Secured:
    api: str


def _ready(api: str, streamer: str) -> bool:
    headers = {"Authorization": f"Bearer {KEY}"}
    try:
        return (
            httpx.get(f"{api}/readyz").status_code == 200
            and httpx.get(f"{streamer}/healthz").status_code == 200
            and httpx.get(f"{api}/api/scenarios", headers=headers).json() != []  # a trainer
        )
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    """The processes `agentgym up` starts, started the way it starts them, with API keys
    required. (`agentgym up` itself waits for an unauthenticated /api/scenarios to answer,
    so it does not come up with authentication on.)"""
    require_chromium()
    root = tmp_path_factory.mktemp("browser-auth")
    api_port, streamer_port = free_port(), free_port()
    with NatsServer(root / "nats") as nats:
        env = os.environ | {
            "AGENTGYM_AUTH": "apikey",
            "AGENTGYM_API_KEYS": f"browser:{hash_key(KEY)}",
            "AGENTGYM_DATA_DIR": str(root),
            "AGENTGYM_NATS_URL": nats.url,
            "AGENTGYM_STORE_URL": local_store_url(root),
            "AGENTGYM_ARTIFACTS_URL": local_artifacts_url(root),
            "AGENTGYM_STREAMER_URL": f"ws://127.0.0.1:{streamer_port}",
        }
        commands = [
            ["trainer"],
            ["streamer", "--host", "127.0.0.1", "--port", str(streamer_port)],
            ["api", "--host", "127.0.0.1", "--port", str(api_port)],
        ]
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "agentgym.cli", *command],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for command in commands
        ]
        try:
            api = f"http://127.0.0.1:{api_port}"
            wait_for(lambda: _ready(api, f"http://127.0.0.1:{streamer_port}"), 60, "the system")
            yield Secured(api)
        finally:
            for process in reversed(processes):
                process.send_signal(signal.SIGTERM)
            for process in reversed(processes):
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def test_a_key_entered_once_is_sent_on_every_request_and_websocket(
    secured: Secured, page: Any, console: Console
) -> None:
    # The requests made before the key is entered are 401s, which Chromium logs.
    console.allowed.append(lambda e: "status of 401" in e)
    with httpx.Client(base_url=secured.api, headers={"Authorization": f"Bearer {KEY}"}) as api:
        run = run_to_end(api, 200, 3)

    page.goto(f"{secured.api}/ui/#/runs")
    prompt = page.get_by_role("dialog", name="API key")
    expect(prompt).to_be_visible()
    prompt.locator('input[name="api-key"]').fill(KEY)
    prompt.get_by_role("button", name="Use this key").click()
    expect(prompt).to_be_hidden()
    # The list comes over the WebSocket (the key as a subprotocol), the scenarios over HTTP.
    row = page.locator(f'tr[data-session="{run["session_id"]}"]')
    expect(row.locator(".badge")).to_have_attribute("data-status", "completed")
    expect(page.locator('select[name="scenario"] option')).not_to_have_count(0)
    expect(page.locator(".live")).to_have_text("live")

    # Kept for the browser session: the Run page needs no second prompt.
    errors_before = len(console.errors)
    page.goto(f"{secured.api}/ui/#/runs/{run['session_id']}")
    expect(page.locator(".run-head .badge")).to_have_attribute("data-status", "completed")
    expect(page.locator(".chart").first).to_be_visible()
    expect(prompt).to_be_hidden()
    assert len(console.errors) == errors_before  # no 401 once the key is known
