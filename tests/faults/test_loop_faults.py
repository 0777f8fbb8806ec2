"""An improvement loop's run survives `kill -9` of its trainer and of the API it was asked of at
each of its steps: another trainer takes the run over once its lease runs out, and carries it on
where its record says it stood; another API reads it (an API only asks for runs and reads
them). Never half-promoted: the run ends promoted with the alias moved once, by the run, to its
candidate, or it ends otherwise with the alias where it was; one candidate session, not two.
Real processes: nats-server, `agentgym api`, `agentgym trainer`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from agentgym.nats_server import NatsServer, free_port

from ..trainer.test_loop_runs import logged, scenario
from .conftest import Service, Services, eventually, wait_http

# Each step is held this long once the run's record says it began: time to kill its trainer.
PAUSE_S = "2"
LEASE_S = "3"  # then another trainer takes the run over
LOOPING = {"DECISION_SETTLE_S": "0", "LOOP_LEASE_S": LEASE_S}


def api_of(services: Services, nats: NatsServer) -> Service:
    port = free_port()
    env = services.env(nats.url, **LOOPING)
    service = services.start("api", ["api", "--port", str(port), "--log-level", "warning"],
                             env, port)  # fmt: skip
    wait_http(service, "/healthz")
    return service


# Killed while training, the run is a prospective loop's: it ends with its candidate on trial
# (the same training step, then the trial set); the other steps are a run that tests at once.
@pytest.mark.parametrize(
    ("step", "prospective"),
    [("snapshot", False), ("training", True), ("deciding", False), ("promoting", False)],
)
async def test_a_run_whose_trainer_and_api_are_killed_at_a_step_ends_whole(
    services: Services, nats: NatsServer, step: str, prospective: bool
) -> None:
    api = api_of(services, nats)
    first = services.trainer(nats.url, "t1", **LOOPING, LOOP_STEP_PAUSE_S=PAUSE_S)
    sid = "loop_faults"
    async with httpx.AsyncClient(base_url=api.http, timeout=30) as client:
        serving, run_id = await _run_at(client, sid, step, prospective)
        first.kill9()
        assert (await client.get("/api/aliases/production")).json()["model_id"] == serving
        api.kill9()
        services.trainer(nats.url, "t2", **LOOPING)
        api = api_of(services, nats)
    async with httpx.AsyncClient(base_url=api.http, timeout=30) as client:
        ended = await eventually(
            lambda: _run(client, sid, run_id), lambda r: r["outcome"] is not None, 120, "its end"
        )
        alias = (await client.get("/api/aliases/production")).json()
        moves = [c for c in alias["history"] if c["by"] == f"loop run {run_id}"]
        loop = (await client.get(f"/api/scenarios/{sid}/loop")).json()
        if prospective:  # on trial once, shadowing, the alias not moved
            assert ended["outcome"] == "trial", ended["why"]
            candidate = ended["candidate_model_id"]
            assert loop["trial"]["model_id"] == candidate == alias["shadow"] != serving
            assert (alias["model_id"], moves) == (serving, [])
        elif ended["outcome"] == "promoted":
            assert alias["model_id"] == ended["candidate_model_id"] != serving
            assert len(moves) == 1
        else:
            assert (alias["model_id"], moves) == (serving, []), ended["why"]
        if not prospective:
            assert ended["outcome"] == "promoted", ended["why"]  # resumed, here, at every step
        assert ended["holder"] == "t2"
        sessions = [
            s for s in (await client.get("/api/training")).json() if s["scenario_id"] == sid
        ]
        assert len(sessions) == 2  # the served model's, and one candidate's however resumed
        assert loop["running"] is None and [r["run_id"] for r in loop["runs"]] == [run_id]


async def _run_at(
    client: httpx.AsyncClient, sid: str, step: str, prospective: bool = False
) -> tuple[str, str]:
    """A scenario served under `production` with its logged decisions and a loop (its gate
    `prospective` or not), a run asked for and at `step`: the serving model's id and the
    run's."""
    pushed = (await client.post("/api/scenarios", json=scenario(sid))).json()
    serving = await _trained(client, sid)
    assert (await client.put("/api/aliases/production", json={"model_id": serving})).is_success
    items = logged(sid, pushed["version"], serving)
    for start in range(0, len(items), 1000):
        await client.post("/api/decisions", json={"items": items[start : start + 1000]})
    body = {"alias": "production", "max_episodes": 300, "gate": {"prospective": prospective}}
    assert (await client.put(f"/api/scenarios/{sid}/loop", json=body)).status_code == 200
    run_id = (await client.post(f"/api/scenarios/{sid}/loop/run")).json()["run_id"]
    await eventually(
        lambda: _run(client, sid, run_id), lambda r: r["step"] == step, 60, f"the run at {step}"
    )
    return serving, str(run_id)


async def _run(client: httpx.AsyncClient, sid: str, run_id: str) -> dict[str, Any]:
    loop = (await client.get(f"/api/scenarios/{sid}/loop")).json()
    return dict(next(r for r in loop["runs"] if r["run_id"] == run_id))


async def _trained(client: httpx.AsyncClient, sid: str) -> str:
    started = await client.post(
        "/api/training/start", json={"scenario_id": sid, "max_episodes": 1, "seed": 3}
    )
    session_id = started.json()["session_id"]

    async def status() -> dict[str, Any]:
        return dict((await client.get(f"/api/training/{session_id}")).json())

    done = await eventually(status, lambda s: s["status"] == "completed", 60, "the served model")
    return str(done["model_id"])


async def test_a_nats_outage_during_a_run_is_said_and_the_alias_stays(
    services: Services, nats: NatsServer
) -> None:
    """NATS down while a run starts its candidate (a command on it; the snapshot, which reads
    the decisions' stream, fails the same way): the run ends failed, saying so, and the alias
    stays."""
    api = api_of(services, nats)
    services.trainer(nats.url, "t1", **LOOPING, LOOP_STEP_PAUSE_S=PAUSE_S)
    sid = "loop_outage"
    async with httpx.AsyncClient(base_url=api.http, timeout=30) as client:
        serving, run_id = await _run_at(client, sid, "training")
        nats.stop()
        ended = await eventually(
            lambda: _run(client, sid, run_id), lambda r: r["outcome"] is not None, 60, "its end"
        )
        nats.start()
        assert ended["outcome"] == "failed", ended
        assert ended["why"].startswith("failed: message bus unavailable"), ended["why"]
        alias = (await client.get("/api/aliases/production")).json()
        assert alias["model_id"] == serving and len(alias["history"]) == 1
