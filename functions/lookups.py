"""Reading records for the handlers, with the 404 messages a user can act on.

Everything but the shared scenario catalog is read through the caller's `Keys`, so another
tenant's session or model is simply not found: its existence is never revealed.
"""

from __future__ import annotations

from agentgym import aliases, catalog
from agentgym.errors import InvalidKeyError, KeyNotFoundError
from agentgym.records import (
    Keys,
    ModelRecord,
    PrivacyRecord,
    ScenarioRecord,
    SessionRecord,
    SettingsRecord,
    readable,
)
from agentgym.store import Entry, KeyValueStore
from functions.errors import HttpError


async def read_entry(store: KeyValueStore, key: str, missing: str) -> Entry:
    try:
        return await store.get(key)
    except (KeyNotFoundError, InvalidKeyError):  # an id no key can hold names nothing
        raise HttpError(404, missing) from None


async def scenarios(store: KeyValueStore, keys: Keys) -> list[ScenarioRecord]:
    """The built-in scenarios, then the tenant's own (in id order each)."""
    own = readable(ScenarioRecord, await store.list(keys.scenarios))
    # Trainers before this version registered the built-ins under the default tenant's keys:
    # such an entry is ignored, and the shipped one listed.
    return catalog.builtin_entries() + [s for s in own if s.source == "custom"]


async def own_scenario(
    store: KeyValueStore, keys: Keys, scenario_id: str
) -> tuple[ScenarioRecord, int] | None:
    """The tenant's own custom scenario and its revision; None when it has none by that id."""
    try:
        entry = await store.get(keys.scenario(scenario_id))
    except (KeyNotFoundError, InvalidKeyError):
        return None
    record = ScenarioRecord.load(entry.value)
    return (record, entry.revision) if record.source == "custom" else None


async def scenario(store: KeyValueStore, keys: Keys, scenario_id: str) -> ScenarioRecord:
    """The scenario the tenant means by `scenario_id` (a built-in, else its own); 404 naming
    the known ones otherwise."""
    found = catalog.builtin_entry(scenario_id)
    if found is None and (own := await own_scenario(store, keys, scenario_id)) is not None:
        found = own[0]
    if found is None:
        known = ", ".join(s.id for s in await scenarios(store, keys))
        raise HttpError(404, f"scenario {scenario_id!r} not found; known scenarios: {known}")
    return found


def session_missing(session_id: str) -> HttpError:
    return HttpError(404, f"training session {session_id!r} not found")


async def session_entry(store: KeyValueStore, keys: Keys, session_id: str) -> Entry:
    try:
        return await store.get(keys.session(session_id))
    except (KeyNotFoundError, InvalidKeyError):
        raise session_missing(session_id) from None


async def session(store: KeyValueStore, keys: Keys, session_id: str) -> tuple[SessionRecord, int]:
    found = await session_entry(store, keys, session_id)
    return SessionRecord.load(found.value), found.revision


async def sessions(store: KeyValueStore, keys: Keys) -> list[SessionRecord]:
    return readable(SessionRecord, await store.list(keys.sessions))


async def models(store: KeyValueStore, keys: Keys) -> list[ModelRecord]:
    return readable(ModelRecord, await store.list(keys.models))


async def model(store: KeyValueStore, keys: Keys, model_id: str) -> tuple[ModelRecord, int]:
    found = await read_entry(store, keys.model(model_id), f"model {model_id!r} not found")
    return ModelRecord.load(found.value), found.revision


async def named_model(
    store: KeyValueStore, keys: Keys, id_or_alias: str
) -> tuple[ModelRecord, str | None]:
    """The model a route's `{model_id}` names, a model id or an alias (aliases.resolve), and
    the alias it was named by; 404 when neither is the tenant's."""
    resolved = await aliases.resolve(store, keys, id_or_alias)
    return ModelRecord.load(resolved.entry.value), resolved.alias


async def privacy(store: KeyValueStore, keys: Keys) -> PrivacyRecord:
    """The tenant's privacy settings (the defaults before any were set)."""
    try:
        return PrivacyRecord.load((await store.get(keys.privacy)).value)
    except KeyNotFoundError:
        return PrivacyRecord()


async def settings(store: KeyValueStore, keys: Keys) -> tuple[SettingsRecord, int]:
    """The stored settings and their revision; the seed's defaults at revision 0 when none."""
    try:
        entry = await store.get(keys.settings)
    except KeyNotFoundError:
        return SettingsRecord(), 0
    return SettingsRecord.load(entry.value), entry.revision
