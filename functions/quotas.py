"""What one tenant may hold and run, checked before a request adds to it (SECURITY.md, "Limits").

- Active sessions (queued or running; a pause frees a place, a resume takes one again):
  `AGENTGYM_MAX_SESSIONS_PER_TENANT`, 429 with Retry-After, since sessions finish by themselves.
- Stored sessions (in any status): `AGENTGYM_MAX_STORED_SESSIONS_PER_TENANT`, 409.
- Models and the bytes of their bundles, trained or imported:
  `AGENTGYM_MAX_MODELS_PER_TENANT` and `AGENTGYM_MAX_BUNDLE_BYTES_PER_TENANT`, 409. Every
  session saves one model when it ends, so a start needs room for one.

Nothing here lists the tenant's whole history: active sessions are counted by their marks
(`Keys.active`, set and cleared as `lifecycle` decides), stored sessions by a counter
(`Keys.usage`, changed at a start and a delete), models by listing them (as many as their
limit). Counted before the write, so two requests at the same moment may both pass: the
limits keep one tenant from exhausting what all share, they are not exact to the unit.
"""

from __future__ import annotations

from agentgym import lifecycle, retries
from agentgym.config import ApiSettings
from agentgym.errors import KeyExistsError, KeyNotFoundError
from agentgym.records import (
    Keys,
    ScenarioRecord,
    SessionRecord,
    UsageRecord,
    mark_active,
    modify,
)
from agentgym.store import KeyValueStore
from functions import lookups
from functions.errors import HttpError

RETRY_AFTER_S = "30"
MIB = 1024 * 1024
QUOTA = "quota_exceeded"


async def check_active(store: KeyValueStore, keys: Keys, settings: ApiSettings) -> None:
    """Room for one more queued or running session (a start or a resume)."""
    limit = settings.max_sessions_per_tenant
    active = await _active(store, keys, limit)
    if active >= limit:
        raise HttpError(
            429, f"{active} sessions are queued or running; the limit is {limit} "
            "(AGENTGYM_MAX_SESSIONS_PER_TENANT). Pause or stop one, or wait for one to finish",
            headers={"Retry-After": RETRY_AFTER_S},
        )  # fmt: skip


async def _active(store: KeyValueStore, keys: Keys, limit: int) -> int:
    """How many of the tenant's sessions are queued or running, from their marks
    (`lifecycle`'s MARK_ACTIVE): a list as long as the limit, not as the tenant's history.
    At the limit each mark is checked against its session, and a stale one (its writer died
    between the session and the mark) is cleared, so the count never stays too high."""
    marks = await store.list(keys.active)
    if len(marks) < limit:
        return len(marks)
    active = 0
    for mark in marks:
        session_id = mark.key.rsplit("/", 1)[1]
        try:
            session = SessionRecord.load((await store.get(keys.session(session_id))).value)
        except KeyNotFoundError:
            session = None
        if session is not None and session.status in lifecycle.ACTIVE:
            active += 1
        else:
            await mark_active(store, keys, session_id, False)
    return active


async def check_new_session(store: KeyValueStore, keys: Keys, settings: ApiSettings) -> None:
    """Room for a new session: active, stored, and for the model it will save."""
    await check_active(store, keys, settings)
    stored = await _usage(store, keys)
    if stored.sessions >= settings.max_stored_sessions_per_tenant:
        raise HttpError(
            409, f"{stored.sessions} sessions are stored; the limit is "
            f"{settings.max_stored_sessions_per_tenant} "
            "(AGENTGYM_MAX_STORED_SESSIONS_PER_TENANT). Delete one that has ended "
            "(DELETE /api/training/<id>)",
            code=QUOTA,
        )  # fmt: skip
    await check_models(store, keys, settings, 0)


async def count_session(store: KeyValueStore, keys: Keys) -> None:
    """One more stored session (after its record is written)."""
    await _change_usage(store, keys, +1)


async def forget_session(store: KeyValueStore, keys: Keys) -> None:
    """One stored session fewer (after its record is deleted)."""
    await _change_usage(store, keys, -1)


async def _usage(store: KeyValueStore, keys: Keys) -> UsageRecord:
    try:
        return UsageRecord.load((await store.get(keys.usage)).value)
    except KeyNotFoundError:
        return UsageRecord()


async def _change_usage(store: KeyValueStore, keys: Keys, sessions: int) -> None:
    def change(usage: UsageRecord) -> UsageRecord:
        return usage.model_copy(update={"sessions": max(0, usage.sessions + sessions)})

    async def once() -> None:
        try:
            await modify(store, keys.usage, UsageRecord, change)
        except KeyNotFoundError:  # the first: another may create it meanwhile (then again)
            await store.create(keys.usage, change(UsageRecord()).dump())

    await retries.compare_and_set(keys.usage, once, on=KeyExistsError)


async def check_models(
    store: KeyValueStore, keys: Keys, settings: ApiSettings, incoming_bytes: int
) -> None:
    """Room for one more model whose bundle takes `incoming_bytes`."""
    models = await lookups.models(store, keys)
    if len(models) >= settings.max_models_per_tenant:
        raise HttpError(
            409, f"{len(models)} models are stored; the limit is {settings.max_models_per_tenant} "
            "(AGENTGYM_MAX_MODELS_PER_TENANT). Delete a model first",
            code=QUOTA,
        )  # fmt: skip
    stored = sum(round(m.size_mb * MIB) for m in models)
    if stored + incoming_bytes > settings.max_bundle_bytes_per_tenant:
        raise HttpError(
            409, f"the tenant's model bundles take {stored} bytes; with {incoming_bytes} more "
            f"that passes the limit of {settings.max_bundle_bytes_per_tenant} "
            "(AGENTGYM_MAX_BUNDLE_BYTES_PER_TENANT). Delete a model first",
            code=QUOTA,
        )  # fmt: skip


async def check_scenarios(
    store: KeyValueStore,
    keys: Keys,
    settings: ApiSettings,
    incoming_bytes: int,
    replacing: str | None = None,
) -> None:
    """Room for a custom scenario (or, `replacing` one's id, a new version of it) whose
    definition takes `incoming_bytes`: counted by listing the tenant's own (at most as many as
    their limit)."""
    own = [s for s in await lookups.scenarios(store, keys) if s.source == "custom"]
    limit = settings.max_scenarios_per_tenant
    if replacing is None and len(own) >= limit:
        raise HttpError(
            409, f"{len(own)} custom scenarios are stored; the limit is {limit} "
            "(AGENTGYM_MAX_SCENARIOS_PER_TENANT). Delete one first",
            code=QUOTA,
        )  # fmt: skip
    stored = sum(s.stored_bytes for s in own)
    if stored + incoming_bytes > settings.max_scenario_bytes_per_tenant:
        raise HttpError(
            409, f"the tenant's scenario definitions take {stored} bytes; with "
            f"{incoming_bytes} more that passes the limit of "
            f"{settings.max_scenario_bytes_per_tenant} (AGENTGYM_MAX_SCENARIO_BYTES_PER_TENANT). "
            "Delete a scenario first",
            code=QUOTA,
        )  # fmt: skip


def check_versions(scenario: ScenarioRecord, settings: ApiSettings) -> None:
    """Room for one more stored version of `scenario`."""
    limit = settings.max_scenario_versions
    if len(scenario.versions) >= limit:
        raise HttpError(
            409, f"scenario {scenario.id!r} has {len(scenario.versions)} stored versions; the "
            f"limit is {limit} (AGENTGYM_MAX_SCENARIO_VERSIONS). Delete it and push it anew",
            code=QUOTA,
        )  # fmt: skip
