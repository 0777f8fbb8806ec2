"""With authentication on, the dashboard asks for a key once and sends it everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from agentgym.auth import hash_key, new_key

from .conftest import Console, require_chromium, run_to_end, start_system

KEY = new_key()


@dataclass
class Secured:
    api: str


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    """`agentgym up` with API keys required."""
    require_chromium()
    env = {"AGENTGYM_AUTH": "apikey", "AGENTGYM_API_KEYS": f"browser:{hash_key(KEY)}"}
    system = start_system(tmp_path_factory.mktemp("browser-auth"), env)
    try:
        yield Secured(system.api)
    finally:
        system.stop()


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
