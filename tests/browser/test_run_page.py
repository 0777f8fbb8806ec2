"""The Runs and Run pages, as a person uses them: start a run, watch it, steer it."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import System

from .conftest import screenshot, wait_for

# Long enough to pause and resume while it runs (about 500 episodes a second here); the test
# stops it after a few seconds, so it trains a few thousand episodes at most.
EPISODES = 200_000


def points(page: Any, title: str) -> int:
    return int(page.locator(f'.chart[data-title^="{title}"]').get_attribute("data-points"))


def test_start_a_run_watch_its_charts_grow_then_pause_resume_and_stop(
    system: System, page: Any, api: httpx.Client
) -> None:
    frames: list[str] = []  # what the page's WebSockets receive
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(str(f))))
    page.goto(f"{system.api}/ui/")
    form = page.get_by_role("form", name="Start a run")
    form.locator('select[name="scenario"]').select_option("customer_support")
    expect(form.locator('input[name="max_episodes"]')).to_have_value("2000")  # its default
    expect(form).to_contain_text("1 to 1,000,000, default 2,000")  # its range
    form.locator('select[name="framework"]').select_option("AutoGen")
    form.locator('input[name="max_episodes"]').fill(str(EPISODES))
    form.locator('input[name="learning_rate"]').fill("0.002")
    form.locator('input[name="seed"]').fill("11")
    form.get_by_role("button", name="Start").click()

    page.wait_for_url(re.compile(r"#/runs/session_"))
    session_id = page.url.rsplit("/", 1)[1]
    status = api.get(f"/api/training/{session_id}").json()
    assert (status["framework"], status["learning_rate"], status["seed"]) == ("AutoGen", 0.002, 11)
    badge = page.locator(".run-head .badge")
    expect(badge).to_have_attribute("data-status", "running")

    # The charts draw what was recorded, then grow with every update from the WebSocket.
    first = wait_for(lambda: points(page, "Accuracy"), 10, "a first point")
    wait_for(lambda: points(page, "Accuracy") > first + 5, 15, "the chart growing")
    for title in ("Average reward", "Loss", "Episodes per second"):
        assert points(page, title) > 0
    # Away from the cursor, a chart's legend reads the latest values, not "-".
    legend = page.locator('.chart[data-title^="Accuracy"] .u-legend .u-series .u-value')
    expect(legend.first).to_have_text(re.compile(r"^\d+$"))  # the episode
    expect(legend.nth(1)).to_have_text(re.compile(r"^[\d.]+$"))  # training accuracy
    # Measured several times a second, the latest held-out evaluation shows while it runs.
    evaluation = page.locator("section", has=page.get_by_role("heading", name="Latest held-out"))
    expect(evaluation.locator(".report")).to_be_visible(timeout=10_000)
    # Each accuracy with its 95% interval and what it was measured on.
    expect(page.locator('.figures [data-figure="heldout"]').first).to_contain_text(
        re.compile(r"\d+\u2013\d+% over \d+ tasks")
    )
    # The recorded episodes come over the same feed, as they are recorded.
    wait_for(lambda: any('"type":"episode"' in f for f in frames), 15, "an episode frame")

    controls = page.locator(".controls")
    expect(controls.get_by_role("button")).to_have_text(["Pause", "Stop"])  # legal moves only
    controls.get_by_role("button", name="Pause").click()
    expect(badge).to_have_attribute("data-status", "paused")
    expect(controls.get_by_role("button")).to_have_text(["Resume", "Stop", "Delete"])
    paused_at = points(page, "Accuracy")

    controls.get_by_role("button", name="Resume").click()
    expect(badge).to_have_attribute("data-status", "running")
    wait_for(lambda: points(page, "Accuracy") > paused_at + 3, 15, "the chart growing again")

    controls.get_by_role("button", name="Stop").click()
    expect(badge).to_have_attribute("data-status", "stopped")
    expect(controls.get_by_role("button")).to_have_text(["Delete"])  # no move left but delete
    expect(page.locator(".card header .live").first).to_have_text("finished")  # not "live"
    expect(page.locator(".figures").first).to_contain_text("model_")
    final = api.get(f"/api/training/{session_id}").json()
    assert final["status"] == "stopped" and final["model_id"]

    screenshot(page, "run_page_stopped")

    # The Runs page lists it, with the numbers the API has.
    page.get_by_role("link", name="Runs").click()
    row = page.locator(f'tr[data-session="{session_id}"]')
    expect(row.locator(".badge")).to_have_attribute("data-status", "stopped")
    expect(row).to_contain_text("AutoGen")
    expect(row).to_contain_text(f"{final['accuracy']:.1f}%")


def test_an_episode_opens_call_by_call(
    system: System, page: Any, two_runs: list[dict[str, Any]]
) -> None:
    # Needs the recorded episodes (GET /api/training/{id}/episodes, issue 15 item 1).
    run = two_runs[0]
    page.goto(f"{system.api}/ui/#/runs/{run['session_id']}")
    episodes = page.locator(".episode-list tbody tr")
    expect(episodes.first).to_be_visible()
    page.locator('select[name="split"]').select_option("heldout")
    expect(episodes.first.locator("td").nth(2)).to_have_text("heldout")
    for split in episodes.locator("td:nth-child(3)").all_inner_texts():
        assert split == "heldout"
    episodes.first.click()
    view = page.locator(".episode")
    expect(view).to_be_visible()
    calls = view.locator(".calls tbody tr")
    assert calls.count() >= 1
    # Each step: the chosen tool, the expected one beside it, and whether it was right.
    header = view.locator(".calls thead").inner_text()
    assert "chosen" in header and "expected" in header
    outcome = calls.first.locator("td").nth(3).inner_text()
    assert "right" in outcome or "mistake" in outcome
    # The latest held-out evaluation: a confusion matrix with a row per expected tool.
    expect(page.locator("table.confusion tbody tr").first).to_be_visible()
    expect(page.locator("table.confusion")).to_contain_text("finish")


def test_the_runs_page_lists_runs_over_rest_while_its_feed_cannot_connect(
    system: System, page: Any, two_runs: list[dict[str, Any]]
) -> None:
    page.route_web_socket(re.compile(r"/ws/training$"), lambda ws: ws.close())
    page.goto(f"{system.api}/ui/")
    for run in two_runs:
        expect(page.locator(f'tr[data-session="{run["session_id"]}"]')).to_be_visible()
    expect(page.locator(".card header .live")).to_have_text("feed connecting")


def test_a_run_started_for_a_k_fold_estimate_shows_it_once_cross_validated(
    system: System, page: Any, api: httpx.Client
) -> None:
    page.goto(f"{system.api}/ui/")
    form = page.get_by_role("form", name="Start a run")
    form.locator('select[name="scenario"]').select_option("customer_support")
    form.locator('input[name="max_episodes"]').fill("300")
    form.locator('input[name="kfold"]').check()
    form.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r"#/runs/session_"))
    session_id = page.url.rsplit("/", 1)[1]
    assert api.get(f"/api/training/{session_id}").json()["evaluation"] == "kfold"
    figure = page.locator('.figures [data-figure="kfold"]').first
    expect(figure).to_contain_text(re.compile(r"\d+\.\d%.*over 360 tasks"), timeout=60_000)
    expect(page.locator(".run-head .badge")).to_have_attribute("data-status", "completed")
