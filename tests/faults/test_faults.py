"""Faults done for real to real processes: NATS restarted under a running system, a streamer
killed with -9 under its browsers, and the store's server gone and back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.js import JetStreamContext

from agentgym import nats_client, subjects
from agentgym.contracts import TrainingStatus
from agentgym.messages import TrainingUpdate
from agentgym.nats_server import NatsServer

from .conftest import Services, Watcher, eventually

START = {"scenario_id": "customer_support", "framework": "LangChain", "learning_rate": 0.001}
LONG = 1_000_000  # episodes: a session that only ends when stopped
ENDED = ("completed", "stopped", "failed")


async def start_session(api: httpx.AsyncClient, max_episodes: int, seed: int) -> str:
    response = await api.post(
        "/api/training/start", json=START | {"max_episodes": max_episodes, "seed": seed}
    )
    assert response.status_code == 200, response.text
    session_id: str = response.json()["session_id"]
    return session_id


async def status_of(api: httpx.AsyncClient, session_id: str) -> dict[str, Any]:
    response = await api.get(f"/api/training/{session_id}")
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def wait_status(
    api: httpx.AsyncClient, session_id: str, check: Any, timeout: float, what: str
) -> dict[str, Any]:
    return await eventually(lambda: status_of(api, session_id), check, timeout, what)


async def recorded_seqs(api: httpx.AsyncClient, session_id: str) -> list[int]:
    response = await api.get(f"/api/training/{session_id}/metrics")
    assert response.status_code == 200, response.text
    return [int(u["seq"]) for u in response.json()]


def contiguous(seqs: list[int], first: int = 1) -> bool:
    return seqs == list(range(first, first + len(seqs)))


def _diff(got: list[int], want: list[int]) -> str:
    missing = sorted(set(want) - set(got))
    duplicated = sorted({s for s in got if got.count(s) > 1})
    return f"missing {missing[:20]}, duplicated {duplicated[:20]}, got {len(got)} of {len(want)}"


# --- 1. NATS restarted mid-run ---------------------------------------------------------------------

# How long NATS stays down in the restart: longer than a JetStream publish's 5 s reply timeout
# (nats-py's default), as a restart that replays real JetStream data or waits on a supervisor
# takes, so an update is sure to be in flight when the server goes.
NATS_DOWN_S = 7.0


class SessionFailedOnNatsRestart(AssertionError):
    """A session that failed because NATS restarted under it."""


async def test_a_nats_restart_mid_run_loses_no_command_update_session_or_model(
    services: Services, nats: NatsServer
) -> None:
    api_service = services.api(nats.url)
    services.trainer(nats.url, CONCURRENCY="2")
    streamer = services.streamer(nats.url)
    async with httpx.AsyncClient(base_url=api_service.http, timeout=15) as api:
        first = await start_session(api, LONG, seed=1)
        await wait_status(
            api, first, lambda s: s["status"] == "running", 30, "the first session to run"
        )
        async with Watcher(f"{streamer.ws}/ws/training/{first}") as watcher:
            await wait_status(
                api, first, lambda s: s["current_episode"] >= 400, 30, "a few hundred episodes"
            )
            await watcher.wait_until(lambda f: len(f) > 3, 10, "some updates before the restart")
            before_restart = len(watcher.seqs())

            began = time.monotonic()
            nats.stop()
            await asyncio.sleep(NATS_DOWN_S)  # kept: NATS down this long is the fault
            nats.start()  # same port, same data dir

            ready = await eventually(
                lambda: api.get("/readyz"), lambda r: r.status_code == 200, 15, "readyz 200"
            )
            ready_after = time.monotonic() - began - NATS_DOWN_S
            checks = ready.json()["checks"]
            assert checks["store"] == checks["nats"] == "ok", checks

            # Training goes on: the episode count keeps climbing past where it was.
            episode = (await status_of(api, first))["current_episode"]
            going_on = await wait_status(
                api,
                first,
                lambda s: (
                    s["status"] in ENDED
                    or (s["status"] == "running" and s["current_episode"] >= episode + 400)
                ),
                20,
                "the first session to keep training after the restart",
            )

            # A session started after the restart runs too (a command sent on the new server).
            second = await start_session(api, 600, seed=2)
            done = await wait_status(
                api, second, lambda s: s["status"] in ENDED, 30,
                "the second session to end",
            )  # fmt: skip
            assert done["status"] == "completed", done
            assert done["current_episode"] == 600

            if going_on["status"] not in ENDED:
                response = await api.post(f"/api/training/{first}/stop")
                assert response.status_code == 200, response.text
            ended = await wait_status(
                api, first, lambda s: s["status"] in ENDED, 30,
                "the first session to end",
            )  # fmt: skip

            # Every update recorded, numbered 1..n with no hole, for both sessions.
            first_seqs = await recorded_seqs(api, first)
            second_seqs = await recorded_seqs(api, second)
            assert first_seqs and contiguous(first_seqs), first_seqs
            assert second_seqs and contiguous(second_seqs), second_seqs

            # The browser that watched through the restart got all of them, each once, and
            # its connection was never closed: the streamer filled the gap by itself.
            last = first_seqs[-1]
            await watcher.wait_until(
                lambda f: any(u.get("seq") == last and u.get("type") == "training_update"
                              for u in f),
                15,
                f"the WebSocket to deliver the last update (seq {last})",
            )  # fmt: skip
            assert watcher.is_open, (
                f"the streamer closed the browser's connection: {watcher.closed}"
            )
            seqs = watcher.seqs()
            assert len(seqs) > before_restart
            assert seqs == first_seqs, _diff(seqs, first_seqs)

        # The sessions ended with their models, and the models are listed.
        listed = {m["id"] for m in (await api.get("/api/models")).json()}
        assert done["model_id"] in listed, (listed, done)
        print(f"readyz 200 {ready_after:.2f}s after nats-server came back")
        seen_last = watcher.updates()[-1]["data"]["status"]
        if ended["status"] != "stopped":
            raise SessionFailedOnNatsRestart(
                f"the running session {ended['status']} ({ended.get('error')}) at episode "
                f"{ended['current_episode']}; the last update watchers got says {seen_last!r}"
            )
        assert seen_last == "stopped"
        assert ended["model_id"] in listed, (listed, ended)


async def test_a_nats_restart_keeps_a_streamer_watcher_connected_with_no_gap(
    services: Services, nats: NatsServer
) -> None:
    """Test 1's WebSocket half on its own, whatever the trainer does: updates published across
    a restart reach a browser that stayed connected, all of them, each once, in order; those
    published before the streamer is back on NATS it must read back from JetStream itself."""
    api_service = services.api(nats.url)
    streamer = services.streamer(nats.url)
    async with httpx.AsyncClient(base_url=api_service.http, timeout=15) as api:
        # No trainer: the session stays queued, and the test publishes its updates.
        session_id = await synthetic_session(api)
        status = TrainingStatus.model_validate(await status_of(api, session_id))
        seq = 0

        async def publish(js: JetStreamContext, count: int) -> None:
            nonlocal seq
            for _ in range(count):
                seq += 1
                status.current_episode = seq * 10
                payload = TrainingUpdate(session_id=session_id, seq=seq, data=status).encode()
                await js.publish(subjects.metrics_subject(session_id), payload)

        async with Watcher(f"{streamer.ws}/ws/training/{session_id}") as watcher:
            publisher = await nats_client.connect(nats.url, "test-publisher")
            try:
                await publish(publisher.jetstream(), 20)
            finally:
                await publisher.close()
            await watcher.wait_until(lambda _: watcher.seqs()[-1:] == [seq], 10, "20 updates")

            nats.stop()
            await asyncio.sleep(1.0)  # kept: NATS down for a while is the fault
            nats.start()  # same port, same data
            # At once, before the streamer's next reconnect attempt (one a second): these are
            # stored while its subscription is gone.
            publisher = await nats_client.connect(nats.url, "test-publisher")
            try:
                await publish(publisher.jetstream(), 20)
                for _ in range(20):  # and live ones once it is back
                    await asyncio.sleep(0.1)  # kept: spread over 2 s, so some find it back
                    await publish(publisher.jetstream(), 1)
            finally:
                await publisher.close()

            await watcher.wait_until(
                lambda _: watcher.seqs()[-1:] == [seq], 15, f"the last update (seq {seq})"
            )
            assert watcher.is_open, f"the streamer closed the connection: {watcher.closed}"
            want = list(range(1, seq + 1))
            assert watcher.seqs() == want, _diff(watcher.seqs(), want)
        assert await recorded_seqs(api, session_id) == want
        metrics = (await api.get(f"{streamer.http}/metrics")).text
        print("streamer:", [line for line in metrics.splitlines() if "gap_fills_total " in line])


async def synthetic_session(api: httpx.AsyncClient) -> str:
    """A session the API queued, with no trainer to take it."""
    return await start_session(api, LONG, seed=9)


# --- 2. a streamer killed under its browsers -------------------------------------------------------


async def test_a_killed_streamer_clients_reconnect_with_since_and_see_no_gap(
    services: Services, nats: NatsServer
) -> None:
    api_service = services.api(nats.url)
    services.trainer(nats.url)
    streamer_a = services.streamer(nats.url, "streamer-a")
    async with httpx.AsyncClient(base_url=api_service.http, timeout=15) as api:
        session_id = await start_session(api, LONG, seed=3)
        await wait_status(
            api, session_id, lambda s: s["status"] == "running", 30, "the session to run"
        )
        async with Watcher(f"{streamer_a.ws}/ws/training/{session_id}") as before:
            await before.wait_until(
                lambda f: sum(u.get("type") == "training_update" for u in f) >= 10,
                15,
                "ten updates through streamer A",
            )
            streamer_a.kill9()
            await before.wait_closed(10)  # the browser sees its connection drop
        seqs_before = before.seqs()
        last_seq = seqs_before[-1]
        assert contiguous(seqs_before), seqs_before

        streamer_b = services.streamer(nats.url, "streamer-b")
        async with Watcher(f"{streamer_b.ws}/ws/training/{session_id}?since={last_seq}") as after:
            await after.wait_until(lambda f: len(f) >= 1, 10, "the snapshot from streamer B")
            assert after.frames[0]["type"] == "snapshot", after.frames[0]
            assert after.frames[0]["session_id"] == session_id
            response = await api.post(f"/api/training/{session_id}/stop")
            assert response.status_code == 200, response.text
            await after.wait_until(
                lambda f: any(u.get("data", {}).get("status") == "stopped" for u in f[1:]),
                30,
                "the session's final (stopped) update through streamer B",
            )
            assert after.is_open
            frames_after = after.frames[1:]
        assert all(f["type"] == "training_update" for f in frames_after), frames_after[:3]
        seqs_after = [int(f["seq"]) for f in frames_after]
        assert seqs_after and seqs_after[0] == last_seq + 1, (last_seq, seqs_after[:5])
        union = seqs_before + seqs_after
        assert contiguous(union), _diff(union, list(range(1, union[-1] + 1)))
        assert union == await recorded_seqs(api, session_id)


# --- 3. the store's server goes away -------------------------------------------------------------


async def test_an_unreachable_store_is_503_with_retry_after_and_recovers(
    services: Services, nats: NatsServer, tmp_path: Path
) -> None:
    store_nats = NatsServer(tmp_path / "store-nats")
    store_nats.start()
    try:
        store_url = f"nats://127.0.0.1:{store_nats.port}/agentgym"
        api_service = services.api(nats.url, store_url)
        async with httpx.AsyncClient(base_url=api_service.http, timeout=20) as api:
            # Data written before the outage: a (queued) session and changed settings.
            session_id = await start_session(api, 500, seed=4)
            put = await api.put("/api/settings", json={"maxEpisodes": 777, "llmProvider": "Faults"})
            assert put.status_code == 200, put.text

            store_nats.kill()
            calls: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
                "GET /api/training": lambda: api.get("/api/training"),
                "GET /api/settings": lambda: api.get("/api/settings"),
                "POST /api/training/start": lambda: api.post(
                    "/api/training/start", json=START | {"max_episodes": 100}
                ),
            }
            timings: dict[str, float] = {}
            for name, call in calls.items():
                began = time.monotonic()
                try:
                    response = await call()
                except httpx.TimeoutException:
                    pytest.fail(
                        f"{name} hung for {time.monotonic() - began:.0f}s with the store down"
                    )
                timings[name] = elapsed = time.monotonic() - began
                assert response.status_code == 503, (name, response.status_code, response.text)
                assert response.headers.get("Retry-After", "").isdigit(), (name, response.headers)
                body = response.json()
                assert isinstance(body.get("detail"), str) and body["detail"], (name, body)
                assert elapsed < 10, f"{name} took {elapsed:.1f}s to answer 503"

            began = time.monotonic()
            ready = await api.get("/readyz")
            timings["GET /readyz"] = time.monotonic() - began
            assert ready.status_code == 503, ready.text
            assert "Retry-After" in ready.headers
            assert "store" in ready.json()["detail"], ready.json()
            assert ready.json()["checks"]["nats"] == "ok"
            assert ready.json()["checks"]["store"] != "ok"
            assert timings["GET /readyz"] < 10

            began = time.monotonic()
            store_nats.start()  # same port, same data dir
            await eventually(
                lambda: api.get("/readyz"), lambda r: r.status_code == 200, 20, "readyz 200"
            )
            sessions = await eventually(
                lambda: api.get("/api/training"), lambda r: r.status_code == 200, 10,
                "GET /api/training 200",
            )  # fmt: skip
            recovered = time.monotonic() - began
            assert [s["session_id"] for s in sessions.json()] == [session_id]
            settings = await api.get("/api/settings")
            assert settings.status_code == 200, settings.text
            assert settings.json()["maxEpisodes"] == 777
            assert settings.json()["llmProvider"] == "Faults"
            again = await api.post("/api/training/start", json=START | {"max_episodes": 100})
            assert again.status_code == 200, again.text
            assert (await api.get(f"/api/training/{session_id}")).status_code == 200
            print(f"503 timings: {timings}; recovered {recovered:.2f}s after the restart")
    finally:
        store_nats.stop()
