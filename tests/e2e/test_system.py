"""End to end over real processes: the seed README's examples, a browser's WebSocket, pause,
resume, stop, models, settings, and a restart of everything."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from websockets.asyncio.client import ClientConnection, connect

from agentgym import bundle

from .conftest import System

SEED_README = Path(__file__).parents[1] / "seed" / "agentgym-api-readme.md"
EXAMPLE = Path(__file__).parents[2] / "examples" / "scenarios" / "shop_support.yaml"
SEED_START = {"scenario_id": "customer_support", "framework": "LangChain", "max_episodes": 200,
              "learning_rate": 0.001}  # fmt: skip


def seed_example(index: int, system: System) -> str:
    """Run one of the seed README's Python examples as written (only a different port, when
    8000 was taken on this machine); returns what it printed."""
    code = re.findall(r"```python\n(.*?)```", SEED_README.read_text(), flags=re.DOTALL)[index]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code.replace("http://localhost:8000", system.api), {"__name__": "__seed__"})
    return out.getvalue()


def status(system: System, session_id: str) -> dict[str, Any]:
    result: dict[str, Any] = requests.get(
        f"{system.api}/api/training/{session_id}", timeout=10
    ).json()
    return result


def wait_for(system: System, session_id: str, check: Any, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not check(current := status(system, session_id)):
        assert time.monotonic() < deadline, current
        time.sleep(0.1)  # the system's own processes: asking the API is the way to know
    return current


def post(system: System, path: str, **kwargs: Any) -> requests.Response:
    return requests.post(f"{system.api}{path}", timeout=30, **kwargs)


async def frames(ws: ClientConnection, count: int, timeout: float = 30) -> list[dict[str, Any]]:
    got = []
    async with asyncio.timeout(timeout):
        while len(got) < count:
            got.append(json.loads(await ws.recv()))
    return got


def test_the_seed_readme_examples_work_as_written(system: System) -> None:
    printed = seed_example(0, system)
    session_id = printed.removeprefix("Training session started: ").strip()
    done = wait_for(system, session_id, lambda s: s["status"] == "completed")
    # The example draws no seed, so the run's numbers vary; that the defaults learn is
    # tested with fixed seeds in tests/trainer/test_run.py.
    assert done["current_episode"] == 200 and done["model_id"]
    for field in ("accuracy", "avg_reward", "loss", "heldout_accuracy"):
        assert isinstance(done[field], float), field
    # The status example reads a fixed session id: it gets the seed's 404, as a UI would.
    response = requests.get(f"{system.api}/api/training/session_1_1234567890", timeout=10)
    assert response.status_code == 404 and "session_1_1234567890" in response.json()["detail"]


async def test_a_browser_watches_pauses_resumes_and_stops_a_run(system: System) -> None:
    session_id = post(
        system, "/api/training/start", json=SEED_START | {"max_episodes": 200_000}
    ).json()["session_id"]
    await asyncio.to_thread(wait_for, system, session_id, lambda s: s["current_episode"] > 300)
    async with connect(f"{system.ws}/ws/training/{session_id}") as ws:
        first = await frames(ws, 3)
        assert first[0]["type"] == "snapshot" and first[1]["seq"] == 1  # then the history
        assert [f["type"] for f in first[1:]] == ["training_update"] * 2

        assert post(system, f"/api/training/{session_id}/pause").json() == {"status": "paused"}
        paused = await asyncio.to_thread(
            wait_for, system, session_id, lambda s: s["status"] == "paused"
        )
        seen = []
        with contextlib.suppress(TimeoutError):  # drain until quiet
            while True:
                seen += await frames(ws, 1, timeout=1.0)
        assert seen and seen[-1]["data"]["status"] == "paused"
        with contextlib.suppress(TimeoutError):
            assert await frames(ws, 1, timeout=1.0) == []  # nothing while paused

        post(system, f"/api/training/{session_id}/resume")
        resumed = await frames(ws, 3)
        assert resumed[-1]["data"]["current_episode"] >= paused["current_episode"]
        assert [f["seq"] for f in resumed] == list(range(seen[-1]["seq"] + 1, seen[-1]["seq"] + 4))

    assert post(system, f"/api/training/{session_id}/stop").json() == {"status": "stopped"}
    stopped = await asyncio.to_thread(
        wait_for, system, session_id, lambda s: s["status"] == "stopped"
    )
    model = requests.get(f"{system.api}/api/models/{stopped['model_id']}", timeout=10).json()
    assert model["accuracy"] >= 0 and model["episodes"] == stopped["current_episode"]
    data = requests.get(f"{system.api}/api/models/{model['id']}/download", timeout=10).content
    assert bundle.unpack(data)[0].metrics.episodes == model["episodes"]
    assert requests.delete(f"{system.api}/api/models/{model['id']}", timeout=10).json() == {
        "status": "deleted"
    }
    assert requests.get(f"{system.api}/api/models/{model['id']}", timeout=10).status_code == 404


def test_a_run_shows_its_progress_episodes_and_evaluations(system: System) -> None:
    """While it runs: its share done and when it will be; after: its recorded episodes, paged
    and filtered, each call by call, and its latest evaluation's analytics."""
    session_id = post(
        system, "/api/training/start", json=SEED_START | {"max_episodes": 200_000}
    ).json()["session_id"]
    running = wait_for(
        system, session_id, lambda s: s["current_episode"] > 300 and s["estimated_finish"]
    )
    assert 0 < running["progress"] < 1
    finish = datetime.fromisoformat(running["estimated_finish"])
    assert finish > datetime.now(UTC) + timedelta(seconds=10)  # 200,000 episodes take a while
    assert running["heldout_episode"] % 100 == 0  # measured every eval_every episodes
    post(system, f"/api/training/{session_id}/stop")
    stopped = wait_for(system, session_id, lambda s: s["status"] == "stopped")
    assert stopped["estimated_finish"] is None
    assert stopped["progress"] == stopped["current_episode"] / 200_000

    url = f"{system.api}/api/training/{session_id}"
    every: list[dict[str, Any]] = []
    cursor: int | None = 0
    while cursor is not None:  # page by page, to the end
        page = requests.get(f"{url}/episodes", params={"after": cursor, "limit": 500}, timeout=10)
        every += page.json()["episodes"]
        cursor = page.json()["next"]
    assert [e["seq"] for e in every] == list(range(1, len(every) + 1))
    assert [e["episode"] for e in every] == sorted(e["episode"] for e in every)
    heldout = [e for e in every if e["split"] == "heldout"]
    evaluated_at = {e["episode"] for e in heldout}  # every 100 episodes, and at the stop
    assert len(heldout) % 72 == 0 and evaluated_at - {stopped["current_episode"]}
    assert all(n % 100 == 0 for n in evaluated_at - {stopped["current_episode"]})
    train = [e for e in every if e["split"] == "train"]
    assert train and all(e["task_id"].startswith("cs-") for e in train)
    for episode in every:
        calls = episode["calls"]
        assert calls and all(0 < call["probability"] <= 1 for call in calls)
        assert episode["reward"] == pytest.approx(sum(call["reward"] for call in calls))
        solved = calls[-1]["tool"] == "finish" and all(call["right"] for call in calls)
        assert episode["solved"] == solved
        done = [
            c["expected"] for c in calls if c["right"] and c["succeeded"] and c["tool"] != "finish"
        ]
        assert done == episode["solution"][: len(done)]

    first = requests.get(
        f"{url}/episodes", params={"limit": 5, "split": "heldout"}, timeout=10
    ).json()
    assert [e["seq"] for e in first["episodes"]] == [e["seq"] for e in heldout[:5]]
    assert first["next"] == heldout[4]["seq"]
    assert first["last"] == every[-1]["seq"]  # where a live feed of them starts
    second = requests.get(
        f"{url}/episodes", params={"limit": 5, "split": "heldout", "after": first["next"]},
        timeout=10,
    ).json()  # fmt: skip
    assert [e["seq"] for e in second["episodes"]] == [e["seq"] for e in heldout[5:10]]
    unsolved = requests.get(f"{url}/episodes", params={"solved": "false"}, timeout=10).json()
    assert all(not e["solved"] for e in unsolved["episodes"])
    intent = every[0]["intent"]
    alike = requests.get(f"{url}/episodes", params={"intent": intent}, timeout=10).json()
    assert alike["episodes"] and {e["intent"] for e in alike["episodes"]} == {intent}
    one = requests.get(f"{url}/episodes/{every[3]['seq']}", timeout=10)
    assert one.json() == every[3]
    assert requests.get(f"{url}/episodes/{10**9}", timeout=10).status_code == 404
    bad = requests.get(f"{url}/episodes", params={"split": "test"}, timeout=10)
    assert bad.status_code == 422 and "split" in bad.text

    report = requests.get(f"{url}/evaluation", timeout=10).json()
    assert report["episode"] == stopped["current_episode"] and report["tasks"] == 72
    last = [e for e in heldout if e["episode"] == report["episode"]]
    steps = sum(cell["count"] for cell in report["confusion"])
    assert len(last) == 72 and steps == sum(len(e["calls"]) for e in last)
    assert sum(i["tasks"] for i in report["per_intent"].values()) == 72
    assert report["mean_calls"] > 0 and report["recovery"]["failures"] >= 0
    model = post(system, f"/api/models/{stopped['model_id']}/evaluate").json()
    assert model["confusion"] and model["per_intent"] and "recovery" in model


def test_a_trained_model_acts_over_the_api(system: System) -> None:
    """The next tool for a request, as a trainer answers it; a request unlike any it trained
    on says so; bad input is a 4xx naming it."""
    session_id = post(system, "/api/training/start", json=SEED_START | {"max_episodes": 1500})
    done = wait_for(system, session_id.json()["session_id"], lambda s: s["status"] == "completed")
    act = f"/api/models/{done['model_id']}/act"
    text = "I was charged twice for my order, please refund the second charge"
    answer = post(system, act, json={"text": text})
    assert answer.status_code == 200, answer.text
    decision = answer.json()
    assert decision["next"] == decision["plan"][0] and decision["in_scope"]
    assert sum(decision["probabilities"].values()) == pytest.approx(1.0)
    after = post(system, act, json={"text": text, "calls": [{"tool": decision["next"]}]}).json()
    assert after["plan"] == decision["plan"][1:]
    offered = decision["plan"][:1]
    narrowed = post(system, act, json={"text": text, "tools": offered}).json()
    assert set(narrowed["probabilities"]) == {*offered, "finish"}
    weather = post(system, act, json={"text": "What's the weather in Paris tomorrow?"}).json()
    assert weather["in_scope"] is False and weather["unsure"] is True
    # Tools by their definitions (OpenAI's shape, MCP's), one the model never saw among them.
    forecast = {"type": "function", "function": {"name": "check_weather", "parameters": {},
                "description": "The weather forecast for a city, for today and tomorrow"}}  # fmt: skip
    known = {"name": "search_kb", "description": "ignored: the model knows it", "inputSchema": {}}
    defined = post(system, act, json={"text": "Weather in Paris tomorrow?",
                                      "tools": [forecast, known, "refund"]})  # fmt: skip
    assert defined.status_code == 200, defined.text
    assert set(defined.json()["probabilities"]) == {
        "check_weather",
        "search_kb",
        "refund",
        "finish",
    }
    # Each answer is a decision in the log.
    logged = requests.get(f"{system.api}/api/decisions", params={"scenario": "customer_support"},
                          timeout=10).json()["items"]  # fmt: skip
    ids = [item["id"] for item in logged]
    assert decision["decision_id"] in ids and defined.json()["decision_id"] in ids
    assert logged[ids.index(decision["decision_id"])]["served"] == [decision["next"]]

    unknown = post(system, act, json={"text": text, "calls": [{"tool": "teleport"}]})
    assert unknown.status_code == 422 and "teleport" in unknown.json()["detail"]
    too_long = post(system, act, json={"text": "x" * 5000})
    assert too_long.status_code == 422 and "text" in too_long.text
    missing = post(system, "/api/models/model_nope/act", json={"text": text})
    assert missing.status_code == 404 and "model_nope" in missing.json()["detail"]


async def test_the_seed_websocket_example_works_on_the_api_port(system: System) -> None:
    session_id = post(system, "/api/training/start", json=SEED_START).json()["session_id"]
    api_ws = system.api.replace("http://", "ws://")
    async with connect(f"{api_ws}/ws/training/{session_id}") as ws:
        assert (await frames(ws, 1))[0]["type"] == "snapshot"
        update = (await frames(ws, 1))[0]
        assert update["type"] == "training_update" and update["session_id"] == session_id


def test_a_custom_scenario_trains_steers_and_evaluates_like_a_built_in_one(
    system: System, tmp_path: Path
) -> None:
    """Pushed with the CLI as a user would, then everything after the start as for a built-in:
    status, pause, resume, stop, the model, its evaluation, its bundle, acting from it alone."""
    env = {**os.environ, "AGENTGYM_API_URL": system.api}
    pushed = subprocess.run(
        [sys.executable, "-m", "agentgym.cli", "scenarios", "push", str(EXAMPLE)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr
    entry = requests.get(f"{system.api}/api/scenarios/shop_support", timeout=10).json()
    assert entry["source"] == "custom"

    start = {"scenario_id": "shop_support", "framework": "LangChain", "max_episodes": 200_000}
    session_id = post(system, "/api/training/start", json=start).json()["session_id"]
    running = wait_for(system, session_id, lambda s: s["current_episode"] > 200)
    assert running["scenario_version"] == entry["version"]
    assert post(system, f"/api/training/{session_id}/pause").json() == {"status": "paused"}
    paused = wait_for(system, session_id, lambda s: s["status"] == "paused")
    post(system, f"/api/training/{session_id}/resume")
    wait_for(system, session_id, lambda s: s["current_episode"] > paused["current_episode"])
    updates = requests.get(f"{system.api}/api/training/{session_id}/metrics", timeout=10).json()
    assert [u["seq"] for u in updates] == list(range(1, len(updates) + 1))
    assert post(system, f"/api/training/{session_id}/stop").json() == {"status": "stopped"}
    stopped = wait_for(system, session_id, lambda s: s["status"] == "stopped")

    model = requests.get(f"{system.api}/api/models/{stopped['model_id']}", timeout=10).json()
    assert model["scenario"] == "shop_support"
    evaluated = post(system, f"/api/models/{model['id']}/evaluate").json()
    assert evaluated["tasks"] == entry["counts"]["heldout"]
    assert set(evaluated["per_tool"]) == set(entry["tools"])
    path = tmp_path / "shop.agm"
    path.write_bytes(
        requests.get(f"{system.api}/api/models/{model['id']}/download", timeout=10).content
    )
    acted = subprocess.run(
        [sys.executable, "-m", "agentgym.cli", "act", "--model", str(path),
         "Order 4512 came smashed, I want a refund"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert acted.returncode == 0, acted.stderr
    assert acted.stdout.startswith("shop_support: ")
    answer = post(system, f"/api/models/{model['id']}/act", json={"text": "My parcel is late"})
    assert answer.status_code == 200, answer.text
    assert set(answer.json()["probabilities"]) <= {*entry["tools"], "finish"}
    # A session of it is queued or running no more: the scenario may go; the model stays.
    assert (
        requests.delete(f"{system.api}/api/scenarios/shop_support", timeout=10).status_code == 200
    )
    assert requests.get(f"{system.api}/api/models/{model['id']}", timeout=10).status_code == 200


def test_settings_round_trip_with_masked_secrets(system: System) -> None:
    url = f"{system.api}/api/settings"
    shown = requests.put(
        url, json={"openaiKey": "sk-test-abcdefgh12345678", "maxEpisodes": 300}, timeout=10
    ).json()
    assert shown["openaiKey"] == "****5678" and shown["maxEpisodes"] == 300
    assert (
        requests.put(url, json=requests.get(url, timeout=10).json(), timeout=10).status_code == 200
    )
    assert requests.get(url, timeout=10).json()["openaiKey"] == "****5678"


def test_a_restart_keeps_sessions_models_and_settings_and_leaves_no_process(system: System) -> None:
    session_id = post(
        system, "/api/training/start", json=SEED_START | {"max_episodes": 300}
    ).json()["session_id"]
    done = wait_for(system, session_id, lambda s: s["status"] == "completed")
    requests.put(f"{system.api}/api/settings", json={"maxEpisodes": 444}, timeout=10)
    assert system.stop() == 0
    assert system.leftovers() == []
    system.start()
    assert status(system, session_id)["status"] == "completed"
    assert (
        requests.get(f"{system.api}/api/models/{done['model_id']}", timeout=10).status_code == 200
    )
    assert requests.get(f"{system.api}/api/settings", timeout=10).json()["maxEpisodes"] == 444


# --- the README's tour ---------------------------------------------------------------------

README = Path(__file__).parents[2] / "README.md"
CURL = re.compile(
    r"curl -s (?:-o (?P<out>\S+) )?(?:-X (?P<method>\w+) )?(?P<url>localhost:8000\S*)"
)


def tour() -> list[tuple[str, str, str | None, str | None]]:
    """The README's tour, as (method, path, JSON body or None, output file or None) per curl:
    the bash block after "With `make up` running", its continued lines joined."""
    text = README.read_text().split("With `make up` running", 1)[1]
    block = text.split("```bash\n", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    calls = []
    for line in block.splitlines():
        found = CURL.search(line)
        if found is None:
            continue
        body = re.search(r"-d '(\{.*\})'", line)
        method = found["method"] or ("POST" if body else "GET")
        path = found["url"].removeprefix("localhost:8000")
        calls.append((method, path, body[1] if body else None, found["out"]))
    return calls


def test_the_readme_tour_works_as_written(system: System, tmp_path: Path) -> None:
    """Each line of the tour answers 2xx on a fresh system, run as a person runs it: one line
    after another, each once the one before has taken effect (the session's id and its model's
    put where the README writes `session_...` and `model_...`)."""
    calls = tour()
    assert [method for method, *_ in calls].count("POST") == 4  # start, pause, resume, stop
    session_id = model_id = ""
    for method, path, body, out in calls:
        path = path.replace("session_...", session_id).replace("model_...", model_id)
        response = requests.request(
            method, f"{system.api}{path}", timeout=30, data=body,
            headers={"Content-Type": "application/json"} if body else {},
        )  # fmt: skip
        assert response.ok, (method, path, response.status_code, response.text)
        if path == "/api/training/start":
            session_id = response.json()["session_id"]
        if method == "POST" and session_id:  # a person sees the move carried out first
            wait_for(system, session_id, lambda s: s["pending"] is None)
        if path.endswith("/stop"):
            model_id = wait_for(system, session_id, lambda s: s["model_id"])["model_id"]
        if out is not None:
            (tmp_path / out).write_bytes(response.content)
            assert bundle.unpack(response.content)[0].scenario_id == "customer_support"
    assert model_id
