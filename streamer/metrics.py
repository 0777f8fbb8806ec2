"""The streamer's metrics, served at `/metrics` by `prometheus_client` in Prometheus' text format.

Counts are plain `int` attributes that the hot path bumps (`metrics.messages_out += 1`), and
`prometheus_client` reads them only when scraped, through this object as a custom collector:
a `prometheus_client.Counter.inc()` takes a lock, about 20 times the cost of an `int` add,
and `messages_out` moves once per browser per frame (1,000 browsers on one update). Latencies
are `prometheus_client` histograms, observed once per update or once per connection, never
per browser per frame. Each `Metrics` has a registry of its own, not the process-wide
default, so two streamers in one process (tests, benchmarks) do not collide.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

PREFIX = "agentgym_streamer_"
# What `generate_latest` writes with its default (underscore) escaping is the 0.0.4 text
# format: prometheus_client's own handlers label it so when the scraper does not ask for more.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# One update to 1,000 browsers takes about a millisecond; a gap fill reads JetStream.
FAN_OUT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
# A snapshot (a store read) and the history after `since` (a JetStream read).
CATCH_UP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
FEEDS = ("session", "dashboard")  # the catch-up histogram's `feed` label: which route


def _tally(kind: str, help_text: str) -> Any:
    """An exported count: `kind` is "gauge" or "counter" (exported with a `_total` suffix)."""
    return field(default=0, metadata={"kind": kind, "help": help_text})


@dataclass(eq=False)  # registered as a collector: hashed by identity
class Metrics:
    connections: int = _tally("gauge", "Browsers connected now.")
    sessions_watched: int = _tally("gauge", "Sessions with a NATS subscription now.")
    messages_in: int = _tally("counter", "Messages received from NATS.")
    messages_out: int = _tally("counter", "Frames sent to browsers.")
    drops: int = _tally("counter", "Updates conflated away for slow browsers.")
    slow_disconnects: int = _tally("counter", "Browsers closed for staying behind.")
    gap_fills: int = _tally("counter", "Times missed updates were read back from JetStream.")
    registry: CollectorRegistry = field(init=False, repr=False)
    fan_out_seconds: Histogram = field(init=False, repr=False)
    catch_up_seconds: Histogram = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(self)
        self.fan_out_seconds = Histogram(
            f"{PREFIX}fan_out_seconds",
            "From a NATS message's callback to its frame written or queued for every watcher "
            "(a gap fill it set off included).",
            buckets=FAN_OUT_BUCKETS,
            registry=self.registry,
        )
        self.catch_up_seconds = Histogram(
            f"{PREFIX}catch_up_seconds",
            "From a browser's WebSocket being let in (authenticated, under its tenant's limit) "
            "to it going live: the snapshot read and sent, for a session its history too.",
            ["feed"],
            buckets=CATCH_UP_BUCKETS,
            registry=self.registry,
        )
        for feed in FEEDS:  # exported at zero before the first connection of each
            self.catch_up_seconds.labels(feed)

    def collect(self) -> Iterator[Metric]:
        """The counts as they are now (`prometheus_client` calls this on every scrape)."""
        for item in fields(self):
            kind = item.metadata.get("kind")
            if kind is None:
                continue  # the registry and the histograms, not counts
            name, help_text = PREFIX + item.name, item.metadata["help"]
            count = getattr(self, item.name)
            if kind == "gauge":
                yield GaugeMetricFamily(name, help_text, count)
            else:  # named without `_total`: the family adds it
                yield CounterMetricFamily(name, help_text, count)

    describe = collect  # the registry checks these names against the histograms' at once

    def caught_up(self, feed: str, started: float) -> None:
        """A browser on `feed` went live; it was accepted at `time.perf_counter()` `started`."""
        self.catch_up_seconds.labels(feed).observe(time.perf_counter() - started)

    def render(self) -> str:
        """The `/metrics` body, served with `CONTENT_TYPE`."""
        return generate_latest(self.registry).decode()
