"""The whole system as real processes, started exactly as `agentgym up` starts it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agentgym.nats_server import free_port, port_is_free

READY_LINE = "AgentGym is up"


@dataclass
class System:
    """`agentgym up` running in a data dir; `start()` again after `stop()` restarts it."""

    data_dir: Path
    api_port: int
    streamer_port: int
    process: subprocess.Popen[str] | None = None
    reader: threading.Thread | None = None
    log: list[str] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.streamer_port}"

    def start(self, timeout: float = 90) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agentgym.cli", "up", "--data-dir", str(self.data_dir),
             "--api-port", str(self.api_port), "--streamer-port", str(self.streamer_port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        )  # fmt: skip
        ready = threading.Event()

        def read() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self.log.append(line)
                if READY_LINE in line:
                    ready.set()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        if not ready.wait(timeout):
            self.stop()
            raise AssertionError("agentgym up did not come up:\n" + "".join(self.log[-40:]))

    def stop(self) -> int:
        """Stop it as Ctrl-C would; returns its exit code."""
        assert self.process is not None and self.process.stdout is not None
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            if self.reader is not None:
                self.reader.join(10)
            self.process.stdout.close()

    def leftovers(self) -> list[str]:
        """Processes still running that belong to this system (by their data dir)."""
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                environ = Path(f"/proc/{pid}/environ").read_bytes()
            except OSError:
                continue
            if str(self.data_dir).encode() in environ or str(self.data_dir) in cmdline:
                found.append(f"{pid}: {cmdline}")
        return found


@pytest.fixture
def system(tmp_path: Path) -> Iterator[System]:
    # The seed README's examples name port 8000: use it when it is free, as a user would.
    api_port = 8000 if port_is_free("127.0.0.1", 8000) else free_port()
    streamer_port = 8001 if port_is_free("127.0.0.1", 8001) else free_port()
    system = System(tmp_path / "agentgym-data", api_port, streamer_port)
    system.start()
    yield system
    if system.process is not None and system.process.poll() is None:
        system.stop()
