"""Many users steering many sessions at once, through two API instances and two trainers.

Two API apps (each its own `Resources`, each under its own uvicorn) share one SQLite store,
one nats-server and one artifact directory with two in-process trainer workers (4 slots each).
20 long sessions are started, then 200 start/pause/resume/stop calls fire at once from a
thread pool, alternating the two APIs. Afterwards every session is stopped and the records,
models and recorded updates must agree with what the trainers did, with no command lost.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentgym.config import ApiSettings, TrainerSettings
from agentgym.nats_server import NatsServer
from agentgym.state import Action, SessionStatus, accepts
from functions.app import build
from functions.resources import Resources
from trainer.worker import Worker

from ..servers import serve_asgi
from ..trainer.conftest import TRAINER_DEFAULTS

SEED = 20240611
SESSIONS = 20
CALLS = 200
MAX_STARTS = 4  # "start" calls among the 200: new sessions, a handful at most
THREADS = 32
WORKER_SLOTS = 4
MAX_EPISODES = 1_000_000  # never completes: sessions run until they are stopped
SETTLE_S = 30.0  # how long any session may take to reach the state it was asked for
START_BODY = {"framework": "LangChain", "learning_rate": 0.001, "max_episodes": MAX_EPISODES}
SCENARIOS = ("customer_support", "code_review", "data_analysis")
ANSWERS = {"pause": "paused", "resume": "resumed", "stop": "stopped"}
NAMES_STATUS = re.compile(r"a session that is (\w+)")
BEING_STOPPED = re.compile(r"^cannot (pause|resume) a session that is being stopped$")
TERMINAL = {SessionStatus.STOPPED.value, SessionStatus.COMPLETED.value}


# --- the system --------------------------------------------------------------------------------


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server of the test's own: workers share one consumer, tests must not."""
    with NatsServer(tmp_path / "nats") as server:
        yield server


@pytest.fixture
def urls(tmp_path: Path, nats: NatsServer) -> dict[str, str]:
    return {
        "nats_url": nats.url,
        "store_url": f"sqlite:///{tmp_path / 'agentgym.db'}",
        "artifacts_url": f"file://{tmp_path / 'artifacts'}",
    }


@pytest.fixture
def apis(urls: dict[str, str], tmp_path: Path) -> Iterator[list[httpx.Client]]:
    """Two API instances over the same store and NATS, each with its own clients."""
    with (
        serve_asgi(build(Resources(ApiSettings(data_dir=tmp_path, **urls)))) as first,
        serve_asgi(build(Resources(ApiSettings(data_dir=tmp_path, **urls)))) as second,
        httpx.Client(base_url=first, timeout=30) as one,
        httpx.Client(base_url=second, timeout=30) as two,
    ):
        yield [one, two]


@asynccontextmanager
async def worker(urls: dict[str, str], tmp_path: Path, worker_id: str) -> AsyncIterator[Worker]:
    """An in-process trainer (as tests/trainer/conftest.py starts them), stopped on exit."""
    settings = TrainerSettings(
        data_dir=tmp_path,
        worker_id=worker_id,
        concurrency=WORKER_SLOTS,
        **urls,
        **TRAINER_DEFAULTS,
    )
    running = Worker(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(running.run(stop))
    ready = asyncio.create_task(running.ready.wait())
    await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED, timeout=30)
    if not running.ready.is_set():
        ready.cancel()
        await task  # raises what stopped it
    try:
        yield running
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


# --- calls -------------------------------------------------------------------------------------


@dataclass
class Call:
    action: str  # start, pause, resume, stop
    session_id: str | None  # None for a start
    api: int  # which API instance
    status: int = 0
    body: Any = None
    elapsed_s: float = 0.0

    @property
    def target(self) -> str:
        return self.session_id or str(self.body.get("session_id"))


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


def fire(apis: list[httpx.Client], call: Call, scenario_id: str) -> Call:
    client = apis[call.api]
    began = time.monotonic()
    if call.action == "start":
        response = client.post(
            "/api/training/start", json=START_BODY | {"scenario_id": scenario_id}
        )
    else:
        response = client.post(f"/api/training/{call.session_id}/{call.action}")
    call.elapsed_s = time.monotonic() - began
    call.status = response.status_code
    call.body = response.json()
    return call


def start(api: httpx.Client, scenario_id: str, seed: int) -> str:
    response = api.post(
        "/api/training/start", json=START_BODY | {"scenario_id": scenario_id, "seed": seed}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["session_id"])


def status_of(api: httpx.Client, session_id: str) -> dict[str, Any]:
    response = api.get(f"/api/training/{session_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def until(
    check: Callable[[], bool], timeout: float, what: Callable[[], str], interval: float = 0.1
) -> None:
    """Poll `check` (without blocking the trainers for long) until it holds, or fail."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout}s: {what()}"
        await asyncio.sleep(interval)


def statuses(api: httpx.Client, session_ids: list[str]) -> dict[str, str]:
    listed = {s["session_id"]: s["status"] for s in api.get("/api/training").json()}
    return {session_id: listed[session_id] for session_id in session_ids}


async def stop_every_session(api: httpx.Client, session_ids: list[str]) -> None:
    """Stop each session that is not over, retrying while a 409 says it is between states."""
    deadline = time.monotonic() + SETTLE_S
    pending = list(session_ids)
    while pending:
        for session_id in list(pending):
            if status_of(api, session_id)["status"] in TERMINAL:
                pending.remove(session_id)
                continue
            response = api.post(f"/api/training/{session_id}/stop")
            assert response.status_code in (200, 409), response.text
            if response.status_code == 200:
                pending.remove(session_id)
        assert time.monotonic() < deadline, f"could not stop {pending}"
        await asyncio.sleep(0.1)


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
    if BEING_STOPPED.match(detail):
        # Known defect (test_a_409_after_a_stop_names_the_current_status): the detail does
        # not name the status. It is only right when a stop of that session was accepted.
        assert call.session_id in stops_accepted, f"{call}: no stop of it was accepted"
        return "being stopped"
    named = NAMES_STATUS.search(detail)
    assert named and named.group(1) in set(SessionStatus), f"{call}: names no status"
    current = SessionStatus(named.group(1))
    assert not accepts(current, Action(call.action)), f"{call}: {current} allows {call.action}"
    return "conflict"


def check_session(api: httpx.Client, session_id: str) -> dict[str, Any]:
    """The stored record agrees with the model and the updates its trainer produced."""
    status = status_of(api, session_id)
    assert status["status"] == SessionStatus.STOPPED, status  # none reaches 1,000,000 episodes
    assert status["model_id"], f"{session_id}: stopped without a model: {status}"
    model = api.get(f"/api/models/{status['model_id']}")
    assert model.status_code == 200, f"{session_id}: its model is missing: {model.text}"
    assert model.json()["episodes"] == status["current_episode"], (model.json(), status)
    updates = api.get(f"/api/training/{session_id}/metrics").json()
    seqs = [u["seq"] for u in updates]
    assert seqs == list(range(1, len(seqs) + 1)), f"{session_id}: holes or repeats in {seqs}"
    episodes = [u["data"]["current_episode"] for u in updates]
    assert episodes == sorted(episodes), f"{session_id}: training went back: {episodes}"
    last = updates[-1]["data"]
    assert last["status"] == status["status"], (last, status)
    assert last["current_episode"] == status["current_episode"], (last, status)
    return status


# --- the test ----------------------------------------------------------------------------------


async def test_concurrent_control_through_two_apis_and_two_trainers(
    apis: list[httpx.Client], urls: dict[str, str], tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    began = time.monotonic()
    async with AsyncExitStack() as trainers:
        for worker_id in ("w1", "w2"):
            await trainers.enter_async_context(worker(urls, tmp_path, worker_id))
        sessions = [
            start(apis[n % 2], SCENARIOS[n % len(SCENARIOS)], seed=n) for n in range(SESSIONS)
        ]
        # Both trainers' slots fill before the storm; the rest wait in the queue.
        slots = 2 * WORKER_SLOTS
        await until(
            lambda: Counter(statuses(apis[0], sessions).values())["running"] == slots,
            SETTLE_S,
            lambda: str(Counter(statuses(apis[0], sessions).values())),
        )

        calls = plan(sessions, rng)
        scenario_ids = iter(rng.choice(SCENARIOS) for _ in range(CALLS))
        with ThreadPoolExecutor(THREADS) as pool:
            futures = [pool.submit(fire, apis, call, next(scenario_ids)) for call in calls]
            done = await asyncio.to_thread(lambda: [f.result() for f in futures])
        storm_s = time.monotonic() - began

        stops_accepted = {c.session_id for c in done if c.action == "stop" and c.status == 200}
        answers = Counter((c.action, check_answer(c, stops_accepted)) for c in done)
        started = [c.body["session_id"] for c in done if c.action == "start"]
        assert len(started) == MAX_STARTS
        everyone = sessions + started

        # An accepted stop is carried out with no retry: none is lost in a race.
        await until(
            lambda: all(
                statuses(apis[1], sorted(stops_accepted))[s] in TERMINAL for s in stops_accepted
            ),
            SETTLE_S,
            lambda: str(statuses(apis[1], sorted(stops_accepted))),
        )

        await stop_every_session(apis[0], everyone)
        await until(
            lambda: set(statuses(apis[1], everyone).values()) <= TERMINAL,
            SETTLE_S,
            lambda: str(Counter(statuses(apis[1], everyone).values())),
        )
    # The trainers are gone: every status, update and model they were writing is written.
    finals = [check_session(apis[n % 2], s) for n, s in enumerate(everyone)]
    models = apis[0].get("/api/models").json()
    assert sorted(m["id"] for m in models) == sorted(s["model_id"] for s in finals)
    slowest = max(c.elapsed_s for c in done)
    print(
        f"\n{len(done)} calls, storm done at {storm_s:.1f}s, slowest call {slowest:.2f}s, "
        f"total {time.monotonic() - began:.1f}s; answers: {dict(answers)}"
    )
