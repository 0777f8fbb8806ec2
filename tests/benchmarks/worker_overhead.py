"""What the NATS worker costs: one session trained alone and through a real worker, same run.

    .venv/bin/python -m tests.benchmarks.worker_overhead [--episodes 20000] [--repeats 3]
        [--scenario customer_support] [--seed 0] [--learning-rate 0.001] [--cpu N]

(or `.venv/bin/python tests/benchmarks/worker_overhead.py`, same options.)

(a) Training alone: a plain `Run(spec, learning_rate, seed, episodes)` loop doing the
worker's computation and nothing else: a held-out evaluation every 100 episodes, a
`run.checkpoint()` serialization every 500 (not at the last episode, as the worker), and the
final held-out evaluation the worker makes after its loop.

(b) Through the system: an in-process `Worker` (default `update_interval_s` 0.1 and
`status_interval_s` 1.0, `checkpoint_every` 500, `eval_every` 100, concurrency 1) over a
nats-server of its own, a SQLite store and file artifacts in a temporary directory; the session
is created by `POST /api/training/start` to the API (`functions.app.build` under uvicorn, in a
thread). Its time is the session record's `elapsed_seconds`, which the worker counts from the
session turning `running` to the end of training (before the model is saved); two more clocks
are printed as cross-checks: the training updates' (`GET /api/training/{id}/metrics`, first
`running` update to the last) and the wall time between the `running` and `completed` status
events as this script received them (this one includes saving the model).

The two alternate `--repeats` times; the best of each is compared (the machine is small and
noisy). The overhead is (best alone rate / best worker rate - 1), against a target of at most
5%. Because other load on a small machine moves both rates by more than that, each run also
accounts for its own time: the share spent inside `Run.update`, `evaluate_heldout` and
`checkpoint` (the worker's `Run` is swapped for a subclass that times them). The difference of
that share between the two ways is the overhead measured within each run, which drift in the
machine's speed between runs does not touch. The final policy weights must be the same both
ways: the sha256 in the downloaded model bundle's manifest against `run.bundle(...)` of the
plain run. It reports; it never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script, sys.path[0] is tests/benchmarks
    sys.path.insert(0, str(ROOT))

from trainer.run import Run  # noqa: E402  (after the sys.path fix above)

TARGET_OVERHEAD = 0.05
EVAL_EVERY = 100
CHECKPOINT_EVERY = 500


class TimedRun(Run):
    """A `Run` that adds up the time spent in its own work (training, evaluation, checkpoint
    serialization); what the training loop spends anywhere else is the loop's overhead."""

    latest: TimedRun | None = None  # the one the worker made last (it trains one at a time)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.compute = 0.0
        self.final_checkpoints = 0.0  # made once training was over (by the worker, after timing)
        TimedRun.latest = self

    def update(self) -> None:
        started = time.perf_counter()
        super().update()
        self.compute += time.perf_counter() - started

    def evaluate_heldout(self) -> float:
        started = time.perf_counter()
        result = super().evaluate_heldout()
        self.compute += time.perf_counter() - started
        return result

    def checkpoint(self) -> bytes:
        started = time.perf_counter()
        data = super().checkpoint()
        spent = time.perf_counter() - started
        if self.finished:
            self.final_checkpoints += spent
        else:
            self.compute += spent
        return data


@dataclass
class Measurement:
    seconds: float
    episodes: int
    weights_sha256: str
    heldout_accuracy: float
    compute_seconds: float  # of `seconds`, the time inside the run's own work
    detail: str = ""

    @property
    def rate(self) -> float:
        return self.episodes / self.seconds if self.seconds else 0.0

    @property
    def outside(self) -> float:
        """The share of the time spent outside the run's own work."""
        return 1 - self.compute_seconds / self.seconds if self.seconds else 0.0


# --- (a) training alone -----------------------------------------------------------------------


def train_alone(args: argparse.Namespace) -> Measurement:
    from agentgym.contracts import Framework
    from trainer import scenarios

    run = TimedRun(scenarios.get(args.scenario), args.learning_rate, args.seed, args.episodes)
    checkpoint_bytes = 0
    started = time.perf_counter()
    while not run.finished:
        first = run.episode
        run.update()
        if run.episode // EVAL_EVERY > first // EVAL_EVERY:
            run.evaluate_heldout()
        if run.episode // CHECKPOINT_EVERY > first // CHECKPOINT_EVERY and not run.finished:
            checkpoint_bytes = len(run.checkpoint())
    run.evaluate_heldout()  # the worker evaluates once more after its loop
    seconds = time.perf_counter() - started
    manifest, _ = run.bundle(Framework.LANGCHAIN)
    return Measurement(
        seconds,
        run.episode,
        manifest.weights_sha256,
        run.heldout_accuracy,
        run.compute,
        f"checkpoint {checkpoint_bytes:,} bytes",
    )


# --- (b) through the worker -------------------------------------------------------------------


class System:
    """Sessions through the API and the worker, and the status events they publish."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.events: dict[str, list[tuple[str, float]]] = {}  # session id: (status, received)
        self.changed = asyncio.Event()

    async def on_event(self, msg: Any) -> None:
        event = json.loads(msg.data)
        self.events.setdefault(event["session_id"], []).append(
            (event["status"], time.perf_counter())
        )
        self.changed.set()

    async def wait_for_end(self, session_id: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            for status, _ in self.events.get(session_id, []):
                if status in ("completed", "failed", "stopped"):
                    return status
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{session_id} did not finish in {timeout:.0f}s")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)

    async def train(self, client: Any) -> Measurement:
        """One session through the API and the worker."""
        from agentgym.bundle import unpack

        args = self.args
        TimedRun.latest = None
        response = await client.post(
            "/api/training/start",
            json={
                "scenario_id": args.scenario,
                "max_episodes": args.episodes,
                "learning_rate": args.learning_rate,
                "seed": args.seed,
            },
        )
        response.raise_for_status()
        session_id = response.json()["session_id"]
        # Generous: a tenth of plain speed would still finish.
        status = await self.wait_for_end(session_id, timeout=60 + args.episodes / 50)
        record = (await client.get(f"/api/training/{session_id}")).json()
        if status != "completed":
            raise RuntimeError(f"{session_id} ended {status}: {record}")
        run = TimedRun.latest
        if run is None:
            raise RuntimeError("the worker did not train a TimedRun: is trainer.run.Run it?")
        updates = (
            await client.get(f"/api/training/{session_id}/metrics", params={"limit": 100_000})
        ).json()
        running = [u["data"] for u in updates if u["data"]["status"] == "running"]
        last = updates[-1]["data"]
        first = running[0] if running else last
        update_rate = (last["current_episode"] - first["current_episode"]) / max(
            last["elapsed_seconds"] - first["elapsed_seconds"], 1e-9
        )
        received = {status: at for status, at in reversed(self.events[session_id])}  # firsts
        wall = received["completed"] - received["running"]
        model = (await client.get(f"/api/models/{record['model_id']}/download")).content
        manifest, _ = unpack(model)
        return Measurement(
            record["elapsed_seconds"],
            record["current_episode"],
            manifest.weights_sha256,
            record["heldout_accuracy"],
            run.compute,
            f"{len(updates)} updates, {update_rate:,.0f}/s by them; "
            f"running->completed events {wall:.2f}s ({record['current_episode'] / wall:,.0f}/s)",
        )


async def measure(args: argparse.Namespace) -> tuple[list[Measurement], list[Measurement]]:
    import httpx
    import nats

    import trainer.run
    from agentgym import subjects
    from agentgym.config import ApiSettings, TrainerSettings
    from agentgym.nats_server import NatsServer
    from functions.app import build
    from functions.resources import Resources
    from tests.inprocess import start_worker, stop_worker
    from tests.servers import serve_asgi
    from trainer.worker import Worker

    # The worker's sessions time their work: its runs live in a thread slot of this process
    # (a process slot's would not see the swap; tests/benchmarks/slot_scaling.py measures those).
    trainer.run.Run = TimedRun  # type: ignore[misc]

    alone: list[Measurement] = []
    worker_runs: list[Measurement] = []
    with (
        tempfile.TemporaryDirectory(prefix="agentgym-overhead-") as name,
        NatsServer(Path(name) / "nats") as nats_server,
    ):
        tmp = Path(name)
        store_url = f"sqlite:///{tmp / 'agentgym.db'}"
        artifacts_url = f"file://{tmp / 'artifacts'}"
        settings = TrainerSettings(
            data_dir=tmp,
            worker_id="bench-worker",
            concurrency=1,
            slot="thread",
            checkpoint_every=CHECKPOINT_EVERY,
            eval_every=EVAL_EVERY,
            nats_url=nats_server.url,
            store_url=store_url,
            artifacts_url=artifacts_url,
        )  # update_interval_s 0.1 and status_interval_s 1.0: the defaults
        worker = Worker(settings)
        stop = asyncio.Event()
        task = await start_worker(worker, stop)  # once ready; raises what stopped it, if it died
        api_settings = ApiSettings(
            data_dir=tmp, nats_url=nats_server.url, store_url=store_url, artifacts_url=artifacts_url
        )
        watcher = await nats.connect(nats_server.url, name="agentgym-bench-watcher")
        try:
            with serve_asgi(build(Resources(api_settings))) as api_url:
                system = System(args)
                await watcher.subscribe(subjects.EVENTS_ALL, cb=system.on_event)
                async with httpx.AsyncClient(base_url=api_url, timeout=60) as client:
                    for repeat in range(1, args.repeats + 1):
                        # The worker idles meanwhile (one pull a second); this blocks its loop.
                        plain = train_alone(args)
                        alone.append(plain)
                        print(
                            f"  {repeat}/{args.repeats} alone : {plain.rate:7,.0f} episodes/s "
                            f"({plain.seconds:.2f}s, {plain.outside:.2%} outside the run's work; "
                            f"{plain.detail})",
                            flush=True,
                        )
                        through = await system.train(client)
                        worker_runs.append(through)
                        print(
                            f"  {repeat}/{args.repeats} worker: {through.rate:7,.0f} episodes/s "
                            f"({through.seconds:.2f}s by the record, {through.outside:.2%} outside "
                            f"the run's work; {through.detail})",
                            flush=True,
                        )
        finally:
            await watcher.close()
            await stop_worker(worker, stop, task)
    return alone, worker_runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3, help="of each; the best counts")
    parser.add_argument("--scenario", default="customer_support")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--learning-rate", type=float, default=0.001)
    parser.add_argument(
        "--cpu", type=int, default=None, help="pin this process to one core (default: not)"
    )
    args = parser.parse_args()

    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    where = f"pinned to CPU {args.cpu}" if args.cpu is not None else "not pinned"
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs ({where}); {args.scenario}, "
        f"{args.episodes:,} episodes, seed {args.seed}, learning rate {args.learning_rate:g}; "
        f"held-out evaluation every {EVAL_EVERY}, checkpoint every {CHECKPOINT_EVERY}; "
        f"best of {args.repeats}",
        flush=True,
    )
    alone, through = asyncio.run(measure(args))

    best_alone = max(alone, key=lambda m: m.rate)
    best_worker = max(through, key=lambda m: m.rate)
    overhead = best_alone.rate / best_worker.rate - 1 if best_worker.rate else float("inf")
    verdict = "meets" if overhead <= TARGET_OVERHEAD else "MISSES"
    print(f"best alone : {best_alone.rate:7,.0f} episodes/s")
    print(f"best worker: {best_worker.rate:7,.0f} episodes/s")
    print(
        f"worker overhead: {overhead:+.1%} ({verdict} the target of at most {TARGET_OVERHEAD:.0%})"
    )
    # Within each run: time / time in the run's own work, worker against alone (medians).
    ratio_alone = statistics.median(m.seconds / m.compute_seconds for m in alone)
    ratio_worker = statistics.median(m.seconds / m.compute_seconds for m in through)
    accounted = ratio_worker / ratio_alone - 1
    verdict = "meets" if accounted <= TARGET_OVERHEAD else "MISSES"
    print(
        f"worker overhead accounted within each run (not moved by the machine's speed): "
        f"{accounted:+.1%} ({verdict} the target); time outside the run's own work: alone "
        f"{statistics.median(m.outside for m in alone):.2%}, worker "
        f"{statistics.median(m.outside for m in through):.2%} (medians)"
    )
    hashes = {m.weights_sha256 for m in alone} | {m.weights_sha256 for m in through}
    if len(hashes) == 1:
        print(f"final weights: the same both ways in every run (sha256 {hashes.pop()[:16]}...)")
    else:
        print(
            "final weights: DIFFER: alone "
            f"{sorted({m.weights_sha256[:16] for m in alone})}, worker "
            f"{sorted({m.weights_sha256[:16] for m in through})}"
        )
    accuracies = {round(m.heldout_accuracy, 6) for m in alone + through}
    print(f"final held-out accuracy: {', '.join(f'{a:.1f}%' for a in sorted(accuracies))}")


if __name__ == "__main__":
    main()
