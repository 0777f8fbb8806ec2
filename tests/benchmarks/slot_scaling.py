"""One trainer with two slots: does a second session train alongside the first, and does a
pause still reach a session promptly while both slots are busy? A thread per slot against a
process per slot, in the same run.

    .venv/bin/python -m tests.benchmarks.slot_scaling [--seconds 8] [--pauses 50]

For each slot kind (`AGENTGYM_SLOT`): `agentgym trainer` (concurrency 2) and `agentgym api` as
processes, over a nats-server of their own, SQLite and file artifacts; this process only asks.

- Scaling: one fresh session alone for --seconds, then two fresh ones at once for --seconds;
  episodes per second from the sessions' own status records (`current_episode` over
  `elapsed_seconds` between two reads), aggregate with two against one alone. Target: 1.7x.
- Control latency, both slots busy: `POST .../pause` until `GET` reads `paused`, and until the
  session's last training update (received over NATS) says paused; then resumed, and the
  next pause goes to the other session. p50 and p99 over --pauses. Target: p99 <= 100 ms.

It prints its figures; it never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from agentgym import subjects
from agentgym.nats_server import NatsServer
from tests.faults.conftest import Services

# The fault tests' services run with fast intervals; these are the deployed defaults.
DEFAULT_INTERVALS = {"CHECKPOINT_EVERY": "500", "STATUS_INTERVAL_S": "1.0", "ACK_WAIT_S": "30"}
LONG = 1_000_000  # episodes (the most a scenario allows): a session that only ends when stopped
START = {"scenario_id": "customer_support", "learning_rate": 0.001, "max_episodes": LONG}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def status(client: httpx.AsyncClient, session_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/training/{session_id}")
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def until(client: httpx.AsyncClient, session_id: str, wanted: str) -> None:
    while (await status(client, session_id))["status"] != wanted:
        await asyncio.sleep(0.002)  # kept: the latency measured is to the GET that reads it


async def rate(client: httpx.AsyncClient, session_ids: list[str], seconds: float) -> float:
    """Aggregate episodes per second of the sessions over `seconds`, by their own clocks."""
    before = [await status(client, s) for s in session_ids]
    await asyncio.sleep(seconds)  # kept: the measurement window
    after = [await status(client, s) for s in session_ids]
    return sum(
        (b["current_episode"] - a["current_episode"])
        / max(b["elapsed_seconds"] - a["elapsed_seconds"], 1e-9)
        for a, b in zip(before, after, strict=True)
    )


async def start(client: httpx.AsyncClient, seed: int) -> str:
    response = await client.post("/api/training/start", json=START | {"seed": seed})
    response.raise_for_status()
    session_id: str = response.json()["session_id"]
    await until(client, session_id, "running")
    return session_id


async def measure(kind: str, seconds: float, pauses: int) -> dict[str, Any]:
    import nats

    with (
        tempfile.TemporaryDirectory(prefix="agentgym-slots-") as name,
        NatsServer(Path(name) / "nats") as server,
    ):
        # The trainer and the API as the processes they are deployed as: this one only asks.
        services = Services(Path(name))
        services.trainer(
            server.url, CONCURRENCY="2", SLOT=kind, **DEFAULT_INTERVALS
        )  # fmt: skip
        api = services.api(server.url)
        paused_updates: dict[str, asyncio.Event] = {}
        bus = await nats.connect(server.url)

        async def on_update(msg: Any) -> None:
            update = json.loads(msg.data)
            if update.get("data", {}).get("status") == "paused":
                paused_updates.setdefault(update["session_id"], asyncio.Event()).set()

        await bus.subscribe(subjects.METRICS_ALL, cb=on_update)
        try:
            async with httpx.AsyncClient(base_url=api.http, timeout=30) as client:
                # Fresh sessions in both phases: episodes get shorter as a policy learns, so a
                # session measured later would train faster for that alone.
                alone_id = await start(client, 1)
                await asyncio.sleep(1.0)  # past the first rate window
                alone = await rate(client, [alone_id], seconds)
                await client.post(f"/api/training/{alone_id}/stop")
                await until(client, alone_id, "stopped")
                first, second = await asyncio.gather(start(client, 1), start(client, 2))
                await asyncio.sleep(1.0)  # past their first rate windows
                both = await rate(client, [first, second], seconds)
                to_status, to_update = [], []
                for n in range(pauses):
                    session_id = (first, second)[n % 2]
                    seen = paused_updates[session_id] = asyncio.Event()
                    began = time.perf_counter()
                    response = await client.post(f"/api/training/{session_id}/pause")
                    response.raise_for_status()
                    await until(client, session_id, "paused")
                    to_status.append(time.perf_counter() - began)
                    await asyncio.wait_for(seen.wait(), 10)
                    to_update.append(time.perf_counter() - began)
                    resumed = await client.post(f"/api/training/{session_id}/resume")
                    resumed.raise_for_status()
                    await until(client, session_id, "running")
                    await asyncio.sleep(0.2)  # training again in its slot
                for session_id in (first, second):
                    await client.post(f"/api/training/{session_id}/stop")
        finally:
            await bus.close()
            services.close()
    return {"alone": alone, "both": both, "to_status": to_status, "to_update": to_update}


def report(kind: str, figures: dict[str, Any]) -> None:
    ms = {k: [v * 1000 for v in figures[k]] for k in ("to_status", "to_update")}
    print(
        f"{kind:8} one session {figures['alone']:6.0f} eps/s; two {figures['both']:6.0f} eps/s "
        f"({figures['both'] / figures['alone']:.2f}x, target 1.7x); pause to status p50 "
        f"{statistics.median(ms['to_status']):5.0f} ms p99 {percentile(ms['to_status'], 0.99):5.0f}"
        f" ms; to the last update p50 {statistics.median(ms['to_update']):5.0f} ms p99 "
        f"{percentile(ms['to_update'], 0.99):5.0f} ms (target p99 100 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--pauses", type=int, default=50)
    parser.add_argument("--kinds", default="thread,process")
    args = parser.parse_args()
    for kind in args.kinds.split(","):
        report(kind, asyncio.run(measure(kind, args.seconds, args.pauses)))


if __name__ == "__main__":
    main()
