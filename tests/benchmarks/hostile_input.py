"""What a bundle bomb costs the API and a trainer, as real processes: the peak resident memory
it adds, the slowest /healthz while it is handled, and how long until it is answered.

    .venv/bin/python -m tests.benchmarks.hostile_input [--gib 1]

Three bombs: a bundle whose ZIP index lies (~1 MB claiming 0.5 MB, inflating to --gib GiB), a
well-formed bundle whose weights inflate to --gib GiB (import), and the same weights already
stored reaching a trainer (evaluate). Prints one line each; the tests (tests/hostile/) hold
the bounds, this shows the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from agentgym.nats_server import NatsServer
from tests.faults.conftest import Services
from tests.hostile import bombs
from tests.hostile.conftest import healthz_watched, reset_peak, rss_mb

BUNDLE = {"Content-Type": "application/zip"}


def measured(api_url: str, pid: int, send: object) -> tuple[int, float, float, float]:
    """(status, peak MB added to `pid`, slowest /healthz s, seconds to the answer)."""
    assert callable(send)
    idle = reset_peak(pid)
    with healthz_watched(api_url) as latencies:
        time.sleep(0.2)  # kept: /healthz samples before the request, as a baseline
        started = time.perf_counter()
        status = send()
        took = time.perf_counter() - started
        time.sleep(0.2)  # kept: and after it
    return status, rss_mb(pid, "VmHWM") - idle, max(latencies), took


def line(name: str, figures: tuple[int, float, float, float]) -> None:
    status, grew, slowest, took = figures
    print(
        f"{name:34} answered {status} in {took * 1000:7.0f} ms; peak memory +{grew:6.0f} MB; "
        f"slowest /healthz {slowest * 1000:6.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=int, default=1, help="what each bomb inflates to")
    args = parser.parse_args()
    mib = args.gib * 1024
    with tempfile.TemporaryDirectory() as tmp, NatsServer(Path(tmp) / "nats") as nats:
        services = Services(Path(tmp))
        try:
            api = services.api(nats.url)
            trainer = services.trainer(nats.url)
            while len(httpx.get(f"{api.http}/api/scenarios").json()) < 3:
                time.sleep(0.1)  # the trainer is another process: ask the API again
            url = f"{api.http}/api/models/import"

            def post(data: bytes) -> int:
                return httpx.post(url, content=data, headers=BUNDLE, timeout=120).status_code

            lying = bombs.lying_bundle(inflates_mib=mib)
            line(
                "import: zip index lies (API)",
                measured(api.http, api.process.pid, lambda: post(lying)),
            )
            heavy = bombs.bundle_of(bombs.weights_bomb(n_tools=3, inflates_mib=mib))
            line(
                "import: weights inflate (API)",
                measured(api.http, api.process.pid, lambda: post(heavy)),
            )
            asyncio.run(bombs.plant(Path(tmp), heavy))

            def evaluate() -> int:
                return httpx.post(
                    f"{api.http}/api/models/model_bomb/evaluate", timeout=120
                ).status_code

            line(
                "evaluate: stored bomb (trainer)", measured(api.http, trainer.process.pid, evaluate)
            )
        finally:
            services.close()


if __name__ == "__main__":
    main()
