"""Many users steering many sessions at once, through two API instances and two trainers.

Two API apps (each its own `Resources`, each under its own uvicorn) share one SQLite store,
one nats-server and one artifact directory with two in-process trainer workers (4 slots each).
20 long sessions are started, then 200 start/pause/resume/stop calls fire at once (32 in
flight at a time, from async clients: the trainers share the test's event loop), alternating
the two APIs. Afterwards every session is stopped, and the records, models and recorded
updates must agree with what the trainers did, with no command lost.

Three defects this found (fixed since) are kept as regression tests at the end of the module:

- a 409 after an accepted stop said "being stopped" without the session's status;
- a stop accepted while the trainer was pausing the session was lost (it ended paused);
- a worker told to stop while it fetched a command trained that command's session forever.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from agentgym.config import ApiSettings, TrainerSettings
from agentgym.state import Action, SessionStatus, accepts
from agentgym.store import KeyValueStore, open_store
from functions.app import build
from functions.resources import Resources
from trainer.session import Session
from trainer.worker import Worker

from ..inprocess import WorkerDidNotStop, running_worker, settled
from ..servers import serve_asgi
from ..trainer.conftest import TRAINER_DEFAULTS

T = TypeVar("T")

SEED = 20240611
SESSIONS = 20
CALLS = 200
MAX_STARTS = 4  # "start" calls among the 200: new sessions, a handful at most
IN_FLIGHT = 32  # calls of the storm under way at once
WORKER_SLOTS = 4
MAX_EPISODES = 1_000_000  # never completes: sessions run until they are stopped
STORM_ACK_WAIT_S = 10.0  # how long an owner may be silent before it is taken for dead
SETTLE_S = 30.0  # how long any session may take to reach the state it was asked for
START_BODY = {"framework": "LangChain", "learning_rate": 0.001, "max_episodes": MAX_EPISODES}
SCENARIOS = ("customer_support", "code_review", "data_analysis")
ANSWERS = {"pause": "paused", "resume": "resumed", "stop": "stopped"}
NAMES_STATUS = re.compile(r"a session that is (\w+)")
BEING_STOPPED = re.compile(r"^cannot (pause|resume) a session that is (\w+) and being stopped$")
TERMINAL = {SessionStatus.STOPPED.value, SessionStatus.COMPLETED.value}


class DetailNamesNoStatus(AssertionError):
    """A 409 whose detail does not say the session's current status."""


class LostStop(AssertionError):
    """A stop the API accepted (200) that the session never carried out."""


class WorkerKeptTraining(AssertionError):
    """A worker told to stop that does not return."""


# --- the system --------------------------------------------------------------------------------


@pytest.fixture
async def apis(urls: dict[str, str], tmp_path: Path) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Two API instances over the same store and NATS, each with its own clients (async: the
    trainers run in this test's event loop, which a request must never block)."""
    # More sessions than the default per-tenant cap (16 queued or running) are the point here.
    settings = ApiSettings(data_dir=tmp_path, max_sessions_per_tenant=4 * SESSIONS, **urls)
    with (
        serve_asgi(build(Resources(settings))) as first,
        serve_asgi(build(Resources(settings))) as second,
    ):
        async with (
            httpx.AsyncClient(base_url=first, timeout=30) as one,
            httpx.AsyncClient(base_url=second, timeout=30) as two,
        ):
            yield [one, two]


@pytest.fixture
async def store(urls: dict[str, str]) -> AsyncIterator[KeyValueStore]:
    """The store the APIs and trainers share, to read what the API does not show."""
    opened = await open_store(urls["store_url"])
    yield opened
    await opened.close()


def worker(
    urls: dict[str, str],
    tmp_path: Path,
    worker_id: str,
    slots: int = WORKER_SLOTS,
    **options: Any,
) -> AbstractAsyncContextManager[Worker]:
    """An in-process trainer, ready on entry, stopped and awaited on exit (tests/inprocess.py:
    one that does not return in time has its sessions handed back and fails the test, so a
    regression of test_a_worker_told_to_stop_while_it_fetches_a_command_returns ends the test
    instead of hanging it)."""
    # 20 sessions in 8 slots on a 2-core machine: a slot call (an evaluation, then a
    # checkpoint) can keep an owner from writing for seconds, which the suite's 3 s ack wait
    # would take for a dead owner, and another trainer would take the session over.
    settings = TrainerSettings(
        data_dir=tmp_path,
        worker_id=worker_id,
        concurrency=slots,
        **urls,
        **(TRAINER_DEFAULTS | {"ack_wait_s": STORM_ACK_WAIT_S}),
    )
    return running_worker(settings, **options)


# --- calls -------------------------------------------------------------------------------------


@dataclass
class Call:
    action: str  # start, pause, resume, stop
    session_id: str | None  # None for a start
    api: int  # which API instance
    status: int = 0
    body: Any = None
    began_s: float = 0.0
    elapsed_s: float = 0.0


def plan(sessions: list[str], rng: random.Random) -> list[Call]:
    """The calls to fire: a random mix of pause, resume and stop, and a few starts."""
    starts = set(rng.sample(range(CALLS), MAX_STARTS))
    calls = []
    for n in range(CALLS):
        if n in starts:
            calls.append(Call("start", None, n % 2))
        else:
            action = rng.choice(["pause", "pause", "resume", "resume", "resume", "stop"])
            calls.append(Call(action, rng.choice(sessions), n % 2))
    return calls


async def fire(apis: list[httpx.AsyncClient], call: Call, scenario_id: str) -> Call:
    client = apis[call.api]
    call.began_s = time.monotonic()
    if call.action == "start":
        response = await client.post(
            "/api/training/start", json=START_BODY | {"scenario_id": scenario_id}
        )
    else:
        response = await client.post(f"/api/training/{call.session_id}/{call.action}")
    call.elapsed_s = time.monotonic() - call.began_s
    call.status = response.status_code
    call.body = response.json()
    return call


async def start(api: httpx.AsyncClient, scenario_id: str, seed: int) -> str:
    response = await api.post(
        "/api/training/start", json=START_BODY | {"scenario_id": scenario_id, "seed": seed}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["session_id"])


async def status_of(api: httpx.AsyncClient, session_id: str) -> dict[str, Any]:
    response = await api.get(f"/api/training/{session_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def statuses(api: httpx.AsyncClient, session_ids: list[str]) -> dict[str, str]:
    listed = {s["session_id"]: s["status"] for s in (await api.get("/api/training")).json()}
    return {session_id: listed[session_id] for session_id in session_ids}


async def counted(api: httpx.AsyncClient, session_ids: list[str]) -> Counter[str]:
    """How many of the sessions are in each status."""
    return Counter((await statuses(api, session_ids)).values())


async def until(probe: Callable[[], Awaitable[T]], check: Callable[[T], bool]) -> T:
    """Poll `probe()` until `check` holds on what it returns; fail after SETTLE_S with the
    last thing it returned."""
    deadline = time.monotonic() + SETTLE_S
    while not check(seen := await probe()):
        assert time.monotonic() < deadline, f"timed out after {SETTLE_S}s: {seen}"
        await asyncio.sleep(0.1)  # the API and the store announce no change: ask again
    return seen


async def stop_every_session(api: httpx.AsyncClient, session_ids: list[str]) -> None:
    """Stop each session that is not over, retrying while a 409 says it is between states."""
    deadline = time.monotonic() + SETTLE_S
    pending = list(session_ids)
    while pending:
        for session_id in list(pending):
            if (await status_of(api, session_id))["status"] in TERMINAL:
                pending.remove(session_id)
                continue
            response = await api.post(f"/api/training/{session_id}/stop")
            assert response.status_code in (200, 409), response.text
            if response.status_code == 200:
                pending.remove(session_id)
        assert time.monotonic() < deadline, f"could not stop {pending}"
        await asyncio.sleep(0.1)  # a 409 says it is between states: ask again shortly


def calls_to(done: list[Call], session_id: str) -> str:
    first = min(c.began_s for c in done)
    return "\n".join(
        f"  +{c.began_s - first:.3f}s..+{c.began_s + c.elapsed_s - first:.3f}s "
        f"api{c.api} {c.action} -> {c.status} {c.body}"
        for c in sorted(done, key=lambda c: c.began_s)
        if c.session_id == session_id
    )


# --- checks ------------------------------------------------------------------------------------


def check_answer(call: Call, stops_accepted: set[str]) -> str:
    """What a call's answer was ("ok", "conflict", "being stopped"), failing on anything a
    user must never see: a 5xx, a 404, a 409 that does not name the session's status."""
    assert call.status < 500, f"{call}: a server error"
    if call.status == 200:
        if call.action == "start":
            assert call.body["status"] == "started" and call.body["session_id"], call
        else:
            assert call.body == {"status": ANSWERS[call.action]}, call
        return "ok"
    assert call.status == 409, f"{call}: only 200 or 409 may answer a control call"
    detail = call.body["detail"]
    assert call.body["code"] == "conflict", call
    if stopping := BEING_STOPPED.match(detail):
        # Right only when a stop of that session was accepted; it still names the status.
        assert call.session_id in stops_accepted, f"{call}: no stop of it was accepted"
        assert stopping.group(2) in set(SessionStatus), f"{call}: names no status"
        return "being stopped"
    named = NAMES_STATUS.search(detail)
    assert named and named.group(1) in set(SessionStatus), f"{call}: names no status"
    current = SessionStatus(named.group(1))
    assert not accepts(current, Action(call.action)), f"{call}: {current} allows {call.action}"
    return "conflict"


async def stored(store: KeyValueStore, session_id: str) -> dict[str, Any]:
    """The session's stored record (the README's key), `pending` included."""
    record: dict[str, Any] = json.loads((await store.get(f"sessions/{session_id}")).value)
    return record


async def lost_stops(store: KeyValueStore, stopped: set[str], done: list[Call]) -> list[str]:
    """The sessions whose accepted stop is gone. An accepted stop is recorded as `pending`
    before the 200, and only the trainer that ends the session may clear it: until then the
    session must be over, or still want its stop. Waits while a trainer is mid-way (running
    with a stop wanted), and fails on a lost stop that is not the known defect."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        records = {s: await stored(store, s) for s in sorted(stopped)}
        busy = [s for s, r in records.items() if r["status"] == "running" and r["pending"]]
        if not busy:
            break
        assert time.monotonic() < deadline, f"still not stopped: {busy}"
        await asyncio.sleep(0.1)  # the store announces no change: look again
    lost = [s for s, r in records.items() if r["status"] not in TERMINAL and r["pending"] != "stop"]
    for session_id in lost:
        raise AssertionError(
            f"{session_id} lost its stop: {records[session_id]}\n{calls_to(done, session_id)}"
        )
    return lost


async def check_session(api: httpx.AsyncClient, session_id: str) -> dict[str, Any]:
    """The stored record agrees with the model and the updates its trainer produced."""
    status = await status_of(api, session_id)
    assert status["status"] == SessionStatus.STOPPED, status  # none reaches 1,000,000 episodes
    assert status["model_id"], f"{session_id}: stopped without a model: {status}"
    model = await api.get(f"/api/models/{status['model_id']}")
    assert model.status_code == 200, f"{session_id}: its model is missing: {model.text}"
    assert model.json()["episodes"] == status["current_episode"], (model.json(), status)
    updates = (await api.get(f"/api/training/{session_id}/metrics")).json()
    seqs = [u["seq"] for u in updates]
    assert seqs == list(range(1, len(seqs) + 1)), f"{session_id}: holes or repeats in {seqs}"
    episodes = [u["data"]["current_episode"] for u in updates]
    assert episodes == sorted(episodes), f"{session_id}: training went back: {episodes}"
    last = updates[-1]["data"]
    assert last["status"] == status["status"], (last, status)
    assert last["current_episode"] == status["current_episode"], (last, status)
    return status


# --- the storm ---------------------------------------------------------------------------------


async def test_concurrent_control_through_two_apis_and_two_trainers(
    apis: list[httpx.AsyncClient], urls: dict[str, str], tmp_path: Path, store: KeyValueStore
) -> None:
    rng = random.Random(SEED)
    began = time.monotonic()
    async with AsyncExitStack() as trainers:
        for worker_id in ("w1", "w2"):
            await trainers.enter_async_context(worker(urls, tmp_path, worker_id))
        sessions = [
            await start(apis[n % 2], SCENARIOS[n % len(SCENARIOS)], seed=n) for n in range(SESSIONS)
        ]
        # Both trainers' slots fill before the storm; the other sessions wait in the queue.
        await until(lambda: counted(apis[0], sessions), lambda c: c["running"] == 2 * WORKER_SLOTS)

        calls = plan(sessions, rng)
        scenario_ids = [rng.choice(SCENARIOS) for _ in calls]
        in_flight = asyncio.Semaphore(IN_FLIGHT)

        async def fired(call: Call, scenario_id: str) -> Call:
            async with in_flight:
                return await fire(apis, call, scenario_id)

        storm_began = time.monotonic()
        done = await asyncio.gather(
            *(fired(c, s) for c, s in zip(calls, scenario_ids, strict=True))
        )
        storm_s = time.monotonic() - storm_began

        stops_accepted = {
            c.session_id for c in done if c.session_id and c.action == "stop" and c.status == 200
        }
        answers = Counter((c.action, check_answer(c, stops_accepted)) for c in done)
        started = [c.body["session_id"] for c in done if c.action == "start"]
        assert len(started) == MAX_STARTS
        everyone = sessions + started
        lost = await lost_stops(store, stops_accepted, done)

        await stop_every_session(apis[0], everyone)
        await until(lambda: statuses(apis[1], everyone), lambda s: set(s.values()) <= TERMINAL)
    # The trainers are gone: every status, update and model they were writing is written.
    finals = [await check_session(apis[n % 2], s) for n, s in enumerate(everyone)]
    models = (await apis[0].get("/api/models")).json()
    assert sorted(m["id"] for m in models) == sorted(s["model_id"] for s in finals)
    print(
        f"\n{len(done)} calls in {storm_s:.2f}s (slowest {max(c.elapsed_s for c in done):.2f}s),"
        f" {len(everyone)} sessions stopped, {time.monotonic() - began:.1f}s in all;"
        f" answers: {dict(sorted(answers.items()))}; stops lost to a pause: {len(lost)}"
    )


# --- known defects, kept visible ---------------------------------------------------------------


async def test_a_409_after_a_stop_names_the_current_status(
    apis: list[httpx.AsyncClient], urls: dict[str, str], tmp_path: Path
) -> None:
    api = apis[0]
    session_id = await start(api, "customer_support", seed=1)
    assert (await api.post(f"/api/training/{session_id}/stop")).status_code == 200
    response = await api.post(f"/api/training/{session_id}/pause")
    assert response.status_code == 409, response.text
    current = (await status_of(api, session_id))["status"]
    assert current == "queued"  # no trainer took its stop yet
    named = NAMES_STATUS.search(response.json()["detail"])
    if named is None or named.group(1) != current:
        raise DetailNamesNoStatus(f"{response.json()['detail']!r} does not say {current!r}")


async def test_an_accepted_stop_is_not_lost_to_a_pause_in_progress(
    apis: list[httpx.AsyncClient],
    urls: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = apis[0]
    pausing = asyncio.Event()
    leave = Session._leave

    async def slow_pause(
        self: Session, run: Any, record: Any, status: SessionStatus, *args: Any
    ) -> Any:
        # Widen the window between the trainer deciding to pause and writing `paused` (the
        # storm hits it by chance: a checkpoint write and a compare-and-set take milliseconds).
        if status is SessionStatus.PAUSED:
            pausing.set()
            await asyncio.sleep(1.0)  # kept: the wider window is the point
        return await leave(self, run, record, status, *args)

    monkeypatch.setattr(Session, "_leave", slow_pause)
    async with worker(urls, tmp_path, "w1", slots=1) as running:
        session_id = await start(api, "customer_support", seed=1)
        await until(lambda: status_of(api, session_id), lambda s: s["current_episode"] > 0)
        assert (await api.post(f"/api/training/{session_id}/pause")).status_code == 200
        await asyncio.wait_for(pausing.wait(), SETTLE_S)
        stop = await api.post(f"/api/training/{session_id}/stop")
        assert stop.json() == {"status": "stopped"}  # accepted: the session is still running
        await until(
            lambda: status_of(api, session_id), lambda s: s["status"] in ("paused", "stopped")
        )
        await settled(running)  # a stop still on its way has ended it by now
        final = (await status_of(api, session_id))["status"]
    if final != "stopped":
        raise LostStop(f"the session is {final} after its stop was accepted")


async def test_a_worker_told_to_stop_while_it_fetches_a_command_returns(
    apis: list[httpx.AsyncClient], urls: dict[str, str], tmp_path: Path
) -> None:
    stop = asyncio.Event()
    session_id = None
    try:
        async with worker(urls, tmp_path, "w1", slots=1, stop=stop, stop_timeout=5):
            # Ready, it is waiting for a command: it fetches at once (one fetch waits up to 1 s).
            stop.set()
            session_id = await start(apis[0], "customer_support", seed=1)  # during that fetch
    except WorkerDidNotStop as kept:
        raise WorkerKeptTraining(
            f"told to stop 5 s ago, it still trains {kept.sessions} "
            f"(the session just started: {session_id})"
        ) from kept
