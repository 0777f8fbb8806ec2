"""What the blocking client (sync.py, generated) does its own way: _async_io.py's twin."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from websockets.sync.client import ClientConnection

P = ParamSpec("P")
T = TypeVar("T")


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def off_loop(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`call(...)`, here: blocking is what this client does."""
    return call(*args, **kwargs)


def recv(connection: ClientConnection, timeout_s: float) -> str | bytes:
    """The next message; TimeoutError after `timeout_s` seconds."""
    return connection.recv(timeout=timeout_s)
