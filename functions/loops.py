"""`/api/scenarios/{id}/loop`: a scenario's improvement loop (agentgym/loops.py), which the
trainers carry out (trainer/loop_run.py).

- `PUT` (`{"alias", "every_decisions"?, "every_seconds"?, "gate"?, "shadow"?, "canary"?,
  "max_episodes"?}`): set it up or change it; its schedule goes to NATS (a message schedule).
- `GET`: the loop, its runs (newest first) and the run under way.
- `POST .../loop/run`: one run now (202). Asked twice at once, or while a run is under way,
  it answers the run under way: never two at a time.
- `DELETE`: stop it (its schedule removed; its runs stay).

The scenario must be the tenant's own (404 otherwise: another tenant's is not found), the alias
too: a loop moves the alias its scenario's gateways serve.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from fastapi import APIRouter, Response

from agentgym import aliases, catalog, loops
from agentgym.contracts import built
from agentgym.errors import BusUnavailableError, KeyNotFoundError
from agentgym.loops import LoopBody, LoopRun, LoopRunRecord, LoopView
from agentgym.records import Keys
from agentgym.store import KeyValueStore
from functions import errors, lambda_entry, lookups
from functions.errors import HttpError
from functions.resources import Authenticated, KeysDep, LoopsDep, SettingsDep, StoreDep

router = APIRouter(
    prefix="/api/scenarios/{scenario_id}/loop",
    tags=["loops"],
    dependencies=[Authenticated],
    responses=errors.DOCUMENTED,
)
built(LoopBody)  # before its route (contracts.Body)
RUNS_SHOWN = 50


async def _own_scenario(store: KeyValueStore, keys: Keys, scenario_id: str) -> None:
    if catalog.is_builtin(scenario_id):
        raise HttpError(409, f"{scenario_id!r} is a built-in scenario: a loop learns from a "
                        "scenario's own logs, so name your gateway's or traces' scenario "
                        "otherwise (agentgym gateway --scenario)")  # fmt: skip
    if await lookups.own_scenario(store, keys, scenario_id) is None:
        raise HttpError(404, f"scenario {scenario_id!r} not found; a loop needs the "
                        "scenario its logs go to: POST /api/scenarios/{id}/snapshot makes it "
                        "from its first decisions")  # fmt: skip


async def _loop(store: KeyValueStore, keys: Keys, scenario_id: str) -> loops.LoopRecord:
    try:
        return await loops.get(store, keys, scenario_id)
    except KeyNotFoundError:
        raise HttpError(404, f"scenario {scenario_id!r} has no loop; PUT "
                        f"/api/scenarios/{scenario_id}/loop sets one up") from None  # fmt: skip


@router.put("", response_model=LoopView)
async def set_loop(
    scenario_id: str,
    body: LoopBody,
    store: StoreDep,
    keys: KeysDep,
    bus: LoopsDep,
    settings: SettingsDep,
) -> LoopView:
    """Set the loop up, or change it (what it did so far, its tests above all, is kept)."""
    await _own_scenario(store, keys, scenario_id)
    await aliases.get(store, keys, body.alias)  # 404 naming it, or 422 for a bad name
    loop = await loops.put(store, keys, scenario_id, body)
    await bus.schedule_loop(keys.tenant, scenario_id, loops.tick_every(body, settings.loop_check_s))
    return await _view(store, keys, loop)


@router.get("", response_model=LoopView)
async def get_loop(scenario_id: str, store: StoreDep, keys: KeysDep) -> LoopView:
    return await _view(store, keys, await _loop(store, keys, scenario_id))


@router.delete("")
async def delete_loop(
    scenario_id: str, store: StoreDep, keys: KeysDep, bus: LoopsDep
) -> dict[str, str]:
    """Stop the loop: its schedule goes first, so no tick comes for a loop gone."""
    await _loop(store, keys, scenario_id)
    await bus.schedule_loop(keys.tenant, scenario_id, None)
    with contextlib.suppress(KeyNotFoundError):  # stopped by another call meanwhile
        await loops.delete(store, keys, scenario_id)
    return {"status": "deleted"}


@router.post("/run", response_model=LoopRun, status_code=202)
async def run_loop(
    scenario_id: str,
    store: StoreDep,
    keys: KeysDep,
    bus: LoopsDep,
    settings: SettingsDep,
    response: Response,
) -> LoopRun:
    """One run now: queued for a trainer (202). Where a run is under way, that run (200); where
    one was left unended (its holder died, an API among them, before a trainer had it), that
    run asked for again (200): it is carried on where it stood."""
    await _loop(store, keys, scenario_id)
    held = await loops.lease(store, keys, scenario_id)
    if held is not None:
        left = await _run(store, keys, scenario_id, held.run_id)
        if left.outcome is None:
            response.status_code = 200
            if not held.live(time.time()):
                await bus.ask_loop_run(keys.tenant, scenario_id, held.run_id, again=True)
            return left
        # Ended, its holder about to let the lease go: it is free.
        await loops.release_lease(store, keys, scenario_id, held)
    run_id = loops.new_run_id()
    # The lease is taken for the run before any trainer has it, so that two calls at once
    # make one run; the trainer that takes the run up takes the lease over (same run).
    lease = await loops.take_lease(store, keys, scenario_id, "api", run_id, settings.loop_lease_s)
    if lease is None:
        held = await loops.lease(store, keys, scenario_id)
        if held is None:  # ended between the two reads: this call lost to it all the same
            raise HttpError(409, "a run of this loop just ended: ask again for another")
        response.status_code = 200
        return await _run(store, keys, scenario_id, held.run_id)
    run = await loops.save_run(
        store, keys, LoopRunRecord(run_id=run_id, scenario_id=scenario_id, trigger="asked")
    )
    try:
        await bus.ask_loop_run(keys.tenant, scenario_id, run_id)
    except BusUnavailableError:
        failed = run.model_copy(update={"step": "done", "outcome": "failed",
                                        "why": "failed: NATS did not take the run; ask again"})  # fmt: skip
        await loops.save_run(store, keys, failed)
        await loops.release_lease(store, keys, scenario_id, lease)
        raise
    return LoopRun.model_validate(run.model_dump())


async def _run(store: KeyValueStore, keys: Keys, scenario_id: str, run_id: str) -> LoopRun:
    """The run, as stored; a run whose lease was taken a moment ago, its record not written
    yet, as queued."""
    try:
        found = await loops.get_run(store, keys, scenario_id, run_id)
    except KeyNotFoundError:
        return LoopRun(run_id=run_id, scenario_id=scenario_id, trigger="asked")
    return LoopRun.model_validate(found.model_dump())


async def _view(store: KeyValueStore, keys: Keys, loop: loops.LoopRecord) -> LoopView:
    runs = await loops.runs(store, keys, loop.scenario_id)
    held = await loops.lease(store, keys, loop.scenario_id)
    running = held.run_id if held is not None and not _ended(runs, held.run_id) else None
    return LoopView(
        **loop.model_dump(),
        runs=[LoopRun.model_validate(r.model_dump()) for r in runs[:RUNS_SHOWN]],
        running=running,
    )


def _ended(runs: list[LoopRunRecord], run_id: str) -> bool:
    return any(run.run_id == run_id and run.outcome is not None for run in runs)


def __getattr__(name: str) -> Any:
    """`app` and `handler`, this Lambda entry point's, built on first use (lambda_entry)."""
    return lambda_entry.attribute(__name__, router, name)
