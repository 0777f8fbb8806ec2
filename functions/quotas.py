"""What one tenant may hold and run, checked before a request adds to it (SECURITY.md, "Limits").

- Active sessions (queued or running; a pause frees a place, a resume takes one again):
  `AGENTGYM_MAX_SESSIONS_PER_TENANT`, 429 with Retry-After, since sessions finish by themselves.
- Stored sessions (in any status): `AGENTGYM_MAX_STORED_SESSIONS_PER_TENANT`, 409.
- Models and the bytes of their bundles, trained or imported:
  `AGENTGYM_MAX_MODELS_PER_TENANT` and `AGENTGYM_MAX_BUNDLE_BYTES_PER_TENANT`, 409. Every
  session saves one model when it ends, so a start needs room for one.

Counted before the write, so two requests at the same moment may both pass: the limits keep
one tenant from exhausting what all share, they are not exact to the unit.
"""

from __future__ import annotations

from agentgym.config import ApiSettings
from agentgym.records import Keys, SessionRecord
from agentgym.state import SessionStatus
from agentgym.store import KeyValueStore
from functions import lookups
from functions.errors import ApiError

ACTIVE = (SessionStatus.QUEUED, SessionStatus.RUNNING)
RETRY_AFTER_S = "30"
MIB = 1024 * 1024
QUOTA = "quota_exceeded"


async def check_active(store: KeyValueStore, keys: Keys, settings: ApiSettings) -> None:
    """Room for one more queued or running session (a resume)."""
    _check_active(await lookups.sessions(store, keys), settings)


async def check_new_session(store: KeyValueStore, keys: Keys, settings: ApiSettings) -> None:
    """Room for a new session: active, stored, and for the model it will save."""
    sessions = await lookups.sessions(store, keys)
    _check_active(sessions, settings)
    if len(sessions) >= settings.max_stored_sessions_per_tenant:
        raise ApiError(
            409, f"{len(sessions)} sessions are stored; the limit is "
            f"{settings.max_stored_sessions_per_tenant} "
            "(AGENTGYM_MAX_STORED_SESSIONS_PER_TENANT). Delete one that has ended "
            "(DELETE /api/training/<id>)",
            code=QUOTA,
        )  # fmt: skip
    await check_models(store, keys, settings, 0)


async def check_models(
    store: KeyValueStore, keys: Keys, settings: ApiSettings, incoming_bytes: int
) -> None:
    """Room for one more model whose bundle takes `incoming_bytes`."""
    models = await lookups.models(store, keys)
    if len(models) >= settings.max_models_per_tenant:
        raise ApiError(
            409, f"{len(models)} models are stored; the limit is {settings.max_models_per_tenant} "
            "(AGENTGYM_MAX_MODELS_PER_TENANT). Delete a model first",
            code=QUOTA,
        )  # fmt: skip
    stored = sum(round(m.size_mb * MIB) for m in models)
    if stored + incoming_bytes > settings.max_bundle_bytes_per_tenant:
        raise ApiError(
            409, f"the tenant's model bundles take {stored} bytes; with {incoming_bytes} more "
            f"that passes the limit of {settings.max_bundle_bytes_per_tenant} "
            "(AGENTGYM_MAX_BUNDLE_BYTES_PER_TENANT). Delete a model first",
            code=QUOTA,
        )  # fmt: skip


def _check_active(sessions: list[SessionRecord], settings: ApiSettings) -> None:
    limit = settings.max_sessions_per_tenant
    active = sum(1 for s in sessions if s.status in ACTIVE)
    if active >= limit:
        raise ApiError(
            429, f"{active} sessions are queued or running; the limit is {limit} "
            "(AGENTGYM_MAX_SESSIONS_PER_TENANT). Pause or stop one, or wait for one to finish",
            headers={"Retry-After": RETRY_AFTER_S},
        )  # fmt: skip
