"""Real servers for tests, each on a free port: uvicorn for an ASGI app, moto for AWS.

(nats-server comes from `agentgym.nats_server`, the same code `agentgym up` uses.)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close


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
    """A moto server (DynamoDB, S3, ...) over real HTTP; yields its endpoint URL.

    Requests are handled one at a time. moto's backends do not lock, so two conditional
    writes handled at once could both pass their condition, which real DynamoDB never
    allows; serializing them gives moto the per-item atomicity the service has.
    """
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    one_at_a_time = threading.Lock()

    def serialized(environ: Any, start_response: Any) -> Any:
        with one_at_a_time:
            return list(app(environ, start_response))

    server = make_server(
        "127.0.0.1", 0, serialized, threaded=True, request_handler=MotoRequestHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()


async def closed_with(url: str, **kwargs: Any) -> Close:
    """The close frame a WebSocket server sends a client that only listens."""
    async with connect(url, **kwargs) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None, closed.value
    return closed.value.rcvd
