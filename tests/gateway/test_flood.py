"""A flood of decisions: from one tenant's gateways and API clients at once, beside another
tenant's. Every batch is answered (stored, or refused saying why), the gateway keeps answering
searches, nothing is lost, and no tenant sees another's."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentgym.auth import hash_key, new_key
from agentgym.config import ApiSettings
from functions.app import build
from functions.resources import Resources
from gateway.decisions import ApiSink, Recorder
from gateway.server import Gateway
from gateway.upstreams import Target
from trainer.serving import Served

from ..servers import serve_asgi
from .test_gateway import STDIO, client, found

# Each key may read decisions too: the test reads back what it flooded.
KEYS = {tenant: new_key() for tenant in ("acme", "globex")}
ENTRIES = ",".join(f"{tenant}:{hash_key(key)}:decisions" for tenant, key in KEYS.items())
BATCHES, PER_BATCH = 20, 500  # acme's flood through the API: 10,000 decisions at once
SEARCHES, CLIENTS = 40, 8  # ... and through its gateway


@pytest.fixture
async def api(urls: dict[str, str], tmp_path: Path) -> AsyncIterator[str]:
    settings = ApiSettings(data_dir=tmp_path, auth="apikey", api_keys=ENTRIES, **urls)
    with serve_asgi(build(Resources(settings))) as url:
        yield url


def decision(scenario_id: str, text: str) -> dict[str, Any]:
    return {"kind": "decision", "id": f"dec_{uuid.uuid4().hex}", "time": 1.0, "model_id": "m",
            "scenario_id": scenario_id, "scenario_version": "1", "tools_digest": "0" * 64,
            "text": text, "tools": ["refund"], "served": ["refund"],
            "probabilities": {"refund": 0.9}, "first_probability": 1.0}  # fmt: skip


async def read_all(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        page = (await http.get("/api/decisions", params={"after": after, "limit": 1000})).json()
        if not page["items"] and page["next_after"] == after:
            return items
        items += page["items"]
        after = page["next_after"]


async def test_a_flood_is_answered_kept_whole_and_kept_apart(api: str, served: Served) -> None:
    acme, globex = (
        httpx.AsyncClient(base_url=api, headers={"Authorization": f"Bearer {KEYS[t]}"}, timeout=60)
        for t in ("acme", "globex")
    )
    gateway = Gateway(
        served, "model_cs", [Target.parse(STDIO)], Recorder(ApiSink(api, KEYS["acme"]))
    )
    async with acme, globex:
        with serve_asgi(gateway.http_app(None)) as base:
            for _ in range(200):
                if all(httpx.get(f"{base}/healthz").json()["upstreams"].values()):
                    break
                await asyncio.sleep(0.05)

            async def searching() -> int:
                async with client(f"{base}/mcp") as mcp:
                    for i in range(SEARCHES):
                        found(await mcp.call_tool("search_tools", {"query": f"refund order {i}"}))
                return SEARCHES

            async def flooding(batch: int) -> int:
                items = [
                    decision("customer_support", f"acme {batch}.{i}") for i in range(PER_BATCH)
                ]
                sent = await acme.post("/api/decisions", json={"items": items})
                assert sent.status_code == 200, sent.text
                return PER_BATCH

            theirs = [decision("code_review", f"globex {i}") for i in range(50)]
            done = await asyncio.gather(
                *(searching() for _ in range(CLIENTS)),
                *(flooding(b) for b in range(BATCHES)),
                globex.post("/api/decisions", json={"items": theirs}),
            )
            assert done[-1].status_code == 200  # type: ignore[union-attr]
            # The gateway flushes within a second of the searches; then everything is in.
            expected = CLIENTS * SEARCHES + BATCHES * PER_BATCH
            for _ in range(100):
                mine = await read_all(acme)
                if len(mine) >= expected:
                    break
                await asyncio.sleep(0.2)
        assert gateway.recorder.written == CLIENTS * SEARCHES
        assert len(mine) == expected and len({item["id"] for item in mine}) == expected
        assert all(not item["text"].startswith("globex") for item in mine)
        others = await read_all(globex)
        assert sorted(item["id"] for item in others) == sorted(item["id"] for item in theirs)
        # Too large a batch is refused saying so, and what was kept stays as it was.
        refused = await acme.post(
            "/api/decisions", json={"items": [decision("customer_support", "x")] * 1001}
        )
        assert refused.status_code in (413, 422) and "1000" in refused.text.replace(",", "")
        assert len(await read_all(acme)) == expected
