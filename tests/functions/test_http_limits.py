"""`agentgym api` as a process: slow or oversized requests are cut off, and keys stay out of the log.

One real `agentgym api` per module (with one-second timeouts, so the tests are quick), its
own nats-server and SQLite, and a tiny WebSocket echo server standing in for the streamer
behind the API's `/ws/*` relay. Requests are written on raw sockets: the point is what a
misbehaving client can do, which well-behaved HTTP clients never attempt.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect
from websockets.sync.server import ServerConnection, serve

from agentgym.nats_server import free_port

TIMEOUT_S = 1  # every timeout of the server under test
HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"


@dataclass
class Api:
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while text not in (log := self.log()):
            assert time.monotonic() < deadline, f"{text!r} not in the log:\n{log}"
            time.sleep(0.05)  # another process's log file: read it again
        return log


@pytest.fixture(scope="module")
def echo_streamer() -> Iterator[str]:
    """A WebSocket server that echoes every message: the relay's upstream."""

    def echo(connection: ServerConnection) -> None:
        for message in connection:
            connection.send(message)

    with serve(echo, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, name="echo", daemon=True)
        thread.start()
        yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
        server.shutdown()
        thread.join(5)


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory, nats_server_for_module: str, echo_streamer: str
) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp("api")
    port = free_port()
    env = os.environ | {
        "AGENTGYM_STORE_URL": f"sqlite:///{tmp / 'a.db'}",
        "AGENTGYM_ARTIFACTS_URL": f"file://{tmp / 'art'}",
        "AGENTGYM_NATS_URL": nats_server_for_module,
        "AGENTGYM_STREAMER_URL": echo_streamer,
        "AGENTGYM_HTTP_HEADER_TIMEOUT_S": str(TIMEOUT_S),
        "AGENTGYM_HTTP_BODY_TIMEOUT_S": str(TIMEOUT_S),
        "AGENTGYM_HTTP_KEEP_ALIVE_TIMEOUT_S": str(TIMEOUT_S),
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp / "api.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "agentgym.cli", "api", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.ConnectError:
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "agentgym api did not start"
                time.sleep(0.1)  # another process: asking it is the only way to know
        yield Api(port, log_path)
    finally:
        process.terminate()
        assert process.wait(timeout=10) in (0, -15)


def _open(api: Api) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", api.port))
    sock.settimeout(5 * TIMEOUT_S)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (or the socket's timeout passes)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        pass
    return received


def _read_responses(sock: socket.socket, count: int) -> list[bytes]:
    """`count` complete responses (heads and `Content-Length` bodies) from a kept-alive socket."""
    received, responses = b"", []
    while len(responses) < count:
        head, blank, rest = received.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n")[1:]
             if line.lower().startswith(b"content-length:")),
            0,
        )  # fmt: skip
        if blank and len(rest) >= length:
            responses.append(head + blank + rest[:length])
            received = rest[length:]
            continue
        chunk = sock.recv(65536)
        assert chunk, f"closed after {responses!r} and {received!r}"
        received += chunk
    return responses


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0


def test_a_100_kb_request_head_in_one_piece_is_431(api: Api) -> None:
    with _open(api) as sock:
        sock.sendall(HEAD + b"X-Big: " + b"a" * 100_000 + b"\r\n\r\n")
        response = _read_until_closed(sock)
    assert _status(response) == 431, response[:200]


def test_a_request_head_over_the_limit_in_pieces_is_431(api: Api) -> None:
    with _open(api) as sock:
        sock.sendall(HEAD)
        sock.settimeout(0.02)
        response = b""
        for _ in range(20):  # 20 x 1 KiB, each in its own write, until the server answers
            sock.sendall(b"X-Part: " + b"a" * 1016 + b"\r\n")
            try:
                response = sock.recv(65536)
                break
            except TimeoutError:
                continue
    assert _status(response) == 431, response[:200]


def test_heads_under_the_limit_are_served_pipelined_and_kept_alive(api: Api) -> None:
    request = HEAD + b"X-Big: " + b"a" * 8_000 + b"\r\n\r\n"
    with _open(api) as sock:
        sock.sendall(request * 2)  # two requests in one write (pipelining)
        assert [_status(r) for r in _read_responses(sock, 2)] == [200, 200]
        sock.sendall(request)  # and a third on the kept-alive connection
        assert [_status(r) for r in _read_responses(sock, 1)] == [200]


def test_a_slowloris_head_is_408_after_the_header_timeout(api: Api) -> None:
    with _open(api) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        sock.settimeout(0.2)
        start = time.monotonic()
        response = b""
        while not response and time.monotonic() - start < 5 * TIMEOUT_S:
            try:
                sock.sendall(b"a")  # one header byte at a time, never finishing
                response = sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionError:
                break
        held = time.monotonic() - start
    assert _status(response) == 408, response[:200]
    assert held < 3 * TIMEOUT_S


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(api: Api) -> None:
    with _open(api) as sock:
        start = time.monotonic()
        assert _read_until_closed(sock) == b""
        held = time.monotonic() - start
    assert 0.5 * TIMEOUT_S < held < 3 * TIMEOUT_S


def test_a_kept_alive_connection_is_closed_after_the_keep_alive_timeout(api: Api) -> None:
    with _open(api) as sock:
        sock.sendall(HEAD + b"\r\n")
        assert [_status(r) for r in _read_responses(sock, 1)] == [200]
        start = time.monotonic()
        assert _read_until_closed(sock) == b""
        held = time.monotonic() - start
    assert held < 3 * TIMEOUT_S


def test_a_stalled_request_body_is_408_after_the_body_timeout(api: Api) -> None:
    with _open(api) as sock:
        sock.sendall(
            b"POST /api/training/start HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            b'{"scenario_id": '  # ... and the rest never comes
        )
        start = time.monotonic()
        response = _read_until_closed(sock)
        held = time.monotonic() - start
    assert _status(response) == 408, response[:200]
    assert held < 3 * TIMEOUT_S


def test_a_websocket_through_the_relay_outlives_the_timeouts(api: Api) -> None:
    with connect(f"ws://127.0.0.1:{api.port}/ws/training", open_timeout=5) as ws:
        ws.send("first")
        assert ws.recv(timeout=5) == "first"
        time.sleep(2.5 * TIMEOUT_S)  # past the header, body and keep-alive timeouts
        ws.send("second")
        assert ws.recv(timeout=5) == "second"


def test_a_websocket_handshake_with_a_10000_character_path_is_answered_at_once(api: Api) -> None:
    started = time.monotonic()
    with _open(api) as sock:
        sock.sendall(
            f"GET /ws/training/{'s' * 10_000} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".encode()
        )
        response = _read_until_closed(sock)
    assert _status(response) == 414, response[:200]
    assert time.monotonic() - started < TIMEOUT_S


def test_keys_in_the_query_are_redacted_in_the_log(api: Api) -> None:
    assert httpx.get(f"{api.url}/api/scenarios?token=agk_secret123").status_code == 200
    assert httpx.get(f"{api.url}/api/scenarios?x=1&API_KEY=agk_secret456").status_code == 200
    with connect(f"ws://127.0.0.1:{api.port}/ws/training?access_token=agk_secret789") as ws:
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
    log = api.wait_for_log('"WebSocket /ws/training?access_token=[redacted]" [accepted]')
    assert '"GET /api/scenarios?token=[redacted] HTTP/1.1" 200' in log
    assert '"GET /api/scenarios?x=1&API_KEY=[redacted] HTTP/1.1" 200' in log
    assert "agk_secret" not in log
