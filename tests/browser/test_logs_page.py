"""A scenario's logged episodes on the Scenarios page: what the receiver read, the episodes,
one opened call by call."""

from __future__ import annotations

from typing import Any

import httpx
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from playwright.sync_api import expect

from tests.e2e.conftest import System
from tests.functions.test_traces import RESOURCE, episode, otlp_json


def test_a_scenarios_logged_episodes_are_shown_and_one_opens_call_by_call(
    system: System, page: Any, api: httpx.Client
) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = provider.get_tracer("t")
    episode(tracer, "Refund order 6", [("lookup_order", True), ("issue_refund", False)], "r-1")
    episode(tracer, "Where is order 5?", [("lookup_order", True)], "r-2")
    request = encode_spans(spans.get_finished_spans())
    pushed = api.post("/api/scenarios", params={"id": "shop-agent"}, content=otlp_json(request),
                      headers={"Content-Type": "application/x-ndjson"})  # fmt: skip
    assert pushed.status_code == 201, pushed.text
    sent = api.post("/v1/traces", content=request.SerializeToString(),
                    headers={"Content-Type": "application/x-protobuf"})  # fmt: skip
    assert sent.status_code == 200

    page.goto(f"{system.api}/ui/#/scenarios")
    page.locator('[data-scenario-id="shop-agent"] header button.link').click()
    logs = page.locator('[data-scenario="shop-agent"] section.logs')
    expect(logs.locator("h3")).to_contain_text(
        "Logged episodes (2; 0 with an outcome, 0 without text)"
    )
    expect(logs.locator(".trace-counts")).to_contain_text("spans read")
    logs.get_by_role("button", name="Refund order 6").click()
    calls = logs.locator("tr.calls li")
    expect(calls).to_have_count(2)
    expect(calls.nth(1)).to_contain_text("issue_refund failed")
    expect(calls.nth(0)).to_contain_text("served with 50%")


def test_a_models_evaluation_and_its_runs_show_its_value_on_held_out_logs(
    system: System, page: Any, api: httpx.Client
) -> None:
    from tests.functions.test_custom_scenarios import scenario_file, tasks

    from .conftest import run_to_end

    logs = [
        {
            "id": f"log-{n}", "text": task["text"],
            "calls": [{"tool": (task["solution"] or ["escalate"])[0], "probability": 0.5}],
            "reward": 1.0 if task["solution"] else -1.0, "split": "heldout" if n % 2 else "train",
        }
        for n, task in enumerate(tasks(40))
    ]  # fmt: skip
    pushed = api.post("/api/scenarios", json=scenario_file("logged_shop", logs=logs))
    assert pushed.status_code == 201, pushed.text
    run = run_to_end(api, 200, 3, "logged_shop")
    page.goto(f"{system.api}/ui/#/models")
    page.locator(f'tr[data-model="{run["model_id"]}"]').get_by_role(
        "button", name="Evaluate"
    ).click()
    offline = page.locator(".report section.offline")
    expect(offline).to_contain_text("On 20 held-out logs")
    expect(offline.locator(".figures")).to_contain_text("DR")
    page.goto(f"{system.api}/ui/#/runs/{run['session_id']}")  # its last evaluation's too
    expect(page.locator(".report section.offline")).to_contain_text("On 20 held-out logs")
