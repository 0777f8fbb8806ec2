"""A worker killed in the middle of a session: another resumes from the last checkpoint, and
the final model equals an uninterrupted run's. Real processes, real signals."""

from __future__ import annotations

import itertools
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from agentgym import bundle
from agentgym.records import Keys, SessionRecord
from agentgym.scenario.parse import parse_scenario
from agentgym.store import open_store
from trainer import scenarios
from trainer.run import Run
from trainer.training.loop import Evaluating, train

from .conftest import TRAINER_DEFAULTS, trainer_process, until, wait_for

EPISODES = 2500


EXAMPLE = Path(__file__).parents[2] / "examples" / "scenarios" / "shop_support.yaml"


@pytest.mark.parametrize(
    ("how", "scenario_id"),
    [
        (signal.SIGKILL, "customer_support"),
        (signal.SIGTERM, "customer_support"),
        (signal.SIGKILL, "shop_support"),  # a custom one: read by version, exactly the same
    ],
    ids=["kill-9", "sigterm", "custom-kill-9"],
)
async def test_a_killed_workers_session_finishes_elsewhere_as_if_nothing_happened(
    api: httpx.AsyncClient, urls: dict[str, str], how: signal.Signals, scenario_id: str
) -> None:
    processes = {name: trainer_process(urls, name, checkpoint_every=250) for name in ("w1", "w2")}
    store = await open_store(urls["store_url"])
    try:
        await until(  # the workers (real processes: the API is all there is to ask) are up
            lambda: api.get("/api/scenarios"), lambda r: len(r.json()) >= 3, "the catalog"
        )
        if scenario_id == "shop_support":
            pushed = await api.post("/api/scenarios", content=EXAMPLE.read_bytes(),
                                    headers={"Content-Type": "application/yaml"})  # fmt: skip
            assert pushed.status_code == 201, pushed.text
            spec = scenarios.spec_of(parse_scenario(EXAMPLE.read_bytes(), "application/yaml")[0])
        else:
            spec = scenarios.get(scenario_id)
        body = {"scenario_id": scenario_id, "framework": "CrewAI", "max_episodes": EPISODES,
                "learning_rate": 0.001, "seed": 5}  # fmt: skip
        session_id = (await api.post("/api/training/start", json=body)).json()["session_id"]
        await wait_for(api, session_id, lambda s: s["current_episode"] >= 600)
        owner = SessionRecord.load((await store.get(Keys().session(session_id))).value).owner
        assert owner in processes
        processes[owner].send_signal(how)
        processes[owner].wait(timeout=30)

        done = await wait_for(api, session_id, lambda s: s["status"] == "completed", timeout=120)
        final = SessionRecord.load((await store.get(Keys().session(session_id))).value)
        assert final.current_episode == EPISODES
        history = (await api.get(f"/api/training/{session_id}/metrics")).json()
        assert [u["seq"] for u in history] == list(range(1, len(history) + 1))
        episodes = [u["data"]["current_episode"] for u in history]
        restarts = [later for earlier, later in itertools.pairwise(episodes) if later < earlier]
        # The successor went on from a checkpoint (one of every 250 episodes), not from zero;
        # after a SIGTERM the worker checkpointed where it stopped, so nothing is repeated.
        assert all(episode >= 250 for episode in restarts)
        assert (restarts != []) is (how is signal.SIGKILL) or not restarts
        # Its recorded episodes too: each once, in order, what the successor played again
        # after the checkpoint not recorded twice.
        recorded, cursor = [], 0
        while cursor is not None:
            page = (await api.get(f"/api/training/{session_id}/episodes",
                                  params={"after": cursor, "limit": 500})).json()  # fmt: skip
            recorded += page["episodes"]
            cursor = page["next"]
        assert [e["seq"] for e in recorded] == list(range(1, len(recorded) + 1))
        numbers = [e["episode"] for e in recorded]
        assert numbers == sorted(numbers) and numbers[-1] == EPISODES

        downloaded = await api.get(f"/api/models/{done['model_id']}/download")
        manifest, _ = bundle.unpack(downloaded.content)
        # The model is the run's best on its validation tasks, evaluated as the workers did:
        # every eval_every episodes.
        uninterrupted = Run(spec, 0.001, seed=5, max_episodes=EPISODES)
        train(uninterrupted, [Evaluating(TRAINER_DEFAULTS["eval_every"])])
        expected = uninterrupted.bundle("CrewAI")[0]
        assert manifest.weights_sha256 == expected.weights_sha256
        assert manifest.metrics.best_episode == expected.metrics.best_episode
    finally:
        await store.close()
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
