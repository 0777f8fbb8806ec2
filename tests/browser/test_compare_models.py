"""The Compare, Models and Scenarios pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import System

from .conftest import run_to_end, wait_for


def test_compare_two_runs_overlaid(
    system: System, page: Any, two_runs: list[dict[str, Any]]
) -> None:
    page.goto(f"{system.api}/ui/#/compare")
    expect(page.locator(".card").first).to_contain_text("Pick two to four runs")
    for run in two_runs:
        page.locator(f'tr[data-session="{run["session_id"]}"] input[type="checkbox"]').check()
    expect(page.locator(".chart")).to_have_count(5)
    chart = page.locator('.chart[data-title^="Training accuracy"]')
    wait_for(lambda: int(chart.get_attribute("data-points")) > 1, 10, "curves drawn")
    legend = chart.locator(".u-legend").inner_text()
    for run in two_runs:
        assert run["session_id"].removeprefix("session_")[:8] in legend
    ids = ",".join(run["session_id"] for run in two_runs)
    assert page.url.endswith(f"#/compare?ids={ids}")


def test_import_a_model_bundle_and_evaluate_it(
    system: System, page: Any, api: httpx.Client, two_runs: list[dict[str, Any]], tmp_path: Path
) -> None:
    bundle = tmp_path / "model.agm"
    bundle.write_bytes(api.get(f"/api/models/{two_runs[1]['model_id']}/download").content)
    before = {m["id"] for m in api.get("/api/models").json()}

    page.goto(f"{system.api}/ui/#/models")
    form = page.get_by_role("form", name="Import a model")
    form.locator('input[name="bundle"]').set_input_files(str(bundle))
    form.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator(".note")).to_contain_text("Imported")
    imported = wait_for(lambda: [m for m in api.get("/api/models").json()], 5, "the models")
    ids = {m["id"] for m in imported}
    model_id = (ids - before or {two_runs[1]["model_id"]}).pop()  # the same bundle: found again

    row = page.locator(f'tr[data-model="{model_id}"]')
    row.get_by_role("button", name="Evaluate").click()
    report = page.locator(".report")
    expect(report.locator('[data-figure="accuracy"]')).to_contain_text("%")
    expect(report.locator("table.per-tool tbody tr").first).to_be_visible()
    # A saved model's probabilities against how often it was right, on held-out decisions.
    expect(report.locator("figure.reliability figcaption")).to_contain_text("calibration error")
    assert report.locator("figure.reliability circle").count() > 0
    for cell in report.locator("table.per-tool tbody td:nth-child(2)").all_inner_texts():
        assert cell == "-" or 0 <= float(cell) <= 1  # never called: "-", as everywhere

    with page.expect_download() as download:
        row.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename.endswith(".agm")


def test_try_a_request_on_a_model(
    system: System, page: Any, two_runs: list[dict[str, Any]]
) -> None:
    page.goto(f"{system.api}/ui/#/models")
    expect(page.locator("table.models thead")).to_contain_text("held-out accuracy")
    page.locator(f'tr[data-model="{two_runs[0]["model_id"]}"]').get_by_role(
        "button", name="Try"
    ).click()
    form = page.locator("form.try")
    form.locator('textarea[name="text"]').fill("I forgot my password, please send me a reset link")
    form.get_by_role("button", name="Ask").click()
    answer = form.locator(".answer")
    expect(answer).to_contain_text("plan:")
    expect(answer.locator(".prediction-set")).to_contain_text("right with 95.0% probability among:")
    expect(answer).to_contain_text("scope (confidence")
    expect(answer.locator("table.probabilities tbody tr").first).to_contain_text("%")


def test_an_evaluation_of_tasks_without_intents_says_so(
    system: System, page: Any, api: httpx.Client
) -> None:
    chats = Path(__file__).parents[2] / "examples" / "scenarios" / "shop_chats.jsonl"
    pushed = api.post(
        "/api/scenarios",
        params={"id": "chats_without_intents"},
        content=chats.read_bytes(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert pushed.status_code == 201, pushed.text
    run = run_to_end(api, 200, 3, "chats_without_intents")
    page.goto(f"{system.api}/ui/#/models")
    page.locator(f'tr[data-model="{run["model_id"]}"]').get_by_role(
        "button", name="Evaluate"
    ).click()
    intents = page.locator(".report table.per-intent tbody")
    expect(intents).to_contain_text("(no intent given)")  # not a blank row


def test_scenarios_show_tools_and_tasks_and_a_file_is_validated_then_pushed(
    system: System, page: Any, tmp_path: Path
) -> None:
    page.goto(f"{system.api}/ui/#/scenarios")
    page.locator('[data-scenario-id="customer_support"] header button.link').click()
    detail = page.locator('[data-scenario="customer_support"]')
    expect(detail.locator("table.tools")).to_contain_text("search_kb")
    expect(detail.locator("table.tasks tbody tr").first).to_be_visible()
    expect(detail.locator('table.tasks tr[data-split="heldout"]').first).to_contain_text("held out")

    example = Path(__file__).parents[2] / "examples" / "scenarios" / "shop_support.yaml"
    broken = tmp_path / "shop.yaml"
    broken.write_text(example.read_text().replace("issue_refund]", "issue_refnd]"))
    form = page.get_by_role("form", name="Upload a scenario")
    form.locator('input[name="scenario-file"]').set_input_files(str(broken))
    form.get_by_role("button", name="Validate").click()
    expect(form.locator(".validation")).to_have_attribute("data-valid", "false")
    expect(form.locator(".validation")).to_contain_text("did you mean 'issue_refund'")
    expect(form.get_by_role("button", name="Push", exact=True)).to_be_disabled()

    form.locator('input[name="scenario-file"]').set_input_files(str(example))
    form.get_by_role("button", name="Validate").click()
    expect(form.locator(".validation")).to_have_attribute("data-valid", "true")
    form.get_by_role("button", name="Push", exact=True).click()
    expect(page.locator(".note")).to_contain_text("Pushed shop_support")
    expect(page.locator('[data-scenario-id="shop_support"] .badge')).to_have_text("custom")


def test_a_model_is_deleted_after_a_second_thought(
    system: System, page: Any, api: httpx.Client
) -> None:
    run = run_to_end(api, 200, 5)
    page.goto(f"{system.api}/ui/#/models")
    row = page.locator(f'tr[data-model="{run["model_id"]}"]')
    row.get_by_role("button", name="Delete").click()
    row.get_by_role("button", name="Keep").click()  # not yet
    row.get_by_role("button", name="Delete").click()
    row.get_by_role("button", name="Delete it").click()
    expect(row).to_have_count(0)
    assert api.get(f"/api/models/{run['model_id']}").status_code == 404
