"""`POST /api/models/{id}/act` through the API to a warm trainer, against the same decision
made in-process from the bundle.

    .venv/bin/python -m tests.benchmarks.act_latency [--requests 2000] [--concurrency 1 50]

`agentgym up` runs in a temporary data dir (its own nats-server, trainer, streamer and API on
free ports), as a user runs it. A customer_support model is trained here (2,000 episodes,
words alone), imported through the API, and warmed (the trainer loads its bundle on the first
call). Then each concurrency level sends `--requests` act requests (held-out requests, some
after a first call), from that many asyncio callers over keep-alive connections (a minimal
HTTP/1.1 client: httpx would cost more CPU than the API on this small machine): the
latency of each, p50 and p99, and the throughput the trainer gave. The in-process figure is
`Run.act` on the same bundle, over the same requests: what the service path adds is the
difference. Prints; never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bodies(run: Any) -> list[dict[str, Any]]:
    """Held-out requests, fresh and after the first tool of their solution."""
    made: list[dict[str, Any]] = []
    for task in run.heldout:
        made.append({"text": task.text})
        made.append({"text": task.text, "calls": [{"tool": task.solution[0]}]})
    return made


class Poster:
    """One keep-alive HTTP/1.1 connection posting JSON, written by hand: httpx spends more CPU
    per request than the API does (as status_throughput found), so on a small machine it
    would measure itself."""

    def __init__(self, url: str, path: str) -> None:
        parts = urlsplit(url)
        self.address = parts.hostname or "127.0.0.1", parts.port or 80
        self.head = f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n" + (
            "Content-Type: application/json\r\nContent-Length: "
        )
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, body: bytes) -> int:
        if self.streams is None:
            self.streams = await asyncio.open_connection(*self.address)
        reader, writer = self.streams
        writer.write(f"{self.head}{len(body)}\r\n\r\n".encode() + body)
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
        await reader.readexactly(length)
        return int(head.split(" ", 2)[1])

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()


async def load(url: str, model_id: str, requests: list[dict[str, Any]], callers: int) -> Any:
    latencies: list[float] = []
    queue = [json.dumps(body).encode() for body in reversed(requests)]

    async def caller() -> None:
        poster = Poster(url, f"/api/models/{model_id}/act")
        try:
            while queue:
                body = queue.pop()
                started = time.perf_counter()
                status = await poster.post(body)
                latencies.append(time.perf_counter() - started)
                assert status == 200, status
        finally:
            poster.close()

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return latencies, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 50])
    args = parser.parse_args()
    os.environ.setdefault("AGENTGYM_ENCODER", "off")

    import httpx

    from agentgym.contracts import Framework
    from agentgym.nats_server import free_port
    from tests.e2e.conftest import System
    from trainer import scenarios
    from trainer.run import Run
    from trainer.training.loop import train

    run = Run(scenarios.get("customer_support"), 0.05, seed=0, max_episodes=2000, encoder=None)
    train(run)
    data = run.bundle(Framework.LANGCHAIN)[1]
    loaded, _ = Run.from_bundle(data)
    requests = (bodies(run) * (args.requests // (2 * len(run.heldout)) + 1))[: args.requests]

    with tempfile.TemporaryDirectory() as root:
        system = System(Path(root) / "data", free_port(), free_port())
        system.start()
        try:
            imported = httpx.post(
                f"{system.api}/api/models/import", content=data,
                headers={"Content-Type": "application/zip"}, timeout=30,
            ).json()  # fmt: skip
            model_id = imported["id"]
            asyncio.run(load(system.api, model_id, requests[:50], 1))  # warm: bundle loaded
            print(f"{len(requests)} act requests per level, customer_support, one trainer")
            for callers in args.concurrency:
                latencies, seconds = asyncio.run(load(system.api, model_id, requests, callers))
                print(
                    f"  API, {callers:3d} concurrent: p50 {1000 * percentile(latencies, 0.5):6.2f} ms"
                    f"  p99 {1000 * percentile(latencies, 0.99):6.2f} ms"
                    f"  {len(latencies) / seconds:7.0f} requests/s"
                )
        finally:
            system.stop()

    times = []
    for body in requests:
        calls = [(c["tool"], True) for c in body.get("calls", [])]
        started = time.perf_counter()
        loaded.act(body["text"], calls)
        times.append(time.perf_counter() - started)
    print(
        f"  in-process Run.act: p50 {1000 * percentile(times, 0.5):6.3f} ms"
        f"  p99 {1000 * percentile(times, 0.99):6.3f} ms"
        f"  mean {1000 * statistics.mean(times):.3f} ms ({len(times) / sum(times):,.0f}/s)"
    )


if __name__ == "__main__":
    main()
