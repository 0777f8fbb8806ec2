"""A real trainer system in the test: nats-server, SQLite, file artifacts, the API under
uvicorn, and workers started on demand (in this process, or as real processes)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentgym.config import ApiSettings, TrainerSettings
from functions.app import build
from functions.resources import Resources
from trainer.worker import Worker

from ..servers import serve_asgi

TRAINER_DEFAULTS: dict[str, Any] = {
    "checkpoint_every": 100,
    "eval_every": 100,
    "status_interval_s": 0.2,
    "update_interval_s": 0.05,
    "ack_wait_s": 3.0,
}


@pytest.fixture
def api(urls: dict[str, str], tmp_path: Path) -> Iterator[httpx.Client]:
    settings = ApiSettings(data_dir=tmp_path, **urls)
    with (
        serve_asgi(build(Resources(settings))) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield client


WorkerFactory = Callable[..., Any]


@pytest.fixture
async def workers(urls: dict[str, str], tmp_path: Path) -> AsyncIterator[WorkerFactory]:
    """Start in-process workers: `async with workers(worker_id="w1") as worker: ...`."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Worker]:
        settings = TrainerSettings(data_dir=tmp_path, **urls, **(TRAINER_DEFAULTS | overrides))
        worker = Worker(settings)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        ready = asyncio.create_task(worker.ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED, timeout=30)
        if not worker.ready.is_set():
            ready.cancel()
            await task  # raises what stopped it
        try:
            yield worker
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)

    yield start


def trainer_process(
    urls: dict[str, str], worker_id: str, **overrides: Any
) -> subprocess.Popen[bytes]:
    """`agentgym trainer` as a real process."""
    env = os.environ | {
        f"AGENTGYM_{k.upper()}": str(v) for k, v in (urls | TRAINER_DEFAULTS | overrides).items()
    }
    env["AGENTGYM_WORKER_ID"] = worker_id
    return subprocess.Popen(
        [sys.executable, "-m", "agentgym.cli", "trainer", "--concurrency", "1"], env=env
    )


async def wait_for(
    api: httpx.Client, session_id: str, check: Callable[[dict[str, Any]], bool], timeout: float = 60
) -> dict[str, Any]:
    """Poll the session's status (as the seed UI does) until `check` holds."""
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = api.get(f"/api/training/{session_id}").json()
        if check(status):
            return status
        assert time.monotonic() < deadline, f"timed out; last status: {status}"
        await asyncio.sleep(0.05)
