"""The Loop page of a scenario: set the loop up from its form, run it now and watch a real run
(the system's own trainer: snapshot, candidate, gate) end in its verdict, follow the candidate's
session, read reward by model, change the settings, roll the alias back and stop the loop,
each asking to confirm. The data is tests/trainer/test_loop_runs.py's: a poor served model,
decisions of a uniform logging policy with their outcomes."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import Console, run_to_end, screenshot
from tests.e2e.conftest import System
from tests.trainer.test_loop_runs import DECISIONS, logged, scenario

SID = "loop_page"
ALIAS = "loop-live"
SETTLED = 600  # s before now: the system's snapshots take decisions in 300 s after they are made
RUN_MS = 180_000  # a candidate of 600 episodes, trained and tested by the system's trainer


def served_by_a_poor_model(api: httpx.Client) -> str:
    """The scenario, a model of one episode under ALIAS, and its logged decisions: its id."""
    pushed = api.post("/api/scenarios", json=scenario(SID))
    assert pushed.status_code == 201, pushed.text
    serving = str(run_to_end(api, 1, 3, SID)["model_id"])
    assert api.put(f"/api/aliases/{ALIAS}", json={"model_id": serving}).is_success
    items = logged(SID, pushed.json()["version"], serving)
    for item in items:
        item["time"] -= SETTLED
    for start in range(0, len(items), 1000):
        taken = api.post("/api/decisions", json={"items": items[start : start + 1000]})
        assert taken.status_code == 200, taken.text
    return serving


def served_since(api: httpx.Client, model_id: str, n: int) -> None:
    """Decisions the promoted model served since, each rated 1: its own series of rewards."""
    now = time.time()
    items: list[dict[str, Any]] = []
    for i in range(n):
        decision_id = f"dec_{uuid.uuid4().hex}"
        items.append({"kind": "decision", "id": decision_id, "time": now + i, "model_id": model_id,
                      "scenario_id": SID, "scenario_version": "1", "tools_digest": "0" * 64,
                      "text": "refund order 123", "tools": ["tool_a"], "served": ["tool_a"],
                      "probabilities": {"tool_a": 1.0}, "first_probability": 1.0})  # fmt: skip
        items.append({"kind": "feedback", "decision_id": decision_id, "scenario_id": SID,
                      "time": now + i + 0.5, "reward": 1.0})  # fmt: skip
    assert api.post("/api/decisions", json={"items": items}).status_code == 200


def shadowed(api: httpx.Client, shadow: str, n: int, disagreeing: int) -> None:
    """Decisions a gateway logged with the shadow's choice beside the one served: `disagreeing`
    of them put another tool first."""
    now = time.time()
    items = [
        {"kind": "decision", "id": f"dec_{uuid.uuid4().hex}", "time": now + i,
         "model_id": "model_served", "scenario_id": SID, "scenario_version": "1",
         "tools_digest": "0" * 64, "text": "refund order 9", "tools": ["tool_a", "tool_b"],
         "served": ["tool_a", "tool_b"], "probabilities": {"tool_a": 0.6, "tool_b": 0.4},
         "first_probability": 0.6,
         "shadow": {"model_id": shadow,
                    "served": ["tool_b", "tool_a"] if i < disagreeing else ["tool_a", "tool_b"]}}
        for i in range(n)
    ]  # fmt: skip
    assert api.post("/api/decisions", json={"items": items}).status_code == 200


def points(v: float) -> str:
    return f"{100 * v:+.1f}"


def test_a_loop_is_set_run_judged_changed_rolled_back_and_stopped(
    system: System, page: Any, api: httpx.Client, console: Console
) -> None:
    console.allowed.append(lambda e: "status of 404" in e)  # the loop read before it is set
    serving = served_by_a_poor_model(api)
    serving_name = api.get(f"/api/models/{serving}").json()["name"]

    page.goto(f"{system.api}/ui/#/scenarios")
    page.locator(f'[data-scenario-id="{SID}"] a.loop-link').click()
    expect(page).to_have_url(re.compile(f"#/loop/{SID}$"))
    expect(page.get_by_text("No loop yet")).to_be_visible()
    form = page.get_by_role("form", name="Loop settings")
    form.locator('select[name="alias"]').select_option(ALIAS)
    form.locator('input[name="max_episodes"]').fill("600")
    form.get_by_role("button", name="Set up the loop").click()
    expect(page.locator("p.note")).to_have_text("Saved.")
    loop = api.get(f"/api/scenarios/{SID}/loop").json()
    assert (loop["alias"], loop["max_episodes"], loop["every_seconds"]) == (ALIAS, 600, None)

    # Run now: a run queued at once, then the page follows it to its verdict.
    page.get_by_role("button", name="Run now").click()
    row = page.locator("table.loop-runs tbody tr").first
    expect(row).to_have_attribute("data-run", re.compile(r"^run_"))
    run_id = row.get_attribute("data-run")
    asked = api.get(f"/api/scenarios/{SID}/loop").json()
    assert [r["run_id"] for r in asked["runs"]] == [run_id] and asked["runs"][0][
        "trigger"
    ] == "asked"
    expect(row).to_have_attribute("data-outcome", "promoted", timeout=RUN_MS)
    run = api.get(f"/api/scenarios/{SID}/loop").json()["runs"][0]
    assert run["run_id"] == run_id and run["outcome"] == "promoted", run["why"]
    verdict = run["verdict"]
    cells = row.locator("td")
    expect(cells.nth(1)).to_have_text("asked")
    expect(cells.nth(2)).to_have_text("promoted")
    expect(cells.nth(3)).to_have_text(
        f"{DECISIONS:,} / {DECISIONS:,}"
    )  # logs added / new decisions
    expect(cells.nth(5)).to_contain_text(
        f"{points(verdict['difference'])} [{points(verdict['lower'])}, {points(verdict['upper'])}]"
    )
    expect(cells.nth(5)).to_contain_text(f"n {verdict['n']:,}")
    expect(cells.nth(5)).to_contain_text(
        f"its choice served {verdict['candidate_served']:,} of {verdict['disagreed']:,}"
    )
    expect(row.locator("td.why")).to_have_text(run["why"])
    assert run["why"].startswith("promoted: +")
    session = row.get_by_role("link")
    expect(session).to_have_attribute("href", f"#/runs/{run['session_id']}")

    # The alias the run moved, and its history.
    candidate = run["candidate_model_id"]
    candidate_name = api.get(f"/api/models/{candidate}").json()["name"]
    alias = page.locator("section.card").filter(
        has=page.get_by_role("heading", name=f"Alias {ALIAS}")
    )
    expect(alias.locator("strong[data-model]")).to_have_attribute("data-model", candidate)
    history = alias.locator("ol.history li")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text(f"set to {candidate_name} by loop run {run_id}")

    # Reward over time by model: the served model's logged rewards, then the promoted one's.
    served_since(api, candidate, 40)
    page.reload()
    chart = page.locator(".reward-by-model")
    expect(chart.locator(".u-legend")).to_contain_text(serving_name)
    expect(chart.locator(".u-legend")).to_contain_text(candidate_name)
    expect(chart).to_contain_text(f"{DECISIONS + 40} decisions with feedback")
    screenshot(page, "loop_page_after_a_promotion")

    # The form PUTs a change: the whole loop, as the form shows it.
    form.locator('input[name="every_seconds"]').fill("3600")
    form.locator('input[name="max_episodes"]').fill("100")  # the trial's, below: quick
    form.locator('input[name="margin"]').fill("0.05")
    form.locator('select[name="estimator"]').select_option("ips")
    form.locator('input[name="prospective"]').check()
    form.get_by_role("button", name="Save").click()
    expect(page.locator("p.note")).to_have_text("Saved.")
    loop = api.get(f"/api/scenarios/{SID}/loop").json()
    assert (loop["every_seconds"], loop["max_episodes"]) == (3600, 100)
    gate = {"estimator": "ips", "margin": 0.05, "model_only": False, "prospective": True}
    assert loop["gate"] == gate
    assert loop["tests"] == 1  # what it did so far is kept

    # With a shadow: how often it would have served another tool first, and on what.
    kept = {k: loop[k] for k in ("alias", "every_decisions", "every_seconds", "gate", "canary",
                                 "max_episodes")}  # fmt: skip
    assert api.put(f"/api/scenarios/{SID}/loop", json=kept | {"shadow": True}).is_success
    shadowed(api, candidate, 10, disagreeing=3)
    page.reload()
    shadow = page.locator(".shadow-agreement")
    expect(shadow.locator("[data-scored]")).to_have_attribute("data-scored", "10")
    expect(shadow).to_contain_text("another tool first in 3 of 10 decisions (30.0%)")
    pairs = shadow.locator("table.shadow-pairs tbody tr")
    expect(pairs).to_have_count(1)
    expect(pairs.first).to_have_text(re.compile(r"tool_a\s*tool_b\s*3"))

    # Roll the alias back: it asks first, naming the model it goes back to.
    alias.get_by_role("button", name="Roll back").click()
    assert api.get(f"/api/aliases/{ALIAS}").json()["model_id"] == candidate  # not yet
    alias.get_by_role("button", name=f"Roll back to {serving_name}").click()
    expect(alias.locator("strong[data-model]")).to_have_attribute("data-model", serving)
    expect(history).to_have_count(3)
    expect(history.first).to_contain_text(f"rolled back to {serving_name}")
    assert api.get(f"/api/aliases/{ALIAS}").json()["model_id"] == serving

    # The candidate's session on the Run page.
    session.click()
    expect(page).to_have_url(re.compile(f"#/runs/{run['session_id']}$"))
    expect(page.locator('[data-status="completed"]').first).to_be_visible()
    page.go_back()

    # Prospective (as saved above): a run now puts a candidate on trial, and the page says so.
    page.get_by_role("button", name="Run now").click()
    newest = page.locator("table.loop-runs tbody tr").first
    expect(newest).to_have_attribute("data-outcome", "trial", timeout=RUN_MS)
    trial = api.get(f"/api/scenarios/{SID}/loop").json()["trial"]
    trial_name = api.get(f"/api/models/{trial['model_id']}").json()["name"]
    on_trial = page.locator("p[data-trial]")
    expect(on_trial).to_have_attribute("data-trial", trial["model_id"])
    expect(on_trial).to_contain_text(f"on trial: {trial_name} since")

    # Stop the loop: it asks first; then there is none, and the alias stays where it is.
    page.get_by_role("button", name="Stop loop").click()
    assert api.get(f"/api/scenarios/{SID}/loop").status_code == 200  # not yet
    page.get_by_role("button", name="Stop it: no more runs").click()
    expect(page.get_by_text("No loop yet")).to_be_visible()
    assert api.get(f"/api/scenarios/{SID}/loop").status_code == 404
    assert api.get(f"/api/aliases/{ALIAS}").json()["model_id"] == serving
