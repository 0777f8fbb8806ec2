"""The Decisions page: a scenario's decisions summed up, and one opened with its list, its
calls and its feedback."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import System


def test_a_scenarios_decisions_are_summed_up_and_one_opens(
    system: System, page: Any, api: httpx.Client
) -> None:
    now = time.time()

    def decision(text: str, served: list[str], unsure: bool, at: float) -> dict[str, Any]:
        return {"kind": "decision", "id": f"dec_{uuid.uuid4().hex}", "time": at,
                "model_id": "model_x", "scenario_id": "data_analysis", "scenario_version": "1",
                "tools_digest": "0" * 64, "text": text, "tools": [], "served": served,
                "probabilities": {served[0]: 0.8}, "first_probability": 1.0, "unsure": unsure,
                "in_scope": True, "session": "ses_a"}  # fmt: skip

    def call(made: dict[str, Any] | None, tool: str, error: bool, at: float) -> dict[str, Any]:
        return {"kind": "call", "id": f"call_{uuid.uuid4().hex}", "time": at,
                "scenario_id": "data_analysis", "decision_id": made and made["id"], "tool": tool,
                "is_error": error, "latency_ms": 4.2, "session": "ses_a"}  # fmt: skip

    # The agent asked vaguely, searched again, then called without naming the decision: the
    # call joins the second search by its session, and the first was searched again.
    vague = decision("Something about our numbers", ["load_dataset"], True, now)
    chart = decision(
        "Plot monthly revenue by region", ["load_dataset", "plot_chart"], False, now + 1
    )
    items = [vague, chart, call(None, "load_dataset", False, now + 2),
             call(chart, "summarize", True, now + 3)]  # fmt: skip
    assert api.post("/api/decisions", json={"items": items}).status_code == 200
    rated = api.post(
        f"/api/decisions/{chart['id']}/feedback", json={"reward": 1, "comment": "good"}
    )
    assert rated.status_code == 200

    page.goto(f"{system.api}/ui/#/decisions?scenario=data_analysis")
    expect(page.locator('[data-figure="decisions"]')).to_have_text("2")
    expect(page.locator('[data-figure="unsure"]')).to_have_text("50.0%")
    expect(page.locator('[data-figure="miss-rate"]')).to_have_text("50.0%")  # summarize: not served
    expect(page.locator('[data-figure="searched-again"]')).to_have_text("50.0%")
    expect(page.locator("table.first-tools")).to_contain_text("load_dataset")
    page.get_by_role("button", name="Plot monthly revenue by region").click()
    opened = page.locator(f'[data-decision="{chart["id"]}"]')
    expect(opened.locator("ol.served li")).to_have_count(2)
    expect(opened.locator("ul.calls li").nth(1)).to_contain_text("summarize answered an error")
    expect(opened.locator("ul.calls li").nth(1)).to_contain_text("(not served)")
    expect(opened.locator("ul.calls li").nth(0)).to_contain_text(
        "(served #1), joined by its session"
    )
    expect(opened.locator(".feedback")).to_contain_text("Feedback: 1.00")
