"""`/api/scenarios/{id}/loop` over the real API (uvicorn, SQLite, nats-server) with no trainer:
setting a loop up, what it refuses and why, another tenant's, one run however often asked, a
run left by a dead holder asked for again, and its schedule as a NATS message schedule."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from agentgym import loops, subjects
from agentgym.auth import hash_key, new_key
from agentgym.config import ApiSettings
from agentgym.messages import LoopDue
from agentgym.records import Keys
from agentgym.store import KeyValueStore
from functions.app import build
from functions.resources import Resources

from ..servers import serve_asgi
from .test_aliases import imported
from .test_custom_scenarios import scenario_file


@pytest.fixture
def looped(api: httpx.Client) -> str:
    """A custom scenario, and alias `production` of a model: what a loop needs."""
    assert api.post("/api/scenarios", json=scenario_file("shop")).status_code == 201
    assert api.put("/api/aliases/production", json={"model_id": imported(api, 1)}).is_success
    return "shop"


def put_loop(api: httpx.Client, scenario_id: str, **body: Any) -> httpx.Response:
    return api.put(f"/api/scenarios/{scenario_id}/loop", json={"alias": "production"} | body)


def test_a_loop_is_set_read_changed_and_stopped(api: httpx.Client, looped: str) -> None:
    made = put_loop(api, looped, every_decisions=500, gate={"margin": 0.02})
    assert made.status_code == 200, made.text
    loop = made.json()
    assert (loop["alias"], loop["every_decisions"], loop["every_seconds"]) == (
        "production", 500, None
    )  # fmt: skip
    assert loop["gate"] == {
        "estimator": "dr",
        "margin": 0.02,
        "model_only": False,
        "prospective": False,
    }
    assert (loop["tests"], loop["runs"], loop["running"], loop["canary"]) == (0, [], None, 0.0)
    changed = put_loop(api, looped, every_seconds=3600).json()
    assert (changed["every_decisions"], changed["every_seconds"]) == (None, 3600)
    assert changed["created_at"] == loop["created_at"]
    assert api.get(f"/api/scenarios/{looped}/loop").json()["every_seconds"] == 3600
    assert api.delete(f"/api/scenarios/{looped}/loop").json() == {"status": "deleted"}
    gone = api.get(f"/api/scenarios/{looped}/loop")
    assert gone.status_code == 404 and "PUT /api/scenarios/shop/loop" in gone.json()["detail"]
    assert api.delete(f"/api/scenarios/{looped}/loop").status_code == 404


@pytest.mark.parametrize(
    ("scenario", "body", "status", "said"),
    [
        ("nowhere", {}, 404, "scenario 'nowhere' not found"),
        ("customer_support", {}, 409, "built-in scenario"),
        ("shop", {"alias": "staging"}, 404, "alias 'staging' not found"),
        ("shop", {"alias": "Bad Name"}, 422, "alias name 'Bad Name' is not valid"),
        ("shop", {"canary": 0.7}, 422, "canary"),
        ("shop", {"every_seconds": 5}, 422, "every_seconds"),
        ("shop", {"gate": {"estimator": "snips"}}, 422, "gate.estimator"),
        ("shop", {"gate": {"margin": 3}}, 422, "gate.margin"),
        ("shop", {"schedule": "daily"}, 422, "schedule"),
    ],
)
def test_what_a_loop_refuses_says_what_to_fix(
    api: httpx.Client, looped: str, scenario: str, body: dict[str, Any], status: int, said: str
) -> None:
    response = put_loop(api, scenario, **body)
    assert response.status_code == status, response.text
    assert said in json.dumps(response.json()), response.text
    assert api.get(f"/api/scenarios/{looped}/loop").status_code == 404  # nothing was set


def test_a_run_is_asked_for_once_however_often(api: httpx.Client, looped: str) -> None:
    assert api.post(f"/api/scenarios/{looped}/loop/run").status_code == 404  # no loop yet
    put_loop(api, looped)
    first = api.post(f"/api/scenarios/{looped}/loop/run")
    assert first.status_code == 202, first.text
    run = first.json()
    assert (run["trigger"], run["step"], run["outcome"]) == ("asked", "queued", None)
    again = api.post(f"/api/scenarios/{looped}/loop/run")
    assert (again.status_code, again.json()["run_id"]) == (200, run["run_id"])
    loop = api.get(f"/api/scenarios/{looped}/loop").json()
    assert loop["running"] == run["run_id"] and [r["run_id"] for r in loop["runs"]] == [
        run["run_id"]
    ]


async def test_many_asking_at_once_make_one_run(
    base_url: str, api: httpx.Client, looped: str
) -> None:
    put_loop(api, looped)
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        answers = await asyncio.gather(
            *(client.post(f"/api/scenarios/{looped}/loop/run") for _ in range(8))
        )
    assert sorted(a.status_code for a in answers) == [200] * 7 + [202]
    assert len({a.json()["run_id"] for a in answers}) == 1


async def test_a_run_left_by_a_dead_holder_is_asked_for_again(
    api: httpx.Client, looped: str, store: KeyValueStore, settings: ApiSettings
) -> None:
    put_loop(api, looped)
    run = api.post(f"/api/scenarios/{looped}/loop/run").json()
    keys = Keys()
    held = await loops.lease(store, keys, looped)
    assert held is not None and held.holder == "api"
    # Its holder died before any trainer had it (as an API killed before its publish): the
    # lease ran out, no message waits, and no trainer ended the run.
    await store.put(keys.loop_lease(looped), held.model_copy(update={"expires": 0.0}).dump())
    client = await nats.connect(settings.nats_url)
    subject = subjects.loop_due_subject("default", looped)
    await client.jetstream().purge_stream(subjects.LOOPS_STREAM, subject=subject)
    await client.close()
    again = api.post(f"/api/scenarios/{looped}/loop/run")
    assert (again.status_code, again.json()["run_id"]) == (200, run["run_id"])
    assert [m.run_id for m in await _due_messages(settings.nats_url, looped)] == [run["run_id"]]


async def test_a_schedule_is_a_nats_message_schedule(
    api: httpx.Client, looped: str, settings: ApiSettings
) -> None:
    put_loop(api, looped, every_seconds=10)
    definition = await _schedule(settings.nats_url, looped)
    assert definition is not None
    assert definition.headers is not None
    assert definition.headers["Nats-Schedule"] == "@every 10s"
    assert definition.headers["Nats-Schedule-Target"] == subjects.loop_due_subject(
        "default", looped
    )
    assert LoopDue.decode(definition.data) == LoopDue(scenario_id=looped)
    # Every loop_check_s (30 s) otherwise: it counts decisions, and watches its promotions.
    for body in ({"every_decisions": 100}, {}, {"every_seconds": 3600}):
        put_loop(api, looped, **body)
        changed = await _schedule(settings.nats_url, looped)
        assert changed is not None and changed.headers is not None
        assert changed.headers["Nats-Schedule"] == "@every 30s"
    api.delete(f"/api/scenarios/{looped}/loop")
    assert await _schedule(settings.nats_url, looped) is None


async def _schedule(url: str, scenario_id: str) -> Any:
    client = await nats.connect(url)
    try:
        subject = subjects.loop_schedule_subject("default", scenario_id)
        return await client.jetstream().get_last_msg(subjects.LOOPS_STREAM, subject)
    except nats.js.errors.NotFoundError:
        return None
    finally:
        await client.close()


async def _due_messages(url: str, scenario_id: str) -> list[LoopDue]:
    """The loop's due messages waiting in the work queue (read without taking them)."""
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        subject = subjects.loop_due_subject("default", scenario_id)
        info = await js.stream_info(subjects.LOOPS_STREAM, subjects_filter=subject)
        found = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                msg = await js.get_msg(subjects.LOOPS_STREAM, seq)
            except nats.js.errors.NotFoundError:
                continue
            if msg.subject == subject:
                found.append(LoopDue.decode(msg.data))
        return found
    finally:
        await client.close()


@pytest.fixture
def tenants(settings: ApiSettings, tmp_path: Path) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    acme, globex = new_key(), new_key()
    secured = settings.model_copy(
        update={
            "auth": "apikey",
            "api_keys": f"acme:{hash_key(acme)},globex:{hash_key(globex)}",
        }
    )
    with (
        serve_asgi(build(Resources(secured))) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {acme}"}, timeout=10) as a,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {globex}"}, timeout=10) as g,
    ):
        yield a, g


def test_another_tenants_loop_scenario_and_alias_are_not_found(
    tenants: tuple[httpx.Client, httpx.Client],
) -> None:
    acme, globex = tenants
    assert acme.post("/api/scenarios", json=scenario_file("shop")).status_code == 201
    assert acme.put("/api/aliases/production", json={"model_id": imported(acme, 1)}).is_success
    assert put_loop(acme, "shop").status_code == 200
    assert globex.get("/api/scenarios/shop/loop").status_code == 404
    assert globex.post("/api/scenarios/shop/loop/run").status_code == 404
    assert globex.delete("/api/scenarios/shop/loop").status_code == 404
    assert put_loop(globex, "shop").status_code == 404  # its scenario is acme's
    assert globex.post("/api/scenarios", json=scenario_file("shop")).status_code == 201
    refused = put_loop(globex, "shop")  # its own scenario now, but the alias is acme's
    assert refused.status_code == 404 and "alias 'production'" in refused.text
    assert acme.get("/api/scenarios/shop/loop").json()["alias"] == "production"
