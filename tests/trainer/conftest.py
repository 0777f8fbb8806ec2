"""A real trainer system in the test: nats-server, SQLite, file artifacts, the API under
uvicorn, and workers started on demand (in this process, or as real processes)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from agentgym.config import ApiSettings, TrainerSettings
from functions.app import build
from functions.resources import Resources
from trainer.worker import Worker

from ..inprocess import running_worker
from ..servers import serve_asgi

T = TypeVar("T")

TRAINER_DEFAULTS: dict[str, Any] = {
    "checkpoint_every": 100,
    "eval_every": 100,
    "status_interval_s": 0.2,
    "update_interval_s": 0.05,
    "ack_wait_s": 3.0,
}


@pytest.fixture
async def api(urls: dict[str, str], tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The API under uvicorn (its own thread), and an async client: the test's event loop runs
    in-process workers too, and must never block on a request."""
    settings = ApiSettings(data_dir=tmp_path, **urls)
    with serve_asgi(build(Resources(settings))) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield client


WorkerFactory = Callable[..., AbstractAsyncContextManager[Worker]]


@pytest.fixture
def workers(urls: dict[str, str], tmp_path: Path) -> WorkerFactory:
    """Start in-process workers: `async with workers(worker_id="w1") as worker: ...` (ready on
    entry, stopped and awaited on exit; see tests/inprocess.py)."""

    def start(**overrides: Any) -> AbstractAsyncContextManager[Worker]:
        settings = TrainerSettings(data_dir=tmp_path, **urls, **(TRAINER_DEFAULTS | overrides))
        return running_worker(settings)

    return start


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
    api: httpx.AsyncClient,
    session_id: str,
    check: Callable[[dict[str, Any]], bool],
    timeout: float = 60,
) -> dict[str, Any]:
    """Poll the session's status (as the seed UI does) until `check` holds, or fail after
    `timeout` seconds with the last status seen."""
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = (await api.get(f"/api/training/{session_id}")).json()
        if check(status):
            return status
        assert time.monotonic() < deadline, f"timed out; last status: {status}"
        await asyncio.sleep(0.05)  # the API tells no one when a status changes: ask again


async def until(
    probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], what: str, timeout: float = 60
) -> T:
    """Poll `probe()` until `check` holds on what it returns, or fail after `timeout` seconds
    saying what it waited for and what it saw last."""
    deadline = time.monotonic() + timeout
    while not check(result := await probe()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}; last: {result}"
        await asyncio.sleep(0.05)  # what it looks at (the API, a store) announces no change
    return result
