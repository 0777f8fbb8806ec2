"""Hostile values against a real API (uvicorn on a socket, SQLite, nats-server): refused with
a message naming the field, and never able to break a route for good."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from agentgym.config import ApiSettings
from agentgym.records import Keys
from agentgym.state import SessionStatus
from agentgym.store import KeyValueStore
from functions.app import build
from functions.resources import Resources

from ..servers import serve_asgi
from .test_models import make_bundle, post_bundle, saved_model, variant
from .test_training import SEED_START, set_status, start

JSON = {"Content-Type": "application/json"}
NON_FINITE = ("Infinity", "-Infinity", "NaN", "1e999")  # 1e999 parses as infinity


@pytest.mark.parametrize("number", NON_FINITE)
def test_a_non_finite_setting_is_422_naming_it_and_changes_nothing(
    api: httpx.Client, number: str
) -> None:
    response = api.put("/api/settings", content=f'{{"learningRate": {number}}}', headers=JSON)
    assert response.status_code == 422, response.text
    assert "learningRate" in response.json()["detail"]
    assert api.get("/api/settings").json()["learningRate"] == 0.001
    assert api.put("/api/settings", json={"learningRate": 0.01}).status_code == 200


@pytest.mark.parametrize("number", NON_FINITE)
def test_a_non_finite_learning_rate_at_start_is_422(api: httpx.Client, number: str) -> None:
    body = json.dumps(SEED_START).replace("0.001", number)
    response = api.post("/api/training/start", content=body, headers=JSON)
    assert response.status_code == 422, response.text
    assert "learning_rate" in response.json()["detail"]
    assert api.get("/api/training").json() == []


async def test_settings_stored_damaged_can_be_read_and_repaired(
    api: httpx.Client, store: KeyValueStore
) -> None:
    """What an Infinity stored before it was refused left behind: a null where a number goes."""
    await store.put(Keys().settings, b'{"learningRate": null, "maxEpisodes": 250}')
    shown = api.get("/api/settings")
    assert shown.status_code == 200 and shown.json()["learningRate"] == 0.001
    assert shown.json()["maxEpisodes"] == 250  # what was sound is kept
    assert api.put("/api/settings", json={"learningRate": 0.02}).status_code == 200
    assert api.get("/api/settings").json()["learningRate"] == 0.02
    start(api)


@pytest.mark.parametrize("number", ["NaN", "Infinity"])
def test_a_bundle_with_non_finite_metrics_is_400_naming_them(
    api: httpx.Client, artifacts_dir: Path, number: str
) -> None:
    data = _with_manifest(
        make_bundle(), lambda m: m.replace('"accuracy": 91.5', f'"accuracy": {number}')
    )
    response = post_bundle(api, data)
    assert response.status_code == 400, response.text
    assert "metrics.accuracy" in response.json()["detail"]
    assert api.get("/api/models").json() == [] and not list(artifacts_dir.rglob("*.agm"))


async def test_a_model_stored_damaged_is_listed_read_and_deleted(
    api: httpx.Client, store: KeyValueStore, artifacts: object
) -> None:
    await saved_model(store, artifacts, "model_nan")  # type: ignore[arg-type]
    raw = json.loads((await store.get(Keys().model("model_nan"))).value)
    await store.put(Keys().model("model_nan"), json.dumps(raw | {"accuracy": None}).encode())
    assert [m["id"] for m in api.get("/api/models").json()] == ["model_nan"]
    assert api.get("/api/models/model_nan").json()["accuracy"] == 0.0
    assert api.delete("/api/models/model_nan").status_code == 200
    assert api.get("/api/models/model_nan").status_code == 404


async def test_an_unreadable_model_is_left_out_of_the_list_and_can_be_deleted(
    api: httpx.Client, store: KeyValueStore, artifacts: object
) -> None:
    await saved_model(store, artifacts, "model_ok")  # type: ignore[arg-type]
    await store.put(Keys().model("model_bad"), b'{"id": "model_bad", "name": 3}')
    assert [m["id"] for m in api.get("/api/models").json()] == ["model_ok"]
    shown = api.get("/api/models/model_bad")
    assert shown.status_code == 409 and "delete it" in shown.json()["detail"]
    assert api.delete("/api/models/model_bad").status_code == 200
    assert api.get("/api/models/model_bad").status_code == 404


@pytest.mark.parametrize("length", [300_000, 1000])
def test_an_oversized_created_at_is_400_and_leaves_no_bundle_behind(
    api: httpx.Client, artifacts_dir: Path, length: int
) -> None:
    """Once it made a record too large for the store, after the bundle had been written."""
    long = "2026-01-01T00:00:00" + "9" * length
    data = _with_manifest(
        make_bundle(), lambda m: re.sub(r'"created_at": "[^"]*"', f'"created_at": "{long}"', m)
    )
    response = post_bundle(api, data)
    assert response.status_code == 400 and "created_at" in response.json()["detail"]
    assert api.get("/api/models").json() == [] and not list(artifacts_dir.rglob("*.agm"))


def _with_manifest(data: bytes, change: object) -> bytes:
    import io
    import zipfile

    from agentgym import bundle

    assert callable(change)
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(bundle.MANIFEST, change(source.read(bundle.MANIFEST).decode()))
        archive.writestr(bundle.WEIGHTS, source.read(bundle.WEIGHTS))
    return out.getvalue()


@pytest.fixture
def artifacts_dir(settings: ApiSettings) -> Path:
    return Path(settings.artifacts_url.removeprefix("file://"))


# --- what a tenant may keep ----------------------------------------------------------------


def limited_api(settings: ApiSettings, **limits: int) -> AbstractContextManager[str]:
    """An API over the same store with small limits; yields its URL."""
    return serve_asgi(build(Resources(settings.model_copy(update=limits))))


@pytest.fixture
def limited(settings: ApiSettings, store: KeyValueStore) -> Iterator[httpx.Client]:
    with (
        limited_api(
            settings,
            max_sessions_per_tenant=2,
            max_stored_sessions_per_tenant=4,
            max_models_per_tenant=2,
        ) as url,
        httpx.Client(base_url=url) as client,
    ):
        yield client


def test_resume_counts_against_the_active_session_limit(limited: httpx.Client) -> None:
    first = [start(limited) for _ in range(2)]
    for session_id in first:
        assert limited.post(f"/api/training/{session_id}/pause").status_code == 200
    for _ in range(2):
        start(limited)  # the paused ones freed their places
    refused = limited.post(f"/api/training/{first[0]}/resume")
    assert refused.status_code == 429, refused.text
    assert "AGENTGYM_MAX_SESSIONS_PER_TENANT" in refused.json()["detail"]
    assert limited.get(f"/api/training/{first[0]}").json()["status"] == "paused"
    statuses = [s["status"] for s in limited.get("/api/training").json()]
    assert statuses.count("queued") == 2 and statuses.count("paused") == 2


async def test_stored_sessions_are_bounded_per_tenant(
    limited: httpx.Client, store: KeyValueStore
) -> None:
    for _ in range(4):
        await set_status(store, start(limited), SessionStatus.COMPLETED)
    refused = limited.post("/api/training/start", json=SEED_START)
    assert refused.status_code == 409 and refused.json()["code"] == "quota_exceeded"
    assert "AGENTGYM_MAX_STORED_SESSIONS_PER_TENANT" in refused.json()["detail"]
    ended = limited.get("/api/training").json()[0]["session_id"]
    assert limited.delete(f"/api/training/{ended}").status_code == 200
    start(limited)


def test_models_are_bounded_per_tenant_and_a_start_needs_room_for_one(
    limited: httpx.Client,
) -> None:
    for number in range(2):
        assert post_bundle(limited, make_bundle(weights=variant(number))).status_code == 201
    refused = post_bundle(limited, make_bundle(weights=variant(2)))
    assert refused.status_code == 409, refused.text
    assert "AGENTGYM_MAX_MODELS_PER_TENANT" in refused.json()["detail"]
    no_room = limited.post("/api/training/start", json=SEED_START)
    assert no_room.status_code == 409 and "MODELS" in no_room.json()["detail"]
    first = limited.get("/api/models").json()[0]["id"]
    assert limited.delete(f"/api/models/{first}").status_code == 200
    assert post_bundle(limited, make_bundle(weights=variant(2))).status_code == 201


def test_bundle_bytes_are_bounded_per_tenant(settings: ApiSettings, store: KeyValueStore) -> None:
    # Counted in the MB a model shows (to the kilobyte): room for two, not three.
    limit = 2 * len(make_bundle()) + 2048
    with (
        limited_api(settings, max_bundle_bytes_per_tenant=limit) as url,
        httpx.Client(base_url=url) as client,
    ):
        for number in range(2):
            assert post_bundle(client, make_bundle(weights=variant(number))).status_code == 201
        refused = post_bundle(client, make_bundle(weights=variant(2)))
    assert refused.status_code == 409, refused.text
    assert "AGENTGYM_MAX_BUNDLE_BYTES_PER_TENANT" in refused.json()["detail"]


# --- pages from elsewhere --------------------------------------------------------------------


def test_a_cross_site_stop_is_403_and_stops_nothing(api: httpx.Client) -> None:
    session_id = start(api)
    evil = api.post(f"/api/training/{session_id}/stop", headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403, evil.text
    assert "AGENTGYM_CORS_ORIGINS" in evil.json()["detail"]
    assert api.get(f"/api/training/{session_id}").json()["status"] == "queued"
    # The configured UI, and programs that send no Origin, are served.
    ui = api.post(f"/api/training/{session_id}/pause", headers={"Origin": "http://localhost:3000"})
    assert ui.status_code == 200
    assert api.post(f"/api/training/{session_id}/stop").status_code == 200


def test_a_page_of_the_api_itself_may_change_state(api: httpx.Client, base_url: str) -> None:
    own = api.put("/api/settings", json={"maxEpisodes": 300}, headers={"Origin": base_url})
    assert own.status_code == 200, own.text


def test_a_foreign_host_is_refused_while_authentication_is_off(api: httpx.Client) -> None:
    rebound = api.get("/api/training", headers={"Host": "evil.example"})
    assert rebound.status_code == 403 and "AGENTGYM_ALLOWED_HOSTS" in rebound.json()["detail"]
    assert api.get("/api/training", headers={"Host": "localhost:8000"}).status_code == 200


def test_a_trailing_slash_redirect_does_not_echo_the_host(api: httpx.Client) -> None:
    response = api.get("/api/scenarios/", headers={"Host": "localhost"})
    assert response.status_code == 307 and response.headers["location"] == "/api/scenarios"


def test_a_cross_site_websocket_is_closed_with_4403(base_url: str) -> None:
    url = base_url.replace("http", "ws", 1) + "/ws/training"
    with (
        connect(url, origin="https://evil.example", open_timeout=5) as ws,  # type: ignore[arg-type]
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


# --- settings ETags -----------------------------------------------------------------------------


async def test_the_settings_etag_counts_this_records_writes_only(
    api: httpx.Client, store: KeyValueStore
) -> None:
    assert api.get("/api/settings").headers["etag"] == '"0"'
    for _ in range(5):  # other records written meanwhile move the store's revision
        start(api)
    assert api.get("/api/settings").headers["etag"] == '"0"'
    assert api.put("/api/settings", json={"maxEpisodes": 300}).headers["etag"] == '"1"'
    assert api.put("/api/settings", json={"maxEpisodes": 301}).headers["etag"] == '"2"'
