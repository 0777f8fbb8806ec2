"""What a loop run costs: its snapshot, training and estimation times for 10,000 and 100,000
logged decisions, on the system as `make up` runs it (`agentgym up`: embedded nats-server,
trainer, API, SQLite; the sentence encoder installed).

    .venv/bin/python -m tests.benchmarks.loop_cost [--sizes 10000 100000] [--episodes 1000]

Each size on a fresh system: tests/trainer/test_loop_runs.py's scenario (4 tools, 60 tasks)
and its uniform logging policy's decisions, each with the call that followed and its outcome,
sent through `POST /api/decisions` (1,000 items a request); then one loop run. Printed: how
long the decisions took to send, and each step of the run (the run's own `seconds`):
`snapshot` (the decisions read and made a version), `training` (the candidate's session, of
`--episodes` episodes, on tasks and logs), `deciding` (both models scored on the held-out
decisions, the gate's bootstrap). `AGENTGYM_DECISION_SETTLE_S=0`: a snapshot takes decisions
at once. It never fails: it prints.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

import httpx

from tests.benchmarks.gateway_overhead import free_port, wait_until
from tests.trainer import test_loop_runs as world

SID = "loop_cost"


def one(size: int, episodes: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        port = free_port()
        api = f"http://127.0.0.1:{port}"
        env = os.environ | {"AGENTGYM_DECISION_SETTLE_S": "0"}
        up = subprocess.Popen(
            [sys.executable, "-m", "agentgym.cli", "up", "--data-dir", scratch, "--api-port",
             str(port), "--streamer-port", str(free_port())], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_until(f"{api}/readyz", lambda r: r.status_code == 200)
            with httpx.Client(base_url=api, timeout=600) as client:
                pushed = client.post("/api/scenarios", json=world.scenario(SID)).json()
                started = client.post("/api/training/start", json={
                    "scenario_id": SID, "max_episodes": 1, "seed": 3}).json()  # fmt: skip
                while (s := client.get(f"/api/training/{started['session_id']}").json())[
                    "status"
                ] != "completed":
                    time.sleep(0.2)
                client.put("/api/aliases/production", json={"model_id": s["model_id"]})
                items = world.logged(SID, pushed["version"], s["model_id"], size)
                began = time.perf_counter()
                for start in range(0, len(items), 1000):
                    sent = client.post(
                        "/api/decisions", json={"items": items[start : start + 1000]}
                    )
                    assert sent.status_code == 200, sent.text
                sending = time.perf_counter() - began
                body = {"alias": "production", "max_episodes": episodes}
                client.put(f"/api/scenarios/{SID}/loop", json=body)
                run_id = client.post(f"/api/scenarios/{SID}/loop/run").json()["run_id"]
                run: dict[str, Any] = {}
                while not run.get("outcome"):
                    time.sleep(1.0)
                    runs = client.get(f"/api/scenarios/{SID}/loop").json()["runs"]
                    run = next(r for r in runs if r["run_id"] == run_id)
        finally:
            up.terminate()
            up.wait(30)
    steps = ", ".join(f"{step} {run['seconds'].get(step, 0.0):.1f}s"
                      for step in ("snapshot", "training", "deciding"))  # fmt: skip
    verdict = run.get("verdict") or {}
    print(f"{size:>7,} decisions ({len(items):,} items) sent in {sending:.0f}s "
          f"({len(items) / sending:,.0f} items/s); run {run['outcome']}: {steps}; "
          f"{verdict.get('n', 0):,} held-out decisions tested")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--episodes", type=int, default=1000)
    args = parser.parse_args()
    for size in args.sizes:
        one(size, args.episodes)


if __name__ == "__main__":
    main()
