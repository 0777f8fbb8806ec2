"""Services run in the test's own event loop: a trainer `Worker` and a `Streamer`, started and
stopped the one way every test and benchmark does it.

A test that shares its loop with one of these must not block that loop: it talks HTTP with
`httpx.AsyncClient` (awaiting every call), or off the loop with `asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from agentgym import subjects
from agentgym.config import StreamerSettings, TrainerSettings
from streamer.app import Streamer
from trainer.worker import Worker

READY_TIMEOUT_S = 60.0  # a worker warms its slots (a process slot imports the training code)
STOP_TIMEOUT_S = 30.0
SETTLE_POLL_S = 0.01


class WorkerDidNotStop(AssertionError):
    """A worker that did not return within `timeout_s` of its stop; `sessions` it still held
    (they were handed back, so that the test ends instead of hanging)."""

    def __init__(self, worker_id: str, timeout_s: float, sessions: list[str]) -> None:
        super().__init__(
            f"worker {worker_id} did not return within {timeout_s:g} s of its stop; "
            f"it still held {sessions}"
        )
        self.worker_id = worker_id
        self.timeout_s = timeout_s
        self.sessions = sessions


async def start_worker(
    worker: Worker, stop: asyncio.Event, timeout: float = READY_TIMEOUT_S
) -> asyncio.Task[None]:
    """Run `worker` until `stop` is set; return its task once the worker is ready. A worker
    that dies first raises what stopped it here."""
    task = asyncio.create_task(worker.run(stop), name=f"worker-{worker.worker_id}")
    ready = asyncio.create_task(worker.ready.wait())
    try:
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED, timeout=timeout)
    finally:
        ready.cancel()
    if worker.ready.is_set():
        return task
    if task.done():
        task.result()  # raises what stopped it
        raise AssertionError(f"worker {worker.worker_id} returned before it was ready")
    stop.set()
    await stop_worker(worker, stop, task)
    raise TimeoutError(f"worker {worker.worker_id} was not ready within {timeout:g} s")


async def stop_worker(
    worker: Worker, stop: asyncio.Event, task: asyncio.Task[None], timeout: float = STOP_TIMEOUT_S
) -> None:
    """Set `stop` and wait for the worker to return, raising what it raised. One that does
    not return in `timeout` has what it still holds handed back, then fails the test with
    `WorkerDidNotStop`."""
    stop.set()
    await asyncio.wait({task}, timeout=timeout)
    if not task.done():
        held = list(worker.sessions)
        for session in list(worker.sessions.values()):
            session.shutdown()
        await asyncio.wait_for(task, STOP_TIMEOUT_S)
        raise WorkerDidNotStop(worker.worker_id, timeout, held)
    task.result()


@asynccontextmanager
async def running_worker(
    settings: TrainerSettings,
    stop: asyncio.Event | None = None,
    stop_timeout: float = STOP_TIMEOUT_S,
) -> AsyncIterator[Worker]:
    """`async with running_worker(settings) as worker:` an in-process trainer, ready; stopped
    (and awaited) on the way out. Pass `stop` to stop it earlier yourself."""
    worker = Worker(settings)
    if stop is None:
        stop = asyncio.Event()
    task = await start_worker(worker, stop)
    try:
        yield worker
    finally:
        await stop_worker(worker, stop, task, stop_timeout)


async def settled(worker: Worker, timeout: float = STOP_TIMEOUT_S) -> None:
    """Until the worker holds no session and no command waits on the queue (none queued,
    none delivered and not yet acknowledged): everything sent to it so far is done. For a
    worker alone on the queue."""
    deadline = time.monotonic() + timeout
    while True:
        await asyncio.wait_for(worker.idle.wait(), max(deadline - time.monotonic(), 0))
        info = await worker.js.consumer_info(subjects.CMD_STREAM, subjects.CMD_CONSUMER)
        if info.num_pending == 0 and info.num_ack_pending == 0 and worker.idle.is_set():
            return
        assert time.monotonic() < deadline, f"not settled within {timeout:g} s: {info}"
        # An ack on its way to the server, or a command it is about to fetch: the server
        # says nothing when either lands, so look again shortly.
        await asyncio.sleep(SETTLE_POLL_S)


@asynccontextmanager
async def running_streamer(
    settings: StreamerSettings, host: str = "127.0.0.1", timeout: float = 10.0
) -> AsyncIterator[tuple[str, Streamer]]:
    """`async with running_streamer(settings) as (url, streamer):` an in-process streamer
    listening at `url` (ws://host:port); stopped and awaited on the way out."""
    streamer = Streamer(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(streamer.serve(host, 0, stop), name="streamer")
    try:
        deadline = time.monotonic() + timeout
        # `Streamer.serve` sets `server` once it listens, and exposes no event for it.
        while streamer.server is None:
            if task.done():
                task.result()  # raises what stopped it
                raise AssertionError("the streamer returned before it listened")
            assert time.monotonic() < deadline, f"the streamer did not listen in {timeout:g} s"
            await asyncio.sleep(0.01)
        port = streamer.server.sockets[0].getsockname()[1]
        yield f"ws://{host}:{port}", streamer
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout)
