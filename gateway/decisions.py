"""Every choice the gateway serves is a decision, and every call after it an outcome of one: data
for the next model. Written off the request path: `record` only appends to a buffer, which a
task flushes every `FLUSH_S` (or at `BATCH` items) to a sink. A gateway killed with `kill -9`
loses what its buffer held: at most the last `FLUSH_S` of decisions.

Sinks: the API (`POST /api/decisions`, with the gateway's `AGENTGYM_API_KEY`: the API puts them
on the tenant's JetStream subject) or a JSON Lines file (a gateway serving a bundle with no API).
A batch the sink refuses or cannot take is kept for the next flush (up to `KEEP` items, the
oldest dropped past it, with a warning): an API restart loses nothing.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any, Protocol

import anyio
import httpx

logger = logging.getLogger(__name__)

FLUSH_S = 1.0
BATCH = 500
KEEP = 100_000


def new_id(kind: str) -> str:
    """A decision's (`dec`), a call's (`call`) or an MCP session's (`ses`) id."""
    return f"{kind}_{uuid.uuid4().hex}"


class Sink(Protocol):
    async def write(self, items: list[dict[str, Any]]) -> None:
        """Take the items, or raise to have them kept for the next flush."""
        ...

    async def close(self) -> None: ...


class FileSink:
    def __init__(self, path: Path) -> None:
        self.path = path

    async def write(self, items: list[dict[str, Any]]) -> None:
        lines = "".join(json.dumps(item, separators=(",", ":")) + "\n" for item in items)
        await anyio.to_thread.run_sync(self._append, lines)

    def _append(self, lines: str) -> None:
        with self.path.open("a", encoding="utf-8") as file:
            file.write(lines)

    async def close(self) -> None:
        pass


class ApiSink:
    def __init__(self, api_url: str, api_key: str | None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.AsyncClient(base_url=api_url, headers=headers, timeout=10.0)

    async def write(self, items: list[dict[str, Any]]) -> None:
        response = await self.client.post("/api/decisions", json={"items": items})
        if response.status_code >= 500 or response.status_code in (401, 403, 429):
            response.raise_for_status()  # kept, to be sent again
        if response.is_error:  # refused as malformed: sending it again would not help
            logger.error("the API refused %d decisions: %s", len(items), response.text[:500])

    async def close(self) -> None:
        await self.client.aclose()


class Recorder:
    """The buffer between the request path and the sink."""

    def __init__(self, sink: Sink | None) -> None:
        self.sink = sink
        self.pending: deque[dict[str, Any]] = deque(maxlen=KEEP)
        self.written = 0
        self._due = anyio.Event()

    def record(self, item: dict[str, Any]) -> None:
        if self.sink is None:
            return
        if len(self.pending) == KEEP:
            logger.warning("decision buffer full: the oldest is dropped")
        self.pending.append(item | {"time": time.time()})
        if len(self.pending) >= BATCH:
            self._due.set()

    async def run(self) -> None:
        """Flush every FLUSH_S (sooner when a batch is full) until cancelled, then once more."""
        try:
            while True:
                with anyio.move_on_after(FLUSH_S):
                    await self._due.wait()
                self._due = anyio.Event()
                await self.flush()
        finally:
            with anyio.CancelScope(shield=True):
                await self.flush()
                if self.sink is not None:
                    await self.sink.close()

    async def flush(self) -> None:
        while self.pending and self.sink is not None:
            batch = [self.pending.popleft() for _ in range(min(BATCH, len(self.pending)))]
            try:
                await self.sink.write(batch)
            except Exception as exc:
                logger.warning("decisions not written (kept for the next flush): %s", exc)
                self.pending.extendleft(reversed(batch))
                return
            self.written += len(batch)
