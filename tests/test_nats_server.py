"""The embedded nats-server: from the wheel, on the port asked for or a free one, and the
`agentgym nats` command that runs it alone."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from agentgym import nats_client
from agentgym.nats_server import NatsServer, find_binary, free_port


def test_binary_comes_from_the_installed_wheel() -> None:
    assert find_binary().parent == Path(sys.executable).parent


async def test_a_taken_port_falls_back_to_a_free_one(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        with NatsServer(tmp_path, port=busy) as server:
            assert server.port != busy
            client = await nats_client.connect(server.url, "test")
            assert client.is_connected
            await (client.jetstream()).account_info()  # JetStream is on
            await client.close()
        with pytest.raises(OSError, match="taken"):
            NatsServer(tmp_path, port=busy, fallback=False).start()


async def test_jetstream_data_survives_a_restart(tmp_path: Path) -> None:
    port = free_port()
    for attempt in range(2):
        with NatsServer(tmp_path, port=port) as server:
            client = await nats_client.connect(server.url, "test")
            js = client.jetstream()
            if attempt == 0:
                kv = await js.create_key_value(bucket="survives")
                await kv.put("k", b"kept")
            else:
                kv = await js.key_value("survives")
                assert (await kv.get("k")).value == b"kept"
            await client.close()


def test_agentgym_nats_runs_until_sigterm(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "agentgym.cli", "nats", "--data-dir", str(tmp_path),
         "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its nats-server with it: killed together, if it comes to that
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        # The port asked for (or, taken meanwhile by another process, a free one it says).
        found = re.search(r"nats://127\.0\.0\.1:(\d+)", line)
        assert found is not None, line
        with socket.create_connection(("127.0.0.1", int(found[1])), timeout=5) as conn:
            assert conn.recv(4).startswith(b"INFO")
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert (tmp_path / "nats" / "jetstream").is_dir()
    finally:
        # The group: a nats-server left behind would hold the pipe open, and communicate()
        # would wait on it for ever.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        try:
            process.communicate(timeout=10)
        finally:  # closed whatever happens: a pipe left to the collector fails a later test
            assert process.stdout is not None
            process.stdout.close()


def test_a_cluster_is_named_by_a_comma_separated_list() -> None:
    from agentgym.nats_client import server_urls

    assert server_urls("nats://a:4222, nats://user:pw@b:4222/ignored") == [
        "nats://a:4222",
        "nats://user:pw@b:4222",
    ]
