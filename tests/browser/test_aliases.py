"""The Models page's aliases: point one at a model, move it, see its history, roll it back."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import Console
from tests.e2e.conftest import System
from trainer import scenarios
from trainer.run import Run
from trainer.training.loop import train


def imported(api: httpx.Client, seed: int, name: str) -> str:
    run = Run(scenarios.get("customer_support"), 0.001, seed=seed, max_episodes=20)
    train(run)  # a few episodes: weights of its own (an untrained one is every seed's)
    made = api.post(
        "/api/models/import",
        params={"name": name},
        content=run.bundle("LangChain")[1],
        headers={"Content-Type": "application/zip"},
    )
    assert made.status_code in (200, 201), made.text
    return str(made.json()["id"])


def test_an_alias_is_pointed_moved_and_rolled_back(
    system: System, page: Any, api: httpx.Client, console: Console
) -> None:
    console.allowed.append(lambda e: "status of 409" in e)  # the delete refused, below
    first, second = imported(api, 1, "support-v1"), imported(api, 2, "support-v2")
    assert first != second
    page.goto(f"{system.api}/ui/#/models")
    form = page.get_by_role("form", name="Point an alias at a model")
    row = page.locator('tr[data-alias="production"]')
    for model, why in ((first, "the first that works"), (second, "better on refunds")):
        form.locator('input[name="alias"]').fill("production")
        form.locator('select[name="model"]').select_option(model)
        form.locator('input[name="why"]').fill(why)
        form.get_by_role("button", name="Point it").click()
        expect(row.locator("td").nth(1)).to_have_text(
            "support-v1" if model == first else "support-v2"
        )
    assert api.get("/api/aliases/production").json()["model_id"] == second
    row.get_by_role("button", name="Roll back").click()
    row.get_by_role("button", name="Roll back to support-v1").click()  # the confirmation
    expect(row.locator("td").nth(1)).to_have_text("support-v1")
    assert api.get("/api/aliases/production").json()["model_id"] == first
    row.get_by_role("button", name="production").click()
    history = page.locator("ol.history li")
    expect(history).to_have_count(3)
    expect(history.nth(0)).to_contain_text("rolled back to support-v1")
    expect(history.nth(1)).to_contain_text("set to support-v2")
    expect(history.nth(1)).to_contain_text("better on refunds")
    # A model an alias names is not deleted: the page says why.
    page.locator(f'tr[data-model="{first}"] button[name="delete"]').click()
    page.locator(f'tr[data-model="{first}"] button[name="confirm-delete"]').click()
    expect(page.locator(".error").first).to_contain_text("production")
    assert api.delete("/api/aliases/production").status_code in (200, 204)  # others' tests
