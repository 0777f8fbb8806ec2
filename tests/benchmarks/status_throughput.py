"""Throughput of `GET /api/training/{id}` over each store, measured in one run.

    .venv/bin/python tests/benchmarks/status_throughput.py [--seconds 5] [--warmup 1]
        [--concurrency 16] [--loaders 1] [--client raw|httpx] [--rounds 1]

The combined app (`functions.app.build`) runs under uvicorn (one worker, in a thread of this
process) three times: over `memory://`, over SQLite and over a NATS KV bucket on a nats-server
this script starts. Each time one session record is written straight into the app's store,
then a load generator in a separate process (keep-alive connections, `--concurrency` requests
in flight) reads it for `--seconds` after a `--warmup`. The default client is a minimal
HTTP/1.1 one: httpx.AsyncClient (`--client httpx`) costs more CPU per request than the
server, so on a small machine it measures itself rather than the stores. Every response must
be 200. Prints requests/s per store and each ratio to memory against the target (>= 0.75,
within 25%), and SQLite's against the original project's app (FastAPI serving the status from
a dict through a pydantic response model; target >= 1.0), taking turns with `--rounds`. It
reports; it never fails on a slow machine.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script, sys.path[0] is tests/benchmarks
    sys.path.insert(0, str(ROOT))

TARGET_RATIO = 0.75
TARGET_ORIGINAL = 1.0  # SQLite against the original project's in-memory dict
SESSION_ID = "session_bench0123456789abcdef"


# --- the load generator (a separate process) --------------------------------------------------


class RawClient:
    """One keep-alive HTTP/1.1 connection, written by hand: httpx spends more CPU per request
    than the server does, so on a small machine it would measure itself, not the server."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.request = (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Accept: application/json\r\nUser-Agent: agentgym-bench\r\n\r\n"
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self) -> str:
        """The status code of one GET, as text."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)[1]
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
            elif name.strip().lower() == "transfer-encoding":
                raise RuntimeError("chunked responses are not expected here")
        if length is None:
            raise RuntimeError("a response without Content-Length")
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


class HttpxClient:
    def __init__(self, url: str, client: Any) -> None:
        self.url, self.client = url, client

    async def get(self) -> str:
        return str((await self.client.get(self.url)).status_code)

    async def close(self) -> None:
        pass


async def _load(
    url: str, kind: str, concurrency: int, warmup: float, seconds: float, events: Any
) -> None:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as shared:
        counting = False
        ok = 0
        bad: dict[str, int] = {}

        async def worker() -> None:
            nonlocal ok
            client = RawClient(url) if kind == "raw" else HttpxClient(url, shared)
            try:
                while not stop.is_set():
                    try:
                        outcome = await client.get()
                    except (OSError, asyncio.IncompleteReadError, httpx.HTTPError) as exc:
                        outcome = type(exc).__name__
                        await client.close()
                        client = RawClient(url) if kind == "raw" else client
                    if counting:
                        if outcome == "200":
                            ok += 1
                        else:
                            bad[outcome] = bad.get(outcome, 0) + 1
            finally:
                await client.close()

        stop = asyncio.Event()
        tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
        await asyncio.sleep(warmup)
        counting = True
        started = time.perf_counter()
        events.put(("measuring", os.getpid()))
        await asyncio.sleep(seconds)
        counting = False
        elapsed = time.perf_counter() - started
        stop.set()
        await asyncio.gather(*tasks)
    events.put(("done", ok, bad, elapsed))


def load_generator(
    url: str, kind: str, concurrency: int, warmup: float, seconds: float, events: Any
) -> None:
    asyncio.run(_load(url, kind, concurrency, warmup, seconds, events))


# --- the server (a thread of this process) ----------------------------------------------------


ORIGINAL = "original://"


def original_app(status: dict[str, Any]) -> Any:
    """What the original project ran: FastAPI serving the status from a dict in memory through
    a pydantic response model (its `api/main.py` kept every session in a dict)."""
    from fastapi import FastAPI, HTTPException

    from agentgym.contracts import TrainingStatus

    app = FastAPI()
    sessions = {SESSION_ID: status}

    @app.get("/api/training/{session_id}", response_model=TrainingStatus)
    async def get_session(session_id: str) -> dict[str, Any]:
        if session_id not in sessions:
            raise HTTPException(404, "Training session not found")
        return sessions[session_id]

    return app


@contextmanager
def serve(store_url: str, nats_url: str, data_dir: Path) -> Iterator[str]:
    """uvicorn over the combined app on a free port, with one session in the app's store;
    `original://` serves the original project's way instead (`original_app`)."""
    import uvicorn

    from agentgym.config import ApiSettings
    from agentgym.contracts import Framework
    from agentgym.records import Keys, SessionRecord
    from agentgym.state import SessionStatus
    from functions.app import build
    from functions.resources import Resources

    settings = ApiSettings(
        data_dir=data_dir,
        store_url=store_url,
        nats_url=nats_url,
        artifacts_url=f"file://{data_dir / 'artifacts'}",
    )
    resources = Resources(settings)
    record = SessionRecord(
        session_id=SESSION_ID,
        scenario_id="customer_support",
        framework=Framework.LANGCHAIN,
        status=SessionStatus.RUNNING,
        current_episode=120,
        max_episodes=200,
        accuracy=61.0,
        avg_reward=0.58,
        loss=0.41,
        learning_rate=0.001,
        seed=7,
    )
    original = store_url == ORIGINAL
    app = original_app(record.status_view().model_dump()) if original else build(resources)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    async def main() -> None:
        if not original:  # the app's own store, on the server's loop (memory:// lives there)
            store = await resources.store()
            await store.put(Keys().session(SESSION_ID), record.dump())  # each round anew
        await server.serve()

    def run() -> None:
        try:
            with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
                runner.run(main())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="uvicorn-bench", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if failure or not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start over {store_url}: {failure}")
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)


@dataclass
class Result:
    store: str
    requests: int
    errors: dict[str, int]
    seconds: float
    server_cpu: float  # this process's CPU time over the window, per wall second

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def measure(name: str, url: str, args: argparse.Namespace) -> Result:
    spawn = multiprocessing.get_context("spawn")
    events = spawn.Queue()
    per_loader = max(1, args.concurrency // args.loaders)
    target = f"{url}/api/training/{SESSION_ID}"
    loaders = [
        spawn.Process(
            target=load_generator,
            args=(target, args.client, per_loader, args.warmup, args.seconds, events),
            daemon=True,
        )
        for _ in range(args.loaders)
    ]
    for loader in loaders:
        loader.start()
    cpu_start = wall_start = 0.0
    requests, seconds = 0, 0.0
    errors: dict[str, int] = {}
    done = 0
    while done < len(loaders):
        message = events.get(timeout=args.warmup + args.seconds + 60)
        if message[0] == "measuring":
            if not wall_start:  # the first loader to start counting opens the window
                cpu_start, wall_start = time.process_time(), time.perf_counter()
            continue
        if done == 0:  # the first loader to finish closes it
            cpu = time.process_time() - cpu_start
            wall = time.perf_counter() - wall_start
        _, ok, bad, elapsed = message
        requests += ok
        seconds = max(seconds, elapsed)
        for outcome, count in bad.items():
            errors[outcome] = errors.get(outcome, 0) + count
        done += 1
    for loader in loaders:
        loader.join(10)
    return Result(name, requests, errors, seconds, cpu / wall if wall else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time per store")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured time first")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--loaders", type=int, default=1, help="load generator processes")
    parser.add_argument("--rounds", type=int, default=1, help="alternating turns per server")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="raw: a minimal keep-alive HTTP/1.1 client; httpx: httpx.AsyncClient (heavier)",
    )
    args = parser.parse_args()

    from agentgym.nats_server import NatsServer

    results: list[Result] = []
    with (
        tempfile.TemporaryDirectory(prefix="agentgym-throughput-") as tmp,
        NatsServer(Path(tmp) / "nats") as nats,
    ):
        data = Path(tmp) / "data"
        stores = {
            "memory": "memory://",
            "sqlite": f"sqlite:///{data / 'agentgym.db'}",
            "nats": f"{nats.url}/bench",
            "original": ORIGINAL,
        }
        print(
            f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; GET /api/training/{{id}}, "
            f"{args.concurrency} in flight from {args.loaders} {args.client} client process(es), "
            f"{args.warmup:g}s warm-up + {args.seconds:g}s each, {args.rounds} round(s) of "
            "alternating turns (each server's best turn counts)"
        )
        for round_ in range(args.rounds):
            for name, store_url in stores.items():
                with serve(store_url, nats.url, data) as url:
                    result = measure(name, url, args)
                results.append(result)
                status = "all 200" if not result.errors else f"NOT ALL 200: {result.errors}"
                print(
                    f"  {round_ + 1}: {name:<8} {result.rps:8.0f} req/s  ({result.requests} "
                    f"requests, {status}; server process CPU {result.server_cpu:.0%})"
                )

    best: dict[str, float] = {}
    for result in results:
        best[result.store] = max(best.get(result.store, 0.0), result.rps)
    memory = best["memory"]
    for name in ("sqlite", "nats"):
        ratio = best[name] / memory if memory else 0.0
        verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
        print(f"  {name}/memory = {ratio:.2f}: {verdict} the target (>= {TARGET_RATIO})")
    ratio = best["sqlite"] / best["original"] if best["original"] else 0.0
    verdict = "meets" if ratio >= TARGET_ORIGINAL else "MISSES"
    print(f"  sqlite/original = {ratio:.2f}: {verdict} the target (>= {TARGET_ORIGINAL})")
    if any(r.errors for r in results):
        print("  some responses were not 200: the numbers above are not comparable")


if __name__ == "__main__":
    main()
