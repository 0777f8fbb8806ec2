"""Hostile input against the services as real processes (the fault tests' `services`), with
what an attack costs them measured: resident memory from /proc, and /healthz's latency."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from ..faults.conftest import Services, nats, services  # noqa: F401  (fixtures)

# What handling one hostile request may add to a process's peak resident memory, and how long
# /healthz may take meanwhile (SECURITY.md, "Bad input").
MEMORY_BOUND_MB = 200
HEALTHZ_BOUND_S = 0.25


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory now (VmRSS), or its peak since it started (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for pid {pid}")


def reset_peak(pid: int) -> float:
    """Start a process's peak (VmHWM) afresh from now (Linux's clear_refs); its memory now."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return rss_mb(pid)


@contextmanager
def healthz_watched(base_url: str) -> Iterator[list[float]]:
    """Ask /healthz every 20 ms while the block runs; yields the latencies, filled as it goes."""
    latencies: list[float] = []
    done = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=base_url, timeout=10) as client:
            while not done.is_set():
                started = time.perf_counter()
                client.get("/healthz").raise_for_status()
                latencies.append(time.perf_counter() - started)
                done.wait(0.02)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    try:
        yield latencies
    finally:
        done.set()
        thread.join(15)


__all__ = [
    "HEALTHZ_BOUND_S",
    "MEMORY_BOUND_MB",
    "Services",
    "healthz_watched",
    "reset_peak",
    "rss_mb",
]
