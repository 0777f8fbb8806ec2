"""Traces in: GenAI spans per second through `POST /v1/traces`, sent by the real OpenTelemetry
SDK and its OTLP/HTTP exporter, and the API's peak memory while a large export is read.

    .venv/bin/python tests/benchmarks/otlp_ingest.py [--episodes 2000] [--export-mb 100]

An `agentgym api` of its own (SQLite, a temporary data directory) in a subprocess. Each
episode is an agent's turn as a GenAI instrumentation records it: a root span, a chat span with
its messages and tool definitions, and three `execute_tool` spans (5 spans). They are made as
fast as the SDK makes them and sent by its BatchSpanProcessor (batches of 512, as exporters
ship); printed: spans per second from the first span to the last batch answered, and the same
for the episode's pieces in the store (a snapshot's count). Then one export of `--export-mb`
megabytes of spans (the body limit raised to take it), sent as protobuf and timed, with the
API's peak resident memory (VmHWM) before and after, and the bound a body is read under.
It never fails.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
TOOLS = [
    {"type": "function", "name": f"tool_{i}", "description": f"Does thing {i}"} for i in range(12)
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def start_api(data: Path, limit: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = os.environ | {
        "AGENTGYM_DATA_DIR": str(data),
        "AGENTGYM_STORE_URL": f"sqlite:///{data / 'agentgym.db'}",
        "AGENTGYM_ARTIFACTS_URL": f"file://{data / 'artifacts'}",
        "AGENTGYM_MAX_OTLP_BYTES": str(limit),
        "AGENTGYM_TRACE_IDLE_S": "0",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentgym.cli",
            "api",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError("the API did not start")


def spans_per_second(url: str, episodes: int) -> tuple[float, int]:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"agentgym.scenario": "bench-agent"}))
    processor = BatchSpanProcessor(OTLPSpanExporter(f"{url}/v1/traces"), max_queue_size=100_000)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("bench")
    started = time.perf_counter()
    for n in range(episodes):
        with tracer.start_as_current_span("invoke_agent"):
            with tracer.start_as_current_span("chat") as chat:
                chat.set_attribute("gen_ai.operation.name", "chat")
                messages = [{"role": "user", "parts": [{"type": "text", "content": f"order {n}"}]}]
                chat.set_attribute("gen_ai.input.messages", json.dumps(messages))
                chat.set_attribute("gen_ai.tool.definitions", json.dumps(TOOLS))
            for k in range(3):
                with tracer.start_as_current_span("execute_tool") as span:
                    span.set_attribute("gen_ai.operation.name", "execute_tool")
                    span.set_attribute("gen_ai.tool.name", f"tool_{(n + k) % 12}")
    provider.force_flush(timeout_millis=600_000)
    seconds = time.perf_counter() - started
    provider.shutdown()
    return 5 * episodes / seconds, 5 * episodes


def big_export(megabytes: int) -> bytes:
    """An export of about `megabytes` MB of GenAI spans, encoded as the exporter encodes."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"agentgym.scenario": "bench-big"}))
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = provider.get_tracer("bench")
    messages = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "x" * 2000}]}])

    def turn() -> None:
        with (
            tracer.start_as_current_span("invoke_agent"),
            tracer.start_as_current_span("chat") as chat,
        ):
            chat.set_attribute("gen_ai.operation.name", "chat")
            chat.set_attribute("gen_ai.input.messages", messages)

    for _ in range(100):
        turn()
    each = len(encode_spans(spans.get_finished_spans()).SerializeToString()) / 100
    for _ in range(int(megabytes * 1e6 / each) - 100):
        turn()
    return bytes(encode_spans(spans.get_finished_spans()).SerializeToString())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--export-mb", type=int, default=100)
    args = parser.parse_args()
    limit = (args.export_mb + 16) * 1_000_000
    with tempfile.TemporaryDirectory() as data:
        process, url = start_api(Path(data), limit)
        try:
            rate, sent = spans_per_second(url, args.episodes)
            counts = httpx.get(f"{url}/api/scenarios/bench-agent/traces", timeout=60).json()
            made = httpx.post(f"{url}/api/scenarios/bench-agent/snapshot", timeout=600).json()
            print(
                f"{sent:,} spans ({args.episodes:,} episodes) through POST /v1/traces by the SDK's "
                f"BatchSpanProcessor: {rate:,.0f} spans/s; the receiver read {counts['spans']:,}; "
                f"a snapshot took {made['logs_added']:,} episodes"
            )
            body = big_export(args.export_mb)
            before = peak_kb(process.pid)
            started = time.perf_counter()
            answer = httpx.post(f"{url}/v1/traces", content=body, timeout=600,
                                headers={"Content-Type": "application/x-protobuf"})  # fmt: skip
            seconds = time.perf_counter() - started
            after = peak_kb(process.pid)
            print(
                f"one export of {len(body) / 1e6:.0f} MB: {answer.status_code} in {seconds:.1f} s; "
                f"API peak memory {before / 1024:.0f} MB before, {after / 1024:.0f} MB after "
                f"(+{(after - before) / 1024:.0f} MB, {(after - before) * 1024 / len(body):.1f}x the "
                f"body); a body is refused past AGENTGYM_MAX_OTLP_BYTES ({limit / 1e6:.0f} MB here, "
                "32 MiB by default)"
            )
        finally:
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    main()
