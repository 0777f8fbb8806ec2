"""With authentication on: every route checks credentials, and no tenant can see, steer,
stream, download, evaluate or delete another tenant's things (404, never 403)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from agentgym.auth import hash_key, new_key
from agentgym.config import ApiSettings, StreamerSettings, TrainerSettings
from agentgym.nats_server import NatsServer
from functions.app import build
from functions.resources import Resources

from ..inprocess import running_streamer, running_worker
from ..servers import serve_asgi

KEYS = {tenant: new_key() for tenant in ("acme", "globex")}
READER = new_key()  # acme's, with the scope that reads decisions
ENTRIES = ",".join(f"{tenant}:{hash_key(key)}" for tenant, key in KEYS.items())
ENTRIES += f",acme:{hash_key(READER)}:decisions"
START = {"scenario_id": "customer_support", "framework": "LangChain", "learning_rate": 0.001}


@pytest.fixture
def urls(tmp_path: Path) -> Iterator[dict[str, Any]]:
    with NatsServer(tmp_path / "nats") as nats:
        yield {
            "data_dir": tmp_path,
            "nats_url": nats.url,
            "store_url": f"sqlite:///{tmp_path / 'agentgym.db'}",
            "artifacts_url": f"file://{tmp_path / 'artifacts'}",
            "auth": "apikey",
            "api_keys": ENTRIES,
        }


@pytest.fixture
async def system(urls: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """API, one trainer and the streamer, all with API keys required. The trainer and the
    streamer run in the test's event loop: its HTTP clients are async."""
    trainer = TrainerSettings(**urls, checkpoint_every=100, status_interval_s=0.2)
    async with (
        running_worker(trainer),
        running_streamer(StreamerSettings(**urls, max_connections_per_tenant=3)) as (ws, _),
        AsyncExitStack() as clients,
    ):
        settings = ApiSettings(**urls, max_sessions_per_tenant=2)
        with serve_asgi(build(Resources(settings))) as api:
            yield {"api": api, "ws": ws, "clients": clients}


def client(system: dict[str, Any], tenant: str | None, **headers: str) -> httpx.AsyncClient:
    if tenant:
        headers["Authorization"] = f"Bearer {KEYS[tenant]}"
    http = httpx.AsyncClient(base_url=system["api"], headers=headers, timeout=30)
    system["clients"].push_async_callback(http.aclose)
    return http


async def wait_status(api: httpx.AsyncClient, session_id: str, status: str) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            current: dict[str, Any] = (await api.get(f"/api/training/{session_id}")).json()
            if current["status"] == status:
                return current
            await asyncio.sleep(0.05)  # the API announces no status change: ask again


async def test_every_api_route_needs_credentials(system: dict[str, Any]) -> None:
    anonymous, wrong = client(system, None), client(system, None, **{"X-API-Key": "nope"})
    for method, path in (
        ("GET", "/api/scenarios"), ("GET", "/api/training"), ("POST", "/api/training/start"),
        ("GET", "/api/training/x"), ("POST", "/api/training/x/pause"), ("GET", "/api/models"),
        ("DELETE", "/api/models/x"), ("GET", "/api/settings"), ("PUT", "/api/settings"),
        ("POST", "/api/models/import"), ("GET", "/api/training/x/metrics"),
    ):  # fmt: skip
        for http in (anonymous, wrong):
            response = await http.request(
                method, path, json={} if method in ("POST", "PUT") else None
            )
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["detail"] and response.headers["www-authenticate"] == "Bearer"
    assert (await anonymous.get("/healthz")).status_code == 200  # probes need no key
    assert (await client(system, "acme").get("/api/scenarios")).status_code == 200


async def test_a_tenant_never_sees_or_touches_another_tenants_things(
    system: dict[str, Any],
) -> None:
    acme, globex = client(system, "acme"), client(system, "globex")
    started = await acme.post("/api/training/start", json=START | {"max_episodes": 200})
    session_id = started.json()["session_id"]
    done = await wait_status(acme, session_id, "completed")
    model_id = done["model_id"]
    await acme.put("/api/settings", json={"maxEpisodes": 321, "openaiKey": "sk-acme-secret-1234"})

    assert (await globex.get("/api/training")).json() == []
    assert (await globex.get("/api/models")).json() == []
    assert (await globex.get("/api/settings")).json()["maxEpisodes"] == 200  # its own defaults
    for method, path in (
        ("GET", f"/api/training/{session_id}"), ("GET", f"/api/training/{session_id}/metrics"),
        ("POST", f"/api/training/{session_id}/pause"), ("POST", f"/api/training/{session_id}/resume"),
        ("POST", f"/api/training/{session_id}/stop"), ("GET", f"/api/models/{model_id}"),
        ("GET", f"/api/models/{model_id}/download"), ("POST", f"/api/models/{model_id}/evaluate"),
        ("DELETE", f"/api/models/{model_id}"),
    ):  # fmt: skip
        response = await globex.request(method, path)
        assert response.status_code == 404, (method, path, response.text)
    # acme still has everything, untouched
    assert (await acme.get(f"/api/models/{model_id}")).status_code == 200
    assert (await acme.get("/api/settings")).json()["maxEpisodes"] == 321
    evaluated = await acme.post(f"/api/models/{model_id}/evaluate")
    assert evaluated.status_code == 200


async def test_websockets_check_the_token_and_the_tenant(system: dict[str, Any]) -> None:
    acme = client(system, "acme")
    started = await acme.post("/api/training/start", json=START | {"max_episodes": 100})
    session_id = started.json()["session_id"]
    url = f"{system['ws']}/ws/training/{session_id}"
    for kwargs, code in (({}, 4401), ({"subprotocols": ["agentgym", KEYS["globex"]]}, 4404)):
        async with connect(url, **kwargs) as ws:  # type: ignore[arg-type]
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == code
    async with connect(url, subprotocols=["agentgym", KEYS["acme"]]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "agentgym"
        assert '"snapshot"' in str(await ws.recv())
    async with connect(f"{url}?token={KEYS['acme']}") as ws:
        assert '"snapshot"' in str(await ws.recv())


async def test_limits_refuse_with_429_and_4429(system: dict[str, Any]) -> None:
    acme = client(system, "acme")
    for _ in range(2):
        started = await acme.post("/api/training/start", json=START | {"max_episodes": 1_000_000})
        assert started.status_code == 200
    refused = await acme.post("/api/training/start", json=START)
    assert refused.status_code == 429 and refused.headers["retry-after"]
    assert "limit is 2" in refused.json()["detail"]
    other = await client(system, "globex").post("/api/training/start", json=START)
    assert other.status_code == 200
    for session in (await acme.get("/api/training")).json():
        await acme.post(f"/api/training/{session['session_id']}/stop")

    url = f"{system['ws']}/ws/training?token={KEYS['acme']}"
    held = [await connect(url) for _ in range(3)]
    async with connect(url) as extra:
        with pytest.raises(ConnectionClosed) as closed:
            await extra.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429
    for ws in held:
        await ws.close()


# --- tokens that must not pass, over HTTP and WebSocket ------------------------------------------

JWT_SECRET = "s" * 40


@pytest.fixture
async def jwt_system(urls: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """The API and the streamer with JWTs required (the streamer in the test's event loop)."""
    jwt_urls = urls | {"auth": "jwt", "api_keys": "", "jwt_secret": JWT_SECRET}
    async with running_streamer(StreamerSettings(**jwt_urls)) as (ws, _):
        with serve_asgi(build(Resources(ApiSettings(**jwt_urls)))) as api:
            async with httpx.AsyncClient(base_url=api, timeout=30) as http:
                yield {"api": api, "ws": ws, "http": http}


@pytest.mark.parametrize(
    ("claims", "says"),
    [
        ({"tenant": "acme"}, "'exp'"),  # a token that never expires
        ({"tenant": "default", "exp": 4_102_444_800}, "default"),  # the auth-off tenant
    ],
)
async def test_a_token_without_exp_or_for_the_default_tenant_is_refused(
    jwt_system: dict[str, Any], claims: dict[str, Any], says: str
) -> None:
    import jwt

    token = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
    http: httpx.AsyncClient = jwt_system["http"]
    response = await http.get("/api/training", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and says in response.json()["detail"], response.text
    async with connect(f"{jwt_system['ws']}/ws/training", subprotocols=["agentgym", token]) as ws:  # type: ignore[list-item]
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    good = jwt.encode({"tenant": "acme", "exp": 4_102_444_800}, JWT_SECRET, algorithm="HS256")
    assert (
        await http.get("/api/training", headers={"Authorization": f"Bearer {good}"})
    ).json() == []


async def test_a_custom_scenario_is_its_tenants_alone(system: dict[str, Any]) -> None:
    acme, globex = client(system, "acme"), client(system, "globex")
    definition = {
        "id": "acme_desk",
        "tools": [{"name": "lookup", "description": "Find the order"}],
        "tasks": [{"text": f"where is order {i}", "solution": ["lookup"]} for i in range(10)],
    }
    headers = {"Content-Type": "application/json"}
    created = await acme.post("/api/scenarios", json=definition)
    assert created.status_code == 201, created.text
    assert "acme_desk" in {s["id"] for s in (await acme.get("/api/scenarios")).json()}
    assert "acme_desk" not in {s["id"] for s in (await globex.get("/api/scenarios")).json()}
    for method, path in (
        ("GET", "/api/scenarios/acme_desk"), ("GET", "/api/scenarios/acme_desk/download"),
        ("PUT", "/api/scenarios/acme_desk"), ("DELETE", "/api/scenarios/acme_desk"),
    ):  # fmt: skip
        body = definition if method == "PUT" else None
        response = await globex.request(method, path, json=body, headers=headers)
        assert response.status_code == 404, (method, path, response.text)
    started = await globex.post("/api/training/start", json=START | {"scenario_id": "acme_desk"})
    assert started.status_code == 404
    # The same id is free for another tenant, and each keeps its own.
    assert (await globex.post("/api/scenarios", json=definition)).status_code == 201
    assert (await acme.get("/api/scenarios/acme_desk")).json()["source"] == "custom"


async def test_traces_are_their_tenants_alone_whatever_their_trace_ids(
    system: dict[str, Any],
) -> None:
    """The same export (the same trace ids) from two tenants: two tenants' episodes; one
    tenant's snapshot, counts and deletions never reach the other's, and the receiver asks
    for credentials like every route."""
    from tests.functions.test_traces import encoded

    body = encoded([("lookup_order", True)]).SerializeToString()
    kind = {"Content-Type": "application/x-protobuf"}
    anonymous = await client(system, None).post("/v1/traces", content=body, headers=kind)
    assert anonymous.status_code == 401
    acme, globex = client(system, "acme"), client(system, "globex")
    for tenant in (acme, globex):
        assert (await tenant.post("/v1/traces", content=body, headers=kind)).status_code == 200
    await acme.put("/api/settings/privacy", json={"redact_patterns": ["order"]})
    made = (await acme.post("/api/scenarios/shop-agent/snapshot")).json()
    assert made["logs_added"] == 0 and made["waiting"] == 1  # the default idle time: waiting
    gone = await globex.delete("/api/scenarios/shop-agent/logs", params={"user": "anyone"})
    assert gone.status_code == 200 and gone.json()["deleted"] == 0
    assert (await acme.get("/api/scenarios/shop-agent/traces")).json()["spans"] == 3  # its own
    assert (await globex.get("/api/settings/privacy")).json()["redact_patterns"] == []


async def test_reading_decisions_needs_the_decisions_scope(system: dict[str, Any]) -> None:
    acme = client(system, "acme")
    reader = client(system, None, Authorization=f"Bearer {READER}")
    made = {"kind": "decision", "id": f"dec_{'1' * 32}", "time": 1.0, "model_id": "m",
            "scenario_id": "customer_support", "scenario_version": "1",
            "tools_digest": "0" * 64, "text": "refund order 7", "tools": ["refund"],
            "served": ["refund"], "probabilities": {"refund": 0.9},
            "first_probability": 1.0}  # fmt: skip
    assert (await acme.post("/api/decisions", json={"items": [made]})).status_code == 200
    for path in ("/api/decisions", f"/api/decisions/{made['id']}"):
        refused = await acme.get(path)
        assert refused.status_code == 403 and "decisions" in refused.json()["detail"]
        assert (await reader.get(path)).status_code == 200
    page = (await reader.get("/api/decisions")).json()["items"]
    assert [item["id"] for item in page] == [made["id"]]
    feedback = await acme.post(f"/api/decisions/{made['id']}/feedback", json={"reward": 1})
    assert feedback.status_code == 200  # writing needs no scope: a gateway's key writes
    globex = client(system, "globex")
    theirs = await globex.post(f"/api/decisions/{made['id']}/feedback", json={"reward": -1})
    assert theirs.status_code == 404  # another tenant's decision is not there to rate
