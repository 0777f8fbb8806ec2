"""Watching what a loop run put in service (agentgym.loops.Watch), at each tick of the loop.

The model's own decisions are read from the scenario's log as they settle (their outcomes
come after them), and their rewards (feedback) counted. Once MIN_WATCHED of them have an
outcome, their mean is held against the floor, the lower bound of the value of the model it
replaced, as the gate estimated it on the same held-out decisions:

- a canary whose mean holds at or above the floor is promoted fully (the alias moves to it,
  by its loop run, saying why); one below is dropped (the alias serves its model alone again);
- a model in full service whose mean falls below the floor is rolled back (the alias's history
  records it, by the loop run that promoted it, and why).

Its own decisions estimate it on-policy: no importance weight, no reward model; those where it
served its own first choice, that is, not the gateway's exploring (drawn whatever the request,
so the rest are a fair sample): the floor bounds the value of the replaced model's first
choices, and what exploring earns would count against the new one only. The mean is over
every such decision with an outcome since it went into service (a regression late in a long
service is diluted by what came before: a window would catch it sooner, at the price of more
noise).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Literal

from agentgym import aliases, loops
from agentgym.aliases import AliasRecord
from agentgym.bus import Decisions
from agentgym.errors import AliasError, KeyNotFoundError
from agentgym.loops import LoopRecord, Watch
from agentgym.records import Keys, modify
from agentgym.store import KeyValueStore
from functions.snapshots import settled

logger = logging.getLogger(__name__)

MIN_WATCHED = 100  # decisions with an outcome before the watch judges

Judged = Literal["promote", "drop", "rollback"]


@dataclass(frozen=True)
class Judgement:
    act: Judged | None  # None: watch on
    why: str


def judged(watch: Watch) -> Judgement:
    """What the watch says now, pure."""
    if watch.n < MIN_WATCHED:
        return Judgement(None, f"{watch.n} decisions with an outcome, fewer than {MIN_WATCHED}")
    mean = watch.total / watch.n
    said = (f"mean reward {mean:+.3f} over {watch.n:,} of its decisions, against "
            f"{watch.floor:+.3f}, the lower bound of {watch.previous_model_id}")  # fmt: skip
    if watch.canary:
        if mean >= watch.floor:
            return Judgement("promote", f"canary held: {said}")
        return Judgement("drop", f"canary dropped: {said}")
    if mean < watch.floor:
        return Judgement("rollback", f"rolled back automatically: {said}")
    return Judgement(None, f"holding: {said}")


async def watch(
    store: KeyValueStore, decisions: Decisions, keys: Keys, loop: LoopRecord, settle_s: float
) -> None:
    """Count the watched model's newly settled decisions, then act on what the watch says."""
    assert loop.watch is not None
    before = loop.watch
    items, cursor = await settled(decisions, keys.tenant, loop.scenario_id, before.after,
                                  time.time() - settle_s)  # fmt: skip
    if cursor == before.after:
        counted = before
    else:
        own = [i["id"] for i in items
               if i.get("kind") == "decision" and i.get("model_id") == before.model_id
               and not i.get("explored")]  # fmt: skip
        given = await decisions.feedback(keys.tenant, own) if own else {}
        rewards = [float(json.loads(raw)["reward"]) for raw in given.values()]
        counted = before.model_copy(update={"after": cursor, "n": before.n + len(rewards),
                                            "total": before.total + sum(rewards)})  # fmt: skip
        if not await _replace(store, keys, loop.scenario_id, before, counted):
            return  # another trainer counted them first
    judgement = judged(counted)
    if judgement.act is None:
        return
    alias = await aliases.get(store, keys, loop.alias)
    ended = await _act(store, keys, loop.alias, alias, counted, judgement)
    after = None if ended else counted.model_copy(update={"canary": False})
    if await _replace(store, keys, loop.scenario_id, counted, after):
        await _tell_run(store, keys, loop.scenario_id, counted, judgement)
        logger.info("loop %s: %s", loop.scenario_id, judgement.why)


async def _act(
    store: KeyValueStore,
    keys: Keys,
    name: str,
    alias: AliasRecord,
    counted: Watch,
    judgement: Judgement,
) -> bool:
    """Carry the judgement out on the alias, by compare-and-set on the version read; whether the
    watch ends. Where the alias no longer serves the model watched as it did (moved by hand,
    rolled back), the watch ends and nothing is changed."""
    by = f"loop run {counted.run_id}"
    serves = alias.model_id == counted.model_id
    if counted.canary:
        serves = alias.canary is not None and alias.canary.model_id == counted.model_id
    if not serves:
        return True
    try:
        if judgement.act == "promote":
            await aliases.move(store, keys, name, counted.model_id, by=by, why=judgement.why,
                               expected=alias.version)  # fmt: skip
            return False  # watched on, in full service
        if judgement.act == "drop":
            await aliases.serve_beside(store, keys, name, canary=None, shadow=alias.shadow,
                                       expected=alias.version)  # fmt: skip
        else:
            await aliases.rollback(store, keys, name, by=by, why=judgement.why,
                                   expected=alias.version)  # fmt: skip
    except AliasError as exc:  # moved meanwhile, or nothing to go back to: left as it is
        logger.warning("loop watch of %s: %s", counted.model_id, exc)
    return True


async def _replace(
    store: KeyValueStore, keys: Keys, scenario_id: str, was: Watch, now: Watch | None
) -> bool:
    """Set the loop's watch to `now` if it is still `was` (another trainer's tick, or a new
    promotion, got there first otherwise)."""

    def change(loop: LoopRecord) -> LoopRecord:
        if loop.watch != was:
            raise _Changed
        return loop.model_copy(update={"watch": now})

    try:
        await modify(store, keys.loop(scenario_id), LoopRecord, change)
    except (_Changed, KeyNotFoundError):  # changed, or the loop stopped
        return False
    return True


class _Changed(Exception):
    """The loop's watch is not the one read: not a store conflict, which would be retried."""


async def _tell_run(
    store: KeyValueStore, keys: Keys, scenario_id: str, watched: Watch, judgement: Judgement
) -> None:
    """The run that put the model in service says what became of it."""
    try:
        run = await loops.get_run(store, keys, scenario_id, watched.run_id)
    except KeyNotFoundError:  # pruned
        return
    outcome = run.outcome
    if judgement.act == "promote":
        outcome = "promoted"
    elif judgement.act == "drop":
        outcome = "kept"
    why = f"{run.why}; then {judgement.why}" if run.why else judgement.why
    await loops.save_run(store, keys, run.model_copy(update={"outcome": outcome, "why": why}))
