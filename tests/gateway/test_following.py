"""`agentgym gateway --model ALIAS`, a real process against the real API: it serves the model
the alias names at start, and the one it names after a move, each decision recording the
model that made it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from agentgym import aliases
from agentgym.aliases import Canary
from agentgym.config import ApiSettings
from agentgym.nats_server import free_port
from agentgym.records import Keys
from agentgym.store import open_store
from functions.app import build
from functions.resources import Resources
from trainer import scenarios
from trainer.run import Run
from trainer.serving import Served
from trainer.training.loop import train as train_loop

from ..servers import serve_asgi
from .test_gateway import STDIO, client, decisions, found


@pytest.fixture
def api(urls: dict[str, str], tmp_path: Path) -> Iterator[str]:
    with serve_asgi(build(Resources(ApiSettings(data_dir=tmp_path, **urls)))) as url:
        yield url


def imported(api: str, data: bytes) -> str:
    response = httpx.post(f"{api}/api/models/import", content=data,
                          headers={"Content-Type": "application/zip"})  # fmt: skip
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@contextlib.asynccontextmanager
async def following(env: dict[str, str], log: Path, *more: str) -> AsyncIterator[str]:
    """`agentgym gateway --model production` as a real process, its decisions in `log`: its
    MCP URL once every upstream is up; terminated on the way out."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "agentgym.cli", "gateway", "--upstream", STDIO, "--model",
         "production", "--port", str(port), "--decisions", str(log), *more], env=env,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        for _ in range(400):
            with contextlib.suppress(httpx.HTTPError):
                if all(httpx.get(url.replace("/mcp", "/healthz")).json()["upstreams"].values()):
                    break
            await asyncio.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


async def test_a_gateway_on_an_alias_follows_it_as_it_moves(
    api: str, served: Served, tmp_path: Path
) -> None:
    untrained = Run(scenarios.get("customer_support"), 0.001, seed=5, max_episodes=10)
    first, second = imported(api, served.data), imported(api, untrained.bundle("LangChain")[1])
    assert httpx.put(f"{api}/api/aliases/production", json={"model_id": first}).is_success
    env = os.environ | {"AGENTGYM_API_URL": api}
    gateway = [sys.executable, "-m", "agentgym.cli", "gateway", "--upstream", STDIO]
    unknown = subprocess.run([*gateway, "--model", "staging"], env=env, capture_output=True,
                             text=True)  # fmt: skip
    assert unknown.returncode == 2 and "'staging' not found" in unknown.stderr
    log = tmp_path / "decisions.jsonl"
    async with following(env, log, "--follow", "0.2") as url, client(url) as mcp:
        query = {"query": "I was charged twice, refund me"}
        found(await mcp.call_tool("search_tools", query))
        moved = httpx.put(f"{api}/api/aliases/production", json={"model_id": second})
        assert moved.is_success
        for _ in range(100):  # a look every 0.2 s; the log is written every second
            found(await mcp.call_tool("search_tools", query))
            await asyncio.sleep(0.3)
            if log.exists() and decisions(log)[-1]["model_id"] == second:
                break
    made = [d["model_id"] for d in decisions(log)]
    assert made[0] == first and made[-1] == second
    assert made == sorted(made, key=[first, second].index)  # never back to the first
    assert all(json.dumps(d).count("production") == 0 for d in decisions(log))  # ids, not names


async def test_a_gateway_serves_its_alias_canary_on_a_share_and_logs_its_shadow(
    api: str, served: Served, tmp_path: Path, urls: dict[str, str]
) -> None:
    """What an improvement loop sets beside an alias (trainer/loop_run.py): its canary decides
    about its share of requests, each decision saying which model made it; its shadow ranks
    every request, its choice logged beside the one served."""
    spec = scenarios.get("customer_support")
    other = []
    for episodes in (5, 20):  # two more models, trained a little (untrained, they are alike)
        run = Run(spec, 0.001, seed=5, max_episodes=episodes)
        train_loop(run, [])
        other.append(run.bundle("LangChain")[1])
    first, canary, shadow = imported(api, served.data), *(imported(api, d) for d in other)
    assert httpx.put(f"{api}/api/aliases/production", json={"model_id": first}).is_success
    store = await open_store(urls["store_url"])
    try:
        alias = await aliases.get(store, Keys(), "production")
        share = Canary(model_id=canary, share=0.5, run_id="run_test")
        await aliases.serve_beside(store, Keys(), "production", canary=share, shadow=shadow,
                                   expected=alias.version)  # fmt: skip
    finally:
        await store.close()
    shown = httpx.get(f"{api}/api/aliases/production").json()
    assert shown["canary"] == {"model_id": canary, "share": 0.5, "run_id": "run_test"}
    assert (shown["model_id"], shown["shadow"], len(shown["history"])) == (first, shadow, 1)
    # Neither can be deleted while the alias serves it.
    refused = httpx.delete(f"{api}/api/models/{shadow}")
    assert refused.status_code == 409 and "production" in refused.text
    log = tmp_path / "decisions.jsonl"
    env = {**os.environ, "AGENTGYM_API_URL": api}
    async with following(env, log) as url, client(url) as mcp:
        for _ in range(40):
            found(await mcp.call_tool("search_tools", {"query": "refund my order"}))
    made = decisions(log)
    assert len(made) == 40
    by = {d["model_id"] for d in made}
    assert by == {first, canary}, by  # 40 coins at 1/2: both sides, but for 2 in 10^12
    assert all(d["shadow"]["model_id"] == shadow and d["shadow"]["served"] for d in made)
