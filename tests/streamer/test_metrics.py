"""`/metrics`: Prometheus' text format, read back with prometheus_client's own parser."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from streamer.metrics import CONTENT_TYPE, Metrics

from .conftest import StreamerFactory, Trainer

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> tuple[dict[str, str], Samples]:
    """Each family's type by name, and each sample's value by name and labels."""
    families = list(text_string_to_metric_families(text))
    types = {family.name: family.type for family in families}
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in families
        for sample in family.samples
    }
    return types, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(f"agentgym_streamer_{name}", frozenset(labels.items()))]


async def test_health_and_prometheus_metrics(streamers: StreamerFactory, trainer: Trainer) -> None:
    async with streamers() as (url, _):
        http = url.replace("ws://", "http://")
        async with connect(f"{url}/ws/training/{trainer.session_id}") as ws:
            await ws.recv()
            async with httpx.AsyncClient() as client:
                assert (await client.get(f"{http}/healthz")).text == "ok\n"
                response = await client.get(f"{http}/metrics")
                assert (await client.get(f"{http}/nothing")).status_code == 404
    assert (
        response.headers["Content-Type"]
        == CONTENT_TYPE
        == ("text/plain; version=0.0.4; charset=utf-8")
    )
    types, samples = parse(response.text)
    assert value(samples, "connections") == 1 and value(samples, "sessions_watched") == 1
    assert types["agentgym_streamer_connections"] == "gauge"
    for counter in ("messages_in", "messages_out", "drops", "slow_disconnects", "gap_fills"):
        # The names dashboards and the benchmarks read: `_total` counters, as before.
        assert types[f"agentgym_streamer_{counter}"] == "counter"
        assert value(samples, f"{counter}_total") >= 0
    assert value(samples, "messages_out_total") == 1  # the snapshot
    assert "# TYPE agentgym_streamer_messages_out_total counter" in response.text


async def test_each_update_fanned_out_and_each_catch_up_is_timed_once(
    streamers: StreamerFactory, trainer: Trainer
) -> None:
    await trainer.publish(2)  # history, replayed on connect
    async with streamers() as (url, streamer):
        sockets = [await connect(f"{url}/ws/training/{trainer.session_id}") for _ in range(3)]
        dashboard = await connect(f"{url}/ws/training")
        for ws in sockets:
            assert len([await ws.recv() for _ in range(3)]) == 3  # snapshot and history
        await dashboard.recv()
        await trainer.publish(4)
        for ws in sockets:
            assert len([await ws.recv() for _ in range(4)]) == 4
        types, samples = parse(streamer.metrics.render())
        for ws in [*sockets, dashboard]:
            await ws.close()
    assert types["agentgym_streamer_fan_out_seconds"] == "histogram"
    # Once per update however many watch it, not once per browser.
    assert value(samples, "fan_out_seconds_count") == 4
    assert value(samples, "fan_out_seconds_bucket", le="+Inf") == 4
    assert 0 < value(samples, "fan_out_seconds_sum") < 4
    assert value(samples, "catch_up_seconds_count", feed="session") == 3
    assert value(samples, "catch_up_seconds_count", feed="dashboard") == 1
    assert value(samples, "messages_out_total") == 3 * (1 + 2 + 4) + 1


def test_two_streamers_in_one_process_count_apart() -> None:
    first, second = Metrics(), Metrics()  # the default registry would refuse the second
    first.drops += 2
    first.fan_out_seconds.observe(0.001)
    _, samples = parse(second.render())
    assert value(samples, "drops_total") == 0 and value(samples, "fan_out_seconds_count") == 0
    _, samples = parse(first.render())
    assert value(samples, "drops_total") == 2 and value(samples, "fan_out_seconds_count") == 1
