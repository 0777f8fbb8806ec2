"""What the MCP gateway costs an agent: `call_tool` through it against calling the upstream
directly with the same client, `search_tools` on requests never seen before, throughput with
concurrent clients, and decision logging on against off.

    .venv/bin/python -m tests.benchmarks.gateway_overhead [--calls 1000] [--searches 300]

Everything runs as deployed, each in its own process on this machine: the upstream (the SDK's
`MCPServer` with customer_support's tools, tests/gateway/upstream.py, over streamable HTTP),
`agentgym gateway` in front of it (a customer_support model trained here for 1,000 episodes,
with the sentence encoder where installed, as `make install` sets it up), and the client (the
SDK's `Client`, handshake protocol, one session per concurrent client). Requests searched are
customer_support's held-out ones, which the model never trained on.

Targets (the issue's): at most 5 ms added to `call_tool` at p50; `search_tools` p50 at most
10 ms. It prints its figures and never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

UPSTREAM = [sys.executable, "-m", "tests.gateway.upstream", "http"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(url: str, ready: Callable[[httpx.Response], bool]) -> None:
    for _ in range(600):
        try:
            if ready(httpx.get(url, timeout=1)):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} never became ready")


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {1000 * p50:6.2f} ms, p99 {1000 * p99:6.2f} ms"


async def timed(call: Callable[[], Awaitable[object]], count: int) -> list[float]:
    for _ in range(20):  # warm
        await call()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


def session(url: str) -> tuple[httpx2.AsyncClient, Client]:
    http = httpx2.AsyncClient()
    return http, Client(streamable_http_client(url, http_client=http), mode="legacy", cache=None)


async def throughput(url: str, clients: int, seconds: float, direct: bool = False) -> float:
    """call_tool calls a second with `clients` sessions calling at once: through the gateway,
    or (`direct`) to the upstream itself."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def one() -> None:
        nonlocal done
        http, opened = session(url)
        async with http, opened as mcp:
            while time.perf_counter() < deadline:
                if direct:
                    await mcp.call_tool("refund", {})
                else:
                    await mcp.call_tool("call_tool", {"name": "refund", "arguments": {}})
                done += 1

    await asyncio.gather(*(one() for _ in range(clients)))
    return done / seconds


async def measure(direct: str, through: str, texts: list[str], calls: int) -> None:
    arguments = {"order_id": "A1"}
    measured: dict[str, list[float]] = {}
    for label, url, call in (
        ("direct", direct, lambda mcp: mcp.call_tool("refund", arguments)),
        ("gateway", through, lambda mcp: mcp.call_tool("call_tool", {"name": "refund", "arguments": arguments})),
    ):  # fmt: skip
        http, opened = session(url)
        async with http, opened as mcp:
            samples = await timed(lambda mcp=mcp, call=call: call(mcp), calls)
        print(f"  call_tool {label:8s} {percentiles(samples)}", flush=True)
        measured[label] = samples
    added = statistics.median(measured["gateway"]) - statistics.median(measured["direct"])
    print(f"  added at p50: {1000 * added:.2f} ms (target <= 5)")
    http, opened = session(through)
    async with http, opened as mcp:
        searched: list[float] = []
        for text in texts:  # each once: never seen before
            started = time.perf_counter()
            await mcp.call_tool("search_tools", {"query": text})
            searched.append(time.perf_counter() - started)
    print(f"  search_tools (new requests) {percentiles(searched[20:])} (target p50 <= 10)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    from agentgym.contracts import Framework
    from trainer import scenarios
    from trainer.run import Run
    from trainer.training.loop import train

    spec = scenarios.get("customer_support")
    run = Run(spec, 0.001, seed=0, max_episodes=1000)
    train(run)
    print(f"model: customer_support, 1,000 episodes, encoder {run.encoder_name}")
    _, heldout = spec.split()
    texts = [task.text for task in heldout][: args.searches]
    with tempfile.TemporaryDirectory() as scratch:
        bundle = Path(scratch) / "model.agm"
        bundle.write_bytes(run.bundle(Framework.LANGCHAIN)[1])
        upstream_port = free_port()
        upstream = subprocess.Popen([*UPSTREAM, str(upstream_port)])
        direct = f"http://127.0.0.1:{upstream_port}/mcp"
        try:
            wait_until(direct, lambda r: r.status_code < 500)
            for logging_to in ("file", "off"):
                port = free_port()
                decisions = (
                    str(Path(scratch) / "decisions.jsonl") if logging_to == "file" else "off"
                )
                gateway = subprocess.Popen(
                    [sys.executable, "-m", "agentgym.cli", "gateway", "--model", str(bundle),
                     "--upstream", f"team={direct}", "--port", str(port), "--decisions", decisions]
                )  # fmt: skip
                through = f"http://127.0.0.1:{port}/mcp"
                try:
                    wait_until(
                        f"http://127.0.0.1:{port}/healthz",
                        lambda r: r.json()["upstreams"]["team"],
                    )
                    print(f"decision logging: {logging_to}")
                    asyncio.run(measure(direct, through, texts, args.calls))
                    for clients in (1, 8, 32):
                        rate = asyncio.run(throughput(through, clients, args.seconds))
                        alone = asyncio.run(throughput(direct, clients, args.seconds, direct=True))
                        print(f"  throughput, {clients:2d} clients: {rate:7.0f} call_tool/s "
                              f"(the upstream directly: {alone:.0f}/s)")  # fmt: skip
                finally:
                    gateway.terminate()
                    gateway.wait(10)
        finally:
            upstream.terminate()
            upstream.wait(10)


if __name__ == "__main__":
    main()
