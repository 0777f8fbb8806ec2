"""Fault tests: the services as real processes (`agentgym api|trainer|streamer`) over a
nats-server of the test's own, with the faults done to them for real (kill -9, a NATS restart,
a store that goes away). Every process a test starts is ended at teardown: terminate, then
kill after a timeout; none is left behind."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from agentgym.nats_server import NatsServer, free_port

T = TypeVar("T")

# Small intervals, so a fault test sees checkpoints, status writes and redeliveries quickly.
FAST = {
    "ENCODER": "off",  # words alone, as the rest of the suite (tests/conftest.py)
    "CHECKPOINT_EVERY": "200",
    "STATUS_INTERVAL_S": "0.2",
    "ACK_WAIT_S": "3",
}
STOP_TIMEOUT_S = 15.0
START_TIMEOUT_S = 30.0


@dataclass
class Service:
    """One `python -m agentgym.cli ...` process, its output in a log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    port: int | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT_S)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """Terminate (SIGTERM: the clean way out), then kill if it does not go in time."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Services:
    """Starts services as real processes; `close()` ends every one of them."""

    tmp_path: Path
    started: list[Service] = field(default_factory=list)

    def env(self, nats_url: str, store_url: str | None = None, **extra: str) -> dict[str, str]:
        # Only this test's settings: nothing AGENTGYM_* leaks in from the outer environment.
        base = {k: v for k, v in os.environ.items() if not k.startswith("AGENTGYM_")}
        ours = {
            "DATA_DIR": str(self.tmp_path / "data"),
            "NATS_URL": nats_url,
            "STORE_URL": store_url or f"sqlite:///{self.tmp_path / 'agentgym.db'}",
            "ARTIFACTS_URL": f"file://{self.tmp_path / 'artifacts'}",
        }
        return base | {f"AGENTGYM_{k}": v for k, v in (ours | FAST | extra).items()}

    def start(
        self, name: str, args: list[str], env: dict[str, str], port: int | None = None
    ) -> Service:
        logs = self.tmp_path / "logs"
        logs.mkdir(exist_ok=True)
        log_path = logs / f"{name}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "agentgym.cli", *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        service = Service(name, process, log_path, port)
        self.started.append(service)
        return service

    def api(self, nats_url: str, store_url: str | None = None) -> Service:
        port = free_port()
        service = self.start(
            "api",
            ["api", "--port", str(port), "--log-level", "warning"],
            self.env(nats_url, store_url),
            port,
        )
        wait_http(service, "/healthz")
        return service

    def streamer(self, nats_url: str, name: str = "streamer") -> Service:
        port = free_port()
        service = self.start(name, ["streamer", "--port", str(port)], self.env(nats_url), port)
        wait_http(service, "/healthz")
        return service

    def trainer(
        self, nats_url: str, name: str = "trainer", store_url: str | None = None, **extra: str
    ) -> Service:
        """A trainer, once it says it is ready (its slots warm, its subscriptions made)."""
        env = self.env(nats_url, store_url, WORKER_ID=name, **extra)
        service = self.start(name, ["trainer"], env)
        wait_log(service, f"trainer {name} ready")
        return service

    def close(self) -> list[str]:
        """End every process; returns those that had died on their own, with their code."""
        for service in self.started:
            if service.process.poll() is None:
                service.process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for service in self.started:
            try:
                service.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait()
        return [f"{s.name}: exit {s.process.returncode}" for s in self.started]

    def dump_logs(self) -> None:
        for service in self.started:
            print(f"----- {service.name} (pid {service.process.pid}) -----")
            print(service.log_tail())


def wait_http(service: Service, path: str, timeout: float = START_TIMEOUT_S) -> None:
    """Wait until a freshly started service answers 200 on `path`."""
    deadline = time.monotonic() + timeout
    while True:
        if not service.alive():
            raise AssertionError(f"{service.name} exited at start:\n{service.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(service.http + path, timeout=2).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"{service.name} did not answer {path}:\n{service.log_tail()}")
        time.sleep(0.1)  # another process: asking it is the only way to know


def wait_log(service: Service, text: str, timeout: float = START_TIMEOUT_S) -> None:
    """Wait until a freshly started service's log says `text`."""
    deadline = time.monotonic() + timeout
    while text not in service.log_path.read_text(errors="replace"):
        if not service.alive():
            raise AssertionError(f"{service.name} exited at start:\n{service.log_tail()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{service.name} did not say {text!r}:\n{service.log_tail()}")
        time.sleep(0.1)  # another process: its log is how it says so


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    started = Services(tmp_path)
    try:
        yield started
    finally:
        started.close()
        started.dump_logs()  # shown by pytest only when the test failed
        assert all(s.process.poll() is not None for s in started.started)


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    """The bus: a nats-server of the test's own (a restart keeps its port and data)."""
    server = NatsServer(tmp_path / "nats")
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def eventually(
    probe: Callable[[], Awaitable[T]],
    check: Callable[[T], bool],
    timeout: float,
    what: str,
    interval: float = 0.1,
) -> T:
    """Poll `probe()` until `check` holds on its result; fails after `timeout` seconds saying
    what it waited for and what it saw last (an exception counts as "not yet")."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            result = await probe()
            if check(result):
                return result
            last = result
        except (httpx.HTTPError, ValueError) as exc:
            last = exc
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}: {last}"
        await asyncio.sleep(interval)  # other processes: asking is the only way to know


class Watcher:
    """A browser on `/ws/training/<id>`: collects every frame until it is closed."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.frames: list[dict[str, Any]] = []
        self.closed: str | None = None  # how it closed, once it has
        self.ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()

    async def __aenter__(self) -> Watcher:
        self.ws = await connect(self.url, open_timeout=10)
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.ws is not None and self._task is not None
        await self.ws.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._task, 5)

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for message in self.ws:
                self.frames.append(json.loads(message))
                self._arrived.set()
        except ConnectionClosed:
            pass
        finally:
            self.closed = f"code {self.ws.close_code}, reason {self.ws.close_reason!r}"
            self._arrived.set()

    @property
    def is_open(self) -> bool:
        return self._task is not None and not self._task.done()

    def updates(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == "training_update"]

    def seqs(self) -> list[int]:
        return [int(f["seq"]) for f in self.updates()]

    async def wait_until(
        self, check: Callable[[list[dict[str, Any]]], bool], timeout: float, what: str
    ) -> None:
        deadline = time.monotonic() + timeout
        while not check(self.frames):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out waiting for {what}; {len(self.frames)} frames"
            assert self.is_open, f"the WebSocket closed while waiting for {what}: {self.closed}"
            self._arrived.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 0.5))

    async def wait_closed(self, timeout: float) -> None:
        assert self._task is not None
        await asyncio.wait_for(asyncio.shield(self._task), timeout)
