"""Real servers for tests, each on a free port: uvicorn for an ASGI app, moto for AWS.

(nats-server comes from `agentgym.nats_server`, the same code `agentgym up` uses.)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from agentgym.nats_server import free_port


@contextmanager
def serve_asgi(app: Any, host: str = "127.0.0.1", timeout: float = 10.0) -> Iterator[str]:
    """Run `app` under uvicorn on a free port in a background thread; yield its base URL."""
    config = uvicorn.Config(app, host=host, port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    try:
        deadline = threading.Event()
        for _ in range(int(timeout / 0.01)):
            if server.started or not thread.is_alive():
                break
            deadline.wait(0.01)
        if not server.started:
            raise RuntimeError("uvicorn did not start")
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server (DynamoDB, S3, ...) over real HTTP; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
