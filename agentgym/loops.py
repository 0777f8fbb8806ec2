"""The improvement loop of a scenario (issue 31): what it is set to do, its runs, and the lease
that lets exactly one process carry out a run at a time.

A loop serves its scenario's decisions under an alias, and from time to time runs: snapshot
the new logs into a version, train a candidate on it, and move the alias to the candidate only
when the gate (trainer/gate.py) proves it better on held-out decisions. The trainers carry the
runs out (trainer/loop_run.py); the API sets loops up and asks for runs (functions/loops.py).

Stored per tenant (records.Keys): the loop at `loops/<scenario>`, each run at
`loop-runs/<scenario>/<run>`, and the lease at `loop-leases/<scenario>`. A run's record is
written by the lease's holder alone, at each step, so that whoever takes the lease over when
its holder dies knows where the run stood and carries it on (or ends it as failed).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from datetime import UTC, datetime
from typing import Literal

from pydantic import Field

from agentgym import retries
from agentgym.contracts import MAX_EPISODES, Body, Schema, utc_now
from agentgym.errors import ConflictError, KeyExistsError, KeyNotFoundError
from agentgym.records import Keys, Record, readable
from agentgym.store import KeyValueStore

RUNS_KEPT = 100  # per loop, the oldest removed first: the Loop page's history
EVERY_SECONDS_MIN = 10  # a run trains a model: more often than this is never what is meant

Step = Literal["queued", "snapshot", "training", "deciding", "promoting", "done"]
# `canary`: its gate passed and it serves the loop's canary share; the watch (below) then
# promotes it fully, or drops it. `trial`: its candidate was put on trial (a prospective gate's).
Outcome = Literal["promoted", "canary", "kept", "skipped", "failed", "trial"]
Trigger = Literal["asked", "schedule"]


class Gate(Body):
    """How a candidate must prove itself: the estimator of the paired difference (`dr`, or
    `ips` without the reward model), the margin in reward units that its one-sided lower bound
    must exceed, and whether an estimate of the reward model alone (logs without
    probabilities) may promote at all.

    `prospective`: a run trains a candidate and puts it on trial (the alias's shadow, whose
    first choice gateways serve on half their exploring), and the loop's next run tests it on
    the decisions logged since, with a reward model of those before. Without it, a run tests
    its candidate at once on the newest logs, held out by time; but where the logging policy
    explored by drawing from long pages, the candidate's own choices were seldom served and
    its side of the estimate rests on the reward model (each verdict says how seldom)."""

    estimator: Literal["dr", "ips"] = "dr"
    margin: float = Field(default=0.0, ge=-2.0, le=2.0)
    model_only: bool = False
    prospective: bool = False


class Trial(Schema):
    """A prospective loop's candidate on trial: tested on the decisions logged from `since`."""

    model_id: str
    since: float  # epoch seconds
    run_id: str  # the run that trained it
    tests: int = 0  # tests that fell short of evidence (trainer/loop_run.py tests it again)


class LoopBody(Body):
    """`PUT /api/scenarios/{id}/loop`. Neither `every_decisions` nor `every_seconds`: the loop
    runs only when asked (`POST .../loop/run`)."""

    alias: str = Field(min_length=1, max_length=200)
    every_decisions: int | None = Field(default=None, ge=1, le=10_000_000)
    every_seconds: int | None = Field(default=None, ge=EVERY_SECONDS_MIN, le=366 * 86400)
    gate: Gate = Field(default_factory=Gate)
    shadow: bool = False
    canary: float = Field(default=0.0, ge=0.0, le=0.5)
    # A candidate's training; None: each of the scenario's logs and tasks about twice, at
    # least 1,000, within its range (trainer/loop_run.py).
    max_episodes: int | None = Field(default=None, ge=1, le=MAX_EPISODES)


class Watch(Schema):
    """A model a loop run put in service (as a canary, or fully), watched on its own decisions'
    outcomes against `floor`, the lower bound of the model it replaced as the gate estimated it.
    As a canary, it is promoted fully when its mean reward holds at or above the floor over
    enough decisions, else dropped; in full service, it is rolled back automatically if its
    mean reward falls below the floor."""

    model_id: str
    previous_model_id: str
    floor: float
    run_id: str
    canary: bool
    since: float  # epoch seconds: when it went into service
    after: int = 0  # the decisions stream's cursor read up to
    n: int = 0  # its decisions with an outcome, so far
    total: float = 0.0  # ... and the sum of their rewards


class Loop(LoopBody):
    """A loop as set, and what it has done: how many gate tests it made (the error rate it has
    spent: trainer/gate.py), and the decisions its runs took in so far."""

    scenario_id: str
    created_at: str = Field(default_factory=utc_now)
    updated_at: str = Field(default_factory=utc_now)
    tests: int = Field(default=0, ge=0)
    decisions_taken: int = Field(default=0, ge=0)  # TraceCounts.decisions at its last run
    last_run_at: float | None = None  # epoch seconds: when its last run began
    watch: Watch | None = None  # the model its last promotion put in service, while watched
    trial: Trial | None = None  # its candidate on trial, until a run tests it


class LoopRecord(Loop, Record):
    """A loop as stored."""


class Verdict(Schema):
    """What the gate found: the paired difference, candidate minus serving model, in reward
    units, with its one-sided bounds at the test's share `alpha` of the loop's error rate."""

    test: int  # the loop's how-many-th test
    difference: float
    lower: float
    upper: float
    alpha: float
    n: int
    ess: float | None
    promote: bool
    # Of the n decisions, those where the candidate's first choice differed from the serving
    # model's, and of those, where the candidate's was served: the rest of its side of the
    # estimate is the reward model's alone.
    disagreed: int | None = None
    candidate_served: int | None = None


class LoopRun(Schema):
    """One run of a loop (`GET /api/scenarios/{id}/loop`'s `runs`): where it is (`step`), how
    it ended (`outcome`) and why, in words a person reads."""

    run_id: str
    scenario_id: str
    trigger: Trigger
    started_at: str = Field(default_factory=utc_now)
    updated_at: str = Field(default_factory=utc_now)
    finished_at: str | None = None
    step: Step = "queued"
    outcome: Outcome | None = None
    why: str | None = None
    version: str | None = None  # the scenario version it trained on
    logs_added: int | None = None  # logs its snapshot added
    new_decisions: int | None = None  # decisions taken in since the loop's last run
    session_id: str | None = None  # the candidate's training session
    candidate_model_id: str | None = None
    tested_since: float | None = None  # a trial's test: on decisions logged from then (epoch s)
    serving_model_id: str | None = None  # what the alias named when the run decided
    alias_version: int | None = None  # ... at this version: the move's compare-and-set
    verdict: Verdict | None = None
    floor: float | None = None  # the serving model's value's lower bound on the same decisions
    holder: str | None = None  # the process carrying it out
    # Seconds each step took (a step taken over counts its holders' time in it); and when the
    # step under way began (epoch seconds).
    seconds: dict[str, float] = Field(default_factory=dict)
    step_began: float | None = Field(default_factory=time.time)


class LoopRunRecord(LoopRun, Record):
    """A run as stored."""


class Lease(Record):
    """Who carries out the loop's current run, until when (epoch seconds). Clocks of the
    processes sharing a store are taken to agree within a small part of the lease's length
    (`loop_lease_s`: its holder renews it every third of that)."""

    holder: str
    run_id: str
    expires: float

    def live(self, now: float) -> bool:
        return self.expires > now


class LoopView(Loop):
    """`GET /api/scenarios/{id}/loop`: the loop, its runs (newest first) and the run under way."""

    runs: list[LoopRun]
    running: str | None = None


def new_run_id(now: float | None = None) -> str:
    """`run_<UTC time>_<hex>`: runs sort by when they began, and never collide."""
    stamp = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return f"run_{stamp:%Y%m%dT%H%M%S}_{secrets.token_hex(4)}"


def due(loop: Loop, now: float, new_decisions: int) -> str | None:
    """Why the loop should run now unasked (None: it should not): its period has passed since
    its last run, or enough new decisions came in."""
    if loop.every_seconds is not None:
        since = None if loop.last_run_at is None else now - loop.last_run_at
        if since is None or since >= loop.every_seconds:
            return f"every {loop.every_seconds} s"
    if loop.every_decisions is not None and new_decisions >= loop.every_decisions:
        return f"{new_decisions} new decisions, every {loop.every_decisions}"
    return None


def tick_every(loop: LoopBody, check_s: float) -> float:
    """How often the scheduler asks whether the loop is due: every `check_s` (it counts new
    decisions, and watches what its last promotion put in service), or its period if shorter."""
    return float(min(check_s, loop.every_seconds or check_s))


# --- in the store ------------------------------------------------------------------------------


async def get(store: KeyValueStore, keys: Keys, scenario_id: str) -> LoopRecord:
    """The scenario's loop; KeyNotFoundError when it has none."""
    return LoopRecord.load((await store.get(keys.loop(scenario_id))).value)


async def put(store: KeyValueStore, keys: Keys, scenario_id: str, body: LoopBody) -> LoopRecord:
    """Set the loop up, or change it: what it did so far (its tests, above all) is kept."""

    async def once() -> LoopRecord:
        try:
            entry = await store.get(keys.loop(scenario_id))
        except KeyNotFoundError:
            made = LoopRecord(scenario_id=scenario_id, **body.model_dump())
            await store.create(keys.loop(scenario_id), made.dump())
            return made
        before = LoopRecord.load(entry.value)
        changed = LoopRecord.model_validate(
            before.model_dump() | body.model_dump() | {"updated_at": utc_now()}
        )
        await store.update(keys.loop(scenario_id), changed.dump(), entry.revision)
        return changed

    return await retries.compare_and_set(keys.loop(scenario_id), once)


async def delete(store: KeyValueStore, keys: Keys, scenario_id: str) -> None:
    """Stop the loop (its runs stay, to read); KeyNotFoundError when there is none."""
    await store.delete(keys.loop(scenario_id))


async def runs(store: KeyValueStore, keys: Keys, scenario_id: str) -> list[LoopRunRecord]:
    """The loop's runs, newest first."""
    found = readable(LoopRunRecord, await store.list(keys.loop_runs(scenario_id)))
    return sorted(found, key=lambda run: run.run_id, reverse=True)


async def get_run(store: KeyValueStore, keys: Keys, scenario_id: str, run_id: str) -> LoopRunRecord:
    return LoopRunRecord.load((await store.get(keys.loop_run(scenario_id, run_id))).value)


async def save_run(store: KeyValueStore, keys: Keys, run: LoopRunRecord) -> LoopRunRecord:
    """Write the run as it stands (its lease's holder is its only writer)."""
    saved = run.model_copy(update={"updated_at": utc_now()})
    await store.put(keys.loop_run(run.scenario_id, run.run_id), saved.dump())
    return saved


async def prune_runs(store: KeyValueStore, keys: Keys, scenario_id: str) -> None:
    """Keep the newest RUNS_KEPT runs of the loop."""
    for old in (await runs(store, keys, scenario_id))[RUNS_KEPT:]:
        with contextlib.suppress(KeyNotFoundError):
            await store.delete(keys.loop_run(scenario_id, old.run_id))


async def lease(store: KeyValueStore, keys: Keys, scenario_id: str) -> Lease | None:
    try:
        return Lease.load((await store.get(keys.loop_lease(scenario_id))).value)
    except KeyNotFoundError:
        return None


async def take_lease(
    store: KeyValueStore,
    keys: Keys,
    scenario_id: str,
    holder: str,
    run_id: str,
    ttl_s: float,
    now: float | None = None,
) -> Lease | None:
    """Take the loop's lease for `run_id`, by compare-and-set: where there is none, where it
    expired (its holder died), or where it is this run's already (a run handed on, or taken
    back). The lease taken; None when another run's holder is alive, or another process took
    it first."""
    now = time.time() if now is None else now
    key = keys.loop_lease(scenario_id)
    taken = Lease(holder=holder, run_id=run_id, expires=now + ttl_s)
    try:
        entry = await store.get(key)
    except KeyNotFoundError:
        try:
            await store.create(key, taken.dump())
            return taken
        except KeyExistsError:
            return None
    held = Lease.load(entry.value)
    if held.live(now) and held.run_id != run_id:
        return None
    try:
        await store.update(key, taken.dump(), entry.revision)
    except (ConflictError, KeyNotFoundError):
        return None
    return taken


async def renew_lease(
    store: KeyValueStore, keys: Keys, scenario_id: str, held: Lease, ttl_s: float
) -> Lease | None:
    """Hold the lease longer; None when it is not this holder's any more."""
    key = keys.loop_lease(scenario_id)
    try:
        entry = await store.get(key)
    except KeyNotFoundError:
        return None
    current = Lease.load(entry.value)
    if (current.holder, current.run_id) != (held.holder, held.run_id):
        return None
    renewed = held.model_copy(update={"expires": time.time() + ttl_s})
    try:
        await store.update(key, renewed.dump(), entry.revision)
    except (ConflictError, KeyNotFoundError):
        return None
    return renewed


async def release_lease(store: KeyValueStore, keys: Keys, scenario_id: str, held: Lease) -> None:
    """Give the lease up, if it is still this holder's."""
    key = keys.loop_lease(scenario_id)
    try:
        entry = await store.get(key)
        current = Lease.load(entry.value)
        if (current.holder, current.run_id) == (held.holder, held.run_id):
            await store.delete(key, entry.revision)
    except (ConflictError, KeyNotFoundError):
        pass
