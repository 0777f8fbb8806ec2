"""Bundle bombs against a real API and trainer: refused at once, in bounded memory, while
the API keeps answering /healthz."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from agentgym.nats_server import NatsServer

from . import bombs
from .conftest import (
    HEALTHZ_BOUND_S,
    MEMORY_BOUND_MB,
    Services,
    healthz_watched,
    reset_peak,
    rss_mb,
)

BUNDLE = {"Content-Type": "application/zip"}


def import_under_watch(api_url: str, pid: int, data: bytes) -> httpx.Response:
    """Import `data`, asserting the API's peak memory and /healthz stay within their bounds."""
    idle = reset_peak(pid)
    with healthz_watched(api_url) as latencies:
        time.sleep(0.1)  # kept: /healthz samples before the import, as a baseline
        response = httpx.post(
            f"{api_url}/api/models/import", content=data, headers=BUNDLE, timeout=60
        )
        time.sleep(0.1)  # kept: and after it
    grew = rss_mb(pid, "VmHWM") - idle
    assert grew < MEMORY_BOUND_MB, f"the API's peak memory grew {grew:.0f} MB"
    assert latencies and max(latencies) < HEALTHZ_BOUND_S, f"/healthz took {max(latencies):.3f} s"
    return response


def test_a_bundle_whose_zip_index_lies_is_refused_without_inflating_it(
    services: Services, nats: NatsServer
) -> None:
    api = services.api(nats.url)
    bomb = bombs.lying_bundle()  # ~1 MB that claims 0.5 MB and inflates to 1 GiB
    response = import_under_watch(api.http, api.process.pid, bomb)
    assert response.status_code == 400, response.text
    assert "weights.bin" in response.json()["detail"]
    assert httpx.get(f"{api.http}/api/models").json() == []


def test_weights_that_inflate_to_a_gigabyte_are_refused_at_import(
    services: Services, nats: NatsServer
) -> None:
    api = services.api(nats.url)
    bomb = bombs.bundle_of(bombs.weights_bomb(n_tools=3))  # well formed, 1 GiB inside
    response = import_under_watch(api.http, api.process.pid, bomb)
    assert response.status_code == 400, response.text
    assert "w_pi.npy" in response.json()["detail"] and "shape" in response.json()["detail"]
    assert httpx.get(f"{api.http}/api/models").json() == []
    assert not list((services.tmp_path / "artifacts").rglob("*.agm"))


async def test_a_trainer_asked_to_evaluate_a_bomb_answers_at_once_in_bounded_memory(
    services: Services, nats: NatsServer, tmp_path: Path
) -> None:
    """A bomb already in the store (imported before imports were checked) reaches a trainer."""
    api = services.api(nats.url)
    trainer = services.trainer(nats.url)
    await bombs.plant(services.tmp_path, bombs.bundle_of(bombs.weights_bomb(n_tools=3)))
    idle = reset_peak(trainer.process.pid)
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=api.http, timeout=60) as client:
        response = await client.post("/api/models/model_bomb/evaluate")
    took = time.monotonic() - started
    assert response.status_code == 422, response.text
    assert "shape" in response.json()["detail"]
    assert took < 5, f"the evaluate took {took:.1f} s to be answered"
    grew = rss_mb(trainer.process.pid, "VmHWM") - idle
    assert grew < MEMORY_BOUND_MB, f"the trainer's peak memory grew {grew:.0f} MB"
    assert trainer.alive()
