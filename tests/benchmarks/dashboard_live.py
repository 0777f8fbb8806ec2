"""The dashboard in Chromium against `agentgym up`: live latency, and pages with a lot behind them.

    .venv/bin/python -m tests.benchmarks.dashboard_live [--updates 300] [--rate 20]
        [--sessions 1000] [--history 100000]

`agentgym up` runs in a temporary data dir, as a user runs it; Playwright drives Debian's
Chromium (/usr/bin/chromium). Sessions are written into the system's store, and their updates
published to its NATS as a trainer publishes them (JetStream, the trainer's own Publisher), so
that every figure is the dashboard's and the streamer's, not a training run's.

1. Live latency: a running session's Run page is open, and a plain WebSocket client (the
   `websockets` library) watches the same session through the streamer. `--updates` updates
   are published at `--rate` a second; for each, the time from its publish to (a) the plain
   client receiving it, and (b) the page drawing it: the accuracy chart's last point is that
   update's (its `data-last`, seen by a MutationObserver), at the next animation frame.
   p50 and p99 of each, and their ratio.
2. The Runs page with `--sessions` sessions: from navigation to the list drawn and the live
   feed connected (interactive), then how long typing a filter takes to redraw it.
3. The Run page of a session with `--history` recorded updates: from navigation to its charts
   drawn (the API thins the history to 5,000 points, `/metrics?points=`), then how long a move
   of the smoothing slider takes to redraw every chart, and the longest task that blocked the
   page meanwhile.
Prints; never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHART = '.chart[data-title^="Accuracy"]'
# In the page: each time the accuracy chart's last point changes, the epoch time (ms) of the
# next animation frame, by that point's episode.
WATCH_DRAWN = """(selector) => {
  window.__drawn = {};
  const chart = document.querySelector(selector);
  new MutationObserver(() => {
    const last = chart.dataset.last;
    requestAnimationFrame(() => {
      window.__drawn[last] ??= performance.timeOrigin + performance.now();
    });
  }).observe(chart, { attributes: true, attributeFilter: ['data-last'] });
}"""
LONG_TASKS = """() => {
  window.__longest = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__longest = Math.max(window.__longest, entry.duration);
  }).observe({ type: 'longtask', buffered: true });
}"""
# Move the smoothing slider and wait until the page has drawn twice: what a user waits.
SLIDE = """async (value) => {
  const slider = document.querySelector('input[name="smoothing"]');
  const started = performance.now();
  slider.value = String(value);
  slider.dispatchEvent(new Event('input', { bubbles: true }));
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  return performance.now() - started;
}"""


def run(coroutine: Any) -> Any:
    """Run a coroutine to its end in a thread of its own (Playwright's sync API holds this
    thread's event loop)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def record(session_id: str, status: str, episode: int) -> Any:
    from agentgym.records import SessionRecord

    return SessionRecord.model_validate(
        {"session_id": session_id, "scenario_id": "customer_support", "framework": "LangChain",
         "status": status, "max_episodes": 200_000, "current_episode": episode,
         "accuracy": 50.0, "avg_reward": 0.5, "loss": 0.4, "learning_rate": 0.001, "seed": 1,
         "heldout_accuracy": 40.0, "heldout_episode": episode - episode % 100}
    )  # fmt: skip


def update(session: Any, seq: int, episode: int) -> bytes:
    from agentgym.messages import TrainingUpdate

    data = session.model_copy(
        update={"current_episode": episode, "accuracy": 50 + 40 * episode / (episode + 5000)}
    ).status_view()
    return TrainingUpdate(session_id=session.session_id, seq=seq, data=data).encode()


async def seed(store_url: str, records: list[Any]) -> None:
    from agentgym.records import Keys
    from agentgym.store import open_store

    store = await open_store(store_url)
    try:
        for made in records:
            await store.put(Keys().session(made.session_id), made.dump())
    finally:
        await store.close()


async def publish_history(nats_url: str, session: Any, count: int) -> None:
    """`count` updates of `session`, into the stream as fast as it takes them."""
    from agentgym import nats_client, subjects

    client = await nats_client.connect(nats_url, "bench-history")
    js = client.jetstream()
    subject = subjects.metrics_subject(session.session_id)
    try:
        for start in range(1, count + 1, 1000):
            await asyncio.gather(
                *(
                    js.publish(subject, update(session, seq, seq * 2))
                    for seq in range(start, min(start + 1000, count + 1))
                )
            )
    finally:
        await client.close()


async def live(
    nats_url: str, streamer: str, session: Any, count: int, rate: float
) -> tuple[dict[int, float], dict[int, float]]:
    """Publish `count` updates at `rate`/s, as a trainer does; the publish time of each (by
    episode), and when a plain WebSocket client received each."""
    from websockets.asyncio.client import connect

    from agentgym import nats_client
    from agentgym.messages import TrainingUpdate
    from trainer.publisher import Publisher

    published: dict[int, float] = {}
    received: dict[int, float] = {}
    client = await nats_client.connect(nats_url, "bench-trainer")
    publisher = Publisher(client.jetstream())
    first = session.current_episode + 1
    try:
        async with connect(f"{streamer}/ws/training/{session.session_id}") as ws:

            async def listen() -> None:
                async for frame in ws:
                    message = json.loads(frame)
                    if message["type"] == "training_update":
                        received[message["data"]["current_episode"]] = time.time() * 1000

            listening = asyncio.create_task(listen())
            await asyncio.sleep(1.0)  # the page and the client are watching
            started = time.perf_counter()
            for i in range(count):
                await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
                episode = first + i
                message = TrainingUpdate.decode(update(session, i + 1, episode))
                published[episode] = time.time() * 1000
                await publisher.update(message)
            await asyncio.sleep(2.0)
            listening.cancel()
    finally:
        await client.close()
    return published, received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--history", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.setdefault("AGENTGYM_ENCODER", "off")

    from playwright.sync_api import sync_playwright

    from agentgym.config import local_store_url
    from agentgym.nats_server import free_port
    from tests.e2e.conftest import System

    with tempfile.TemporaryDirectory() as root, sync_playwright() as playwright:
        system = System(Path(root) / "data", free_port(), free_port())
        system.start()
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"] if os.geteuid() == 0 else []
        )
        try:
            found = re.search(r"NATS\s+(nats://\S+)", "".join(system.log))
            assert found, "agentgym up did not say where NATS is"
            nats_url, store_url = found.group(1), local_store_url(system.data_dir)
            page = browser.new_page(viewport={"width": 1280, "height": 900})

            # 1. live latency
            watched = record("session_live", "running", 1000)
            run(seed(store_url, [watched]))
            page.goto(f"{system.api}/ui/#/runs/{watched.session_id}")
            page.wait_for_selector(CHART)
            page.evaluate(WATCH_DRAWN, CHART)
            published, received = run(live(nats_url, system.ws, watched, args.updates, args.rate))
            drawn = {int(k): v for k, v in page.evaluate("window.__drawn").items() if k}
            plain = [received[e] - published[e] for e in published if e in received]
            shown = [drawn[e] - published[e] for e in published if e in drawn]
            print(f"live latency, {args.updates} updates at {args.rate:g}/s, publish to:")
            for name, values in (
                ("plain WebSocket client", plain),
                ("point drawn in Chromium", shown),
            ):
                print(
                    f"  {name:24s} p50 {percentile(values, 0.5):6.1f} ms  "
                    f"p99 {percentile(values, 0.99):6.1f} ms  ({len(values)} of {len(published)})"
                )
            print(
                f"  drawn / plain: p50 {percentile(shown, 0.5) / percentile(plain, 0.5):.2f}x, "
                f"p99 {percentile(shown, 0.99) / percentile(plain, 0.99):.2f}x"
            )

            # 2. the Runs page with many sessions
            many = [
                record(f"session_many{i:05d}", "completed" if i % 50 else "running", 200 + i)
                for i in range(args.sessions)
            ]
            run(seed(store_url, many))
            started = time.perf_counter()
            page.goto(f"{system.api}/ui/#/runs")
            page.wait_for_selector("tr[data-session]")
            page.wait_for_selector(".live.on")
            interactive = time.perf_counter() - started
            rows = page.locator("tr[data-session]").count()
            typed = time.perf_counter()
            page.fill('input[placeholder^="filter"]', "running")
            page.wait_for_function(
                "() => [...document.querySelectorAll('tr[data-session] .badge')]"
                ".every((b) => b.dataset.status === 'running')"
            )
            filtered = time.perf_counter() - typed
            print(f"Runs page, {args.sessions + 1} sessions:")
            print(
                f"  interactive (list drawn, feed live) {1000 * interactive:7.0f} ms  ({rows} rows a page)"
            )
            print(f"  a filter typed, list redrawn        {1000 * filtered:7.0f} ms")

            # 3. the Run page of a long session
            long = record("session_long", "completed", 2 * args.history)
            run(seed(store_url, [long]))
            run(publish_history(nats_url, long, args.history))
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            started = time.perf_counter()
            page.goto(f"{system.api}/ui/#/runs/{long.session_id}")
            page.wait_for_function(
                f"() => Number(document.querySelector('{CHART}')?.dataset.points) > 0"
            )
            drawn_s = time.perf_counter() - started
            points = page.locator(CHART).get_attribute("data-points")
            page.evaluate(LONG_TASKS)
            slides = [page.evaluate(SLIDE, value) for value in (0.3, 0.6, 0.9, 0.5, 0.0)]
            longest = page.evaluate("window.__longest")
            print(f"Run page, {args.history:,} recorded updates:")
            print(
                f"  charts drawn from navigation        {1000 * drawn_s:7.0f} ms  ({points} points a chart)"
            )
            print(
                f"  smoothing moved, charts redrawn     {statistics_line(slides)}; "
                f"longest task meanwhile {longest:.0f} ms"
            )
        finally:
            browser.close()
            system.stop()


def statistics_line(values: list[float]) -> str:
    return f"median {sorted(values)[len(values) // 2]:5.0f} ms, worst {max(values):.0f} ms"


if __name__ == "__main__":
    main()
