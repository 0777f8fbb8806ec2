"""Scenario uploads against a real API process: a YAML bomb is refused at once in bounded
memory, and the largest upload allowed is parsed off the event loop, so /healthz keeps
answering meanwhile."""

from __future__ import annotations

import json
import time

import httpx

from agentgym import catalog
from agentgym.nats_server import NatsServer
from tests.benchmarks.scenario_scale import generate

from .conftest import (
    HEALTHZ_BOUND_S,
    MEMORY_BOUND_MB,
    Services,
    healthz_watched,
    reset_peak,
    rss_mb,
)

BILLION_LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
    + ["tools: *i", "tasks: *i"]
)


def upload_under_watch(api_url: str, body: bytes, media_type: str) -> tuple[httpx.Response, float]:
    """POST a scenario; the response, and the slowest /healthz meanwhile."""
    with healthz_watched(api_url) as latencies:
        time.sleep(0.1)  # kept: /healthz samples before the upload, as a baseline
        response = httpx.post(
            f"{api_url}/api/scenarios", content=body, headers={"Content-Type": media_type},
            timeout=120,
        )  # fmt: skip
        time.sleep(0.1)  # kept: and after it
    assert latencies
    return response, max(latencies)


def test_a_yaml_bomb_is_refused_at_once_in_bounded_memory(
    services: Services, nats: NatsServer
) -> None:
    api = services.api(nats.url)
    idle = reset_peak(api.process.pid)
    started = time.monotonic()
    response, slowest = upload_under_watch(api.http, BILLION_LAUGHS.encode(), "application/yaml")
    took = time.monotonic() - started
    assert response.status_code in (400, 422), response.text
    assert "alias" in response.json()["detail"]
    grew = rss_mb(api.process.pid, "VmHWM") - idle
    assert grew < MEMORY_BOUND_MB and took < 5 and slowest < HEALTHZ_BOUND_S
    listed = httpx.get(f"{api.http}/api/scenarios").json()
    assert [s["id"] for s in listed] == list(catalog.BUILTIN_IDS)  # nothing stored


def test_the_largest_upload_is_parsed_while_healthz_keeps_answering(
    services: Services, nats: NatsServer
) -> None:
    api = services.api(nats.url)
    body = json.dumps(generate(1000, 100_000, 10), separators=(",", ":")).encode()
    assert len(body) < 32 * 1024 * 1024  # under AGENTGYM_MAX_SCENARIO_BYTES
    response, slowest = upload_under_watch(api.http, body, "application/json")
    assert response.status_code == 201, response.text[:500]
    assert response.json()["counts"]["tasks"] == 100_000
    assert slowest < HEALTHZ_BOUND_S, f"/healthz took {slowest:.3f} s during the upload"
