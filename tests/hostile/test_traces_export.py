"""A large OTLP export against a real API process: read off the event loop, in bounded memory,
while /healthz keeps answering (issue 28's bad input)."""

from __future__ import annotations

import time

import httpx

from agentgym.nats_server import NatsServer
from tests.benchmarks.otlp_ingest import big_export

from .conftest import (
    HEALTHZ_BOUND_S,
    MEMORY_BOUND_MB,
    Services,
    healthz_watched,
    reset_peak,
    rss_mb,
)


def test_a_large_export_is_read_while_healthz_answers_in_bounded_memory(
    services: Services, nats: NatsServer
) -> None:
    api = services.api(nats.url)
    body = big_export(24)  # under the default 32 MiB limit: read whole, thousands of traces
    idle = reset_peak(api.process.pid)
    with healthz_watched(api.http) as latencies:
        time.sleep(0.1)  # kept: /healthz samples before the export, as a baseline
        answer = httpx.post(f"{api.http}/v1/traces", content=body, timeout=120,
                            headers={"Content-Type": "application/x-protobuf"})  # fmt: skip
        time.sleep(0.1)  # kept: and after it
    assert answer.status_code == 200, answer.text
    grew = rss_mb(api.process.pid, "VmHWM") - idle
    assert grew < MEMORY_BOUND_MB, f"the API's peak memory grew {grew:.0f} MB"
    assert latencies and max(latencies) < HEALTHZ_BOUND_S, f"/healthz took {max(latencies):.3f} s"
    counts = httpx.get(f"{api.http}/api/scenarios/bench-big/traces").json()
    assert counts["spans"] > 10_000
