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
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agentgym.config import ApiSettings
from agentgym.nats_server import free_port
from functions.app import build
from functions.resources import Resources
from trainer import scenarios
from trainer.run import Run
from trainer.serving import Served

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
    log, port = tmp_path / "decisions.jsonl", free_port()
    process = subprocess.Popen(
        [*gateway, "--model", "production", "--follow", "0.2", "--port", str(port),
         "--decisions", str(log)], env=env,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        for _ in range(400):
            with contextlib.suppress(httpx.HTTPError):
                if all(httpx.get(url.replace("/mcp", "/healthz")).json()["upstreams"].values()):
                    break
            await asyncio.sleep(0.05)
        async with client(url) as mcp:
            query = {"query": "I was charged twice, refund me"}
            found(await mcp.call_tool("search_tools", query))
            moved = httpx.put(f"{api}/api/aliases/production", json={"model_id": second})
            assert moved.is_success
            for _ in range(100):  # a look every 0.2 s; the log is written every second
                found(await mcp.call_tool("search_tools", query))
                await asyncio.sleep(0.3)
                if log.exists() and decisions(log)[-1]["model_id"] == second:
                    break
    finally:
        process.terminate()
        process.wait(10)
    made = [d["model_id"] for d in decisions(log)]
    assert made[0] == first and made[-1] == second
    assert made == sorted(made, key=[first, second].index)  # never back to the first
    assert all(json.dumps(d).count("production") == 0 for d in decisions(log))  # ids, not names
