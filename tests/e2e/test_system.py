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
from pathlib import Path
from typing import Any

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
