"""Aliases: a tenant's own names for its models (`production`), each with the history of the
models it named. Anywhere a model id is taken, an alias is taken too (`resolve`).

An alias lives at `aliases/<name>` under its tenant's prefix (records.Keys). Every write is a
compare-and-set on the store's revision, tried again by agentgym.retries when another writer got
there first (each try reads again), so concurrent moves all land in the history, in some order.
A move may also be conditional on the alias's own `version` (`expected`): a loop run that decided
on version 7 loses, and says so (AliasMovedError), when someone moved the alias meanwhile.

Two keys stay consistent without a transaction: an alias never names a missing model, and a
model an alias names is not deleted. A move writes the alias, then rewrites the model's record
unchanged at the revision it read (`_hold`); a delete first marks the record as being deleted,
at the revision it read before looking for aliases naming it (`claim_for_deletion`). In any
interleaving, a delete that did not see the alias loses its compare-and-set to the hold (and
on its next try sees the alias), or the hold finds the record marked or gone and the move puts
the alias back as it was.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import Field

from agentgym import retries
from agentgym.contracts import Body, Schema, utc_now
from agentgym.errors import (
    AliasError,
    AliasMovedError,
    AliasNotFoundError,
    AliasTargetMissingError,
    ConflictError,
    InvalidAliasNameError,
    InvalidKeyError,
    KeyNotFoundError,
    ModelAliasedError,
    ModelNotFoundError,
    NoEarlierModelError,
)
from agentgym.ids import MODEL_ID_PREFIX
from agentgym.records import Keys, Record, readable
from agentgym.store import Entry, KeyValueStore

# Lowercase letters, digits, '-' and '_', starting with a letter: a key segment every store
# backend holds (no '.'), a URL path segment nothing resolves away ('.', '..'), never taken for
# a CLI flag, and no two aliases told apart by case alone. Never `model_...`, how every model id
# starts (agentgym.ids): an alias cannot be mistaken for a model id, nor a model id for an alias.
NAME_MAX = 64
NAME_RULE = (
    f"an alias is 1-{NAME_MAX} lowercase letters, digits, '-' or '_', starting with a letter, "
    f"and not starting with {MODEL_ID_PREFIX!r} (model ids do)"
)
_NAME = re.compile(rf"[a-z][a-z0-9_-]{{0,{NAME_MAX - 1}}}")
# Changes kept per alias, oldest dropped first: 100 of at most ~1 KB each stay well inside a
# stored value's 256 KB, and reach further back than any rollback needs.
MAX_HISTORY = 100
MAX_WHY = 500


def is_name(text: str) -> bool:
    return _NAME.fullmatch(text) is not None and not text.startswith(MODEL_ID_PREFIX)


def check_name(name: str) -> str:
    if not is_name(name):
        raise InvalidAliasNameError(name, NAME_RULE)
    return name


class AliasBody(Body):
    """`PUT /api/aliases/{name}`: the model it is to name (an id, or another alias, whose model
    it then names), and why."""

    model_id: str = Field(min_length=1, max_length=200)
    why: str | None = Field(default=None, max_length=MAX_WHY)


class RollbackBody(Body):
    """`POST /api/aliases/{name}/rollback` (optional)."""

    why: str | None = Field(default=None, max_length=MAX_WHY)


class AliasChange(Schema):
    """One move of an alias: to which model, when, by whom (`tenant acme`, `loop run <id>`)
    and why; `rollback` when it undid the move before it."""

    model_id: str
    at: str = Field(default_factory=utc_now)
    by: str
    why: str | None = None
    rollback: bool = False


class Canary(Schema):
    """A candidate an improvement loop serves a `share` of requests with before the alias moves
    to it (agentgym/loops.py): gateways following the alias split their requests so."""

    model_id: str
    share: float = Field(gt=0.0, le=0.5)
    run_id: str  # the loop run whose gate it passed


class Alias(Schema):
    """`GET /api/aliases/{name}`: the model it names, and how it came to (oldest first); and
    what gateways following it serve beside it: a `canary` candidate on a share of requests,
    and a `shadow` candidate that scores every request without serving (its choice logged)."""

    name: str
    model_id: str
    version: int = Field(ge=1)  # its moves so far: the ETag that `If-Match` names
    updated_at: str
    history: list[AliasChange]
    canary: Canary | None = None
    shadow: str | None = None


class AliasRecord(Alias, Record):
    """An alias as stored: the API's shape, as it is."""


# --- the rules, pure ----------------------------------------------------------------------------


def moved(current: AliasRecord | None, name: str, change: AliasChange) -> AliasRecord:
    """The alias after `change` (the last MAX_HISTORY changes kept)."""
    history = [*(current.history if current else ()), change][-MAX_HISTORY:]
    return AliasRecord(
        name=name,
        model_id=change.model_id,
        version=(current.version if current else 0) + 1,
        updated_at=change.at,
        history=history,
        # A canary was to replace the model named before: a move ends it. A shadow stays.
        shadow=current.shadow if current else None,
    )


def rollback_target(alias: AliasRecord) -> str:
    """The model the alias named before its current one. Rollbacks undo moves in turn, as an
    undo does: after v1, v2, v3, a rollback goes to v2 and the next to v1 (not back to v3)."""
    named: list[str] = []  # the moves not undone, oldest first
    for change in alias.history:
        if not change.rollback:
            named.append(change.model_id)
            continue
        while named and named[-1] != change.model_id:
            named.pop()
        if not named:  # its start is beyond the history kept
            named.append(change.model_id)
    while named and named[-1] == alias.model_id:
        named.pop()
    if not named:
        kept = "" if len(alias.history) < MAX_HISTORY else f" (of the {MAX_HISTORY} moves kept)"
        raise NoEarlierModelError(
            alias.name, f"its history{kept} holds no model before {alias.model_id!r}"
        )
    return named[-1]


# --- in the store ------------------------------------------------------------------------------


async def get(store: KeyValueStore, keys: Keys, name: str) -> AliasRecord:
    """The alias; AliasNotFoundError when the tenant has none of that name."""
    try:
        entry = await store.get(keys.alias(check_name(name)))
    except KeyNotFoundError:
        raise AliasNotFoundError(name) from None
    return AliasRecord.load(entry.value)


async def listed(store: KeyValueStore, keys: Keys) -> list[AliasRecord]:
    """The tenant's aliases, by name (a damaged one left out, and logged)."""
    return readable(AliasRecord, await store.list(keys.aliases))


async def naming(store: KeyValueStore, keys: Keys, model_id: str) -> list[str]:
    """The names of the tenant's aliases that name `model_id`, or serve it as a canary or a
    shadow."""
    return [alias.name for alias in await listed(store, keys) if model_id in _models_of(alias)]


def _models_of(alias: AliasRecord) -> set[str]:
    """Every model the alias has gateways serve: its own, its canary, its shadow."""
    beside = [alias.canary.model_id if alias.canary else None, alias.shadow]
    return {alias.model_id, *(model_id for model_id in beside if model_id)}


async def serve_beside(
    store: KeyValueStore,
    keys: Keys,
    name: str,
    *,
    canary: Canary | None,
    shadow: str | None,
    expected: int,
) -> AliasRecord:
    """Set what gateways serve beside the alias's model (None: nothing), if the alias is still
    at version `expected` (else AliasMovedError): the alias's own model and history are left
    as they are, and its version goes up (gateways and loops read it as a change). Each model
    is held as a move holds its model (`_hold`): none of them can be deleted meanwhile."""
    check_name(name)
    beside = {model_id for model_id in (canary.model_id if canary else None, shadow) if model_id}
    for model_id in beside:
        await _model_entry(store, keys, name, model_id)

    def change(current: AliasRecord | None) -> AliasRecord:
        if current is None:
            raise AliasNotFoundError(name)
        update = {"canary": canary, "shadow": shadow, "version": current.version + 1}
        return current.model_copy(update=update | {"updated_at": utc_now()})

    written = await _write(store, keys, name, change, expected)
    for model_id in beside:
        try:
            await _hold(store, keys, model_id)
        except KeyNotFoundError:  # deleted since it was read: served beside no more
            with contextlib.suppress(AliasError):
                await serve_beside(store, keys, name, canary=None, shadow=None,
                                   expected=written.version)  # fmt: skip
            raise AliasTargetMissingError(name, model_id) from None
    return written


async def move(
    store: KeyValueStore,
    keys: Keys,
    name: str,
    model_id: str,
    *,
    by: str,
    why: str | None = None,
    expected: int | None = None,
) -> AliasRecord:
    """Point the alias (made if new) at `model_id`, recording `by` and `why`. With `expected`,
    only if the alias is still at that version (0: it does not exist yet); else AliasMovedError.
    AliasTargetMissingError when the tenant has no such model."""
    check_name(name)
    await _model_entry(store, keys, name, model_id)  # at once, before anything is written
    change = AliasChange(model_id=model_id, by=by, why=why)
    return await _write(store, keys, name, lambda current: moved(current, name, change), expected)


async def rollback(
    store: KeyValueStore,
    keys: Keys,
    name: str,
    *,
    by: str,
    why: str | None = None,
    expected: int | None = None,
) -> AliasRecord:
    """Point the alias back at the model it named before (`rollback_target`): NoEarlierModelError
    when there is none, AliasTargetMissingError when that model has been deleted since."""
    check_name(name)

    def back(current: AliasRecord | None) -> AliasRecord:
        if current is None:
            raise AliasNotFoundError(name)
        target = rollback_target(current)
        said = why or f"rollback from {current.model_id}"
        return moved(current, name, AliasChange(model_id=target, by=by, why=said, rollback=True))

    return await _write(store, keys, name, back, expected)


async def delete(store: KeyValueStore, keys: Keys, name: str) -> None:
    """Remove the alias (its history with it); AliasNotFoundError when there is none."""
    try:
        await store.delete(keys.alias(check_name(name)))
    except KeyNotFoundError:
        raise AliasNotFoundError(name) from None


async def _write(
    store: KeyValueStore,
    keys: Keys,
    name: str,
    change: Callable[[AliasRecord | None], AliasRecord],
    expected: int | None,
) -> AliasRecord:
    key = keys.alias(name)

    async def once() -> tuple[AliasRecord, Entry | None, int]:
        try:
            before: Entry | None = await store.get(key)
        except KeyNotFoundError:
            before = None
        current = None if before is None else AliasRecord.load(before.value)
        if expected is not None and (version := current.version if current else 0) != expected:
            if current is None:
                raise AliasMovedError(name, expected, version, None, None)
            by = current.history[-1].by if current.history else None
            raise AliasMovedError(name, expected, version, current.model_id, by)
        new = change(current)
        if before is None:
            return new, before, await store.create(key, new.dump())
        return new, before, await store.update(key, new.dump(), before.revision)

    new, before, revision = await retries.compare_and_set(key, once)
    try:
        await _hold(store, keys, new.model_id)
    except KeyNotFoundError:  # deleted since it was read: the alias goes back as it was
        with contextlib.suppress(ConflictError, KeyNotFoundError):  # moved again since: theirs
            if before is None:
                await store.delete(key, revision)
            else:
                await store.update(key, before.value, revision)
        raise AliasTargetMissingError(name, new.model_id) from None
    return new


async def _model_entry(store: KeyValueStore, keys: Keys, name: str, model_id: str) -> Entry:
    try:
        return await store.get(keys.model(model_id))
    except (KeyNotFoundError, InvalidKeyError):  # an id no key can hold names no model
        raise AliasTargetMissingError(name, model_id) from None


async def _hold(store: KeyValueStore, keys: Keys, model_id: str) -> None:
    """Rewrite the model's record as it is: a delete that read it before loses its
    compare-and-set, and looks for aliases again. KeyNotFoundError when it is gone, or being
    deleted."""
    key = keys.model(model_id)

    async def once() -> None:
        entry = await store.get(key)
        if _being_deleted(entry.value):
            raise KeyNotFoundError(key)
        await store.update(key, entry.value, entry.revision)

    await retries.compare_and_set(key, once)


DELETING = "deleting"  # the field of a model record that marks it (records.ModelRecord)


def _being_deleted(value: bytes) -> bool:
    try:
        return json.loads(value).get(DELETING) is True
    except (ValueError, AttributeError):  # damaged: no alias is set to it meanwhile either
        return False


async def claim_for_deletion(store: KeyValueStore, keys: Keys, model_id: str) -> Entry:
    """Mark the model's record as being deleted, unless an alias names it (ModelAliasedError,
    naming them): from then on no alias can be set to it. Returns the record as marked (a
    damaged one is replaced by the mark alone); KeyNotFoundError when there is none."""
    key = keys.model(model_id)

    async def once() -> Entry:
        entry = await store.get(key)
        named = await naming(store, keys, model_id)
        if named:
            raise ModelAliasedError(model_id, named)
        try:
            record = json.loads(entry.value)
            record[DELETING] = True
            marked = json.dumps(record).encode()
        except (ValueError, TypeError):
            marked = json.dumps({DELETING: True}).encode()
        return Entry(key, marked, await store.update(key, marked, entry.revision))

    return await retries.compare_and_set(key, once)


# --- resolving ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    """The model an id or alias names: its id, its record as read, and the alias, if any."""

    model_id: str
    entry: Entry
    alias: str | None = None


async def resolve(store: KeyValueStore, keys: Keys, id_or_alias: str) -> Resolved:
    """The model `id_or_alias` names: the tenant's model of that id, else the model its alias
    of that name names (a model id wins, though no alias can be spelled like one).
    ModelNotFoundError when neither is found; one read for a model id, two for an alias."""
    try:
        return Resolved(id_or_alias, await store.get(keys.model(id_or_alias)))
    except (KeyNotFoundError, InvalidKeyError):
        if not is_name(id_or_alias):
            raise ModelNotFoundError(id_or_alias) from None
    try:
        alias = await get(store, keys, id_or_alias)
    except AliasNotFoundError:
        raise ModelNotFoundError(id_or_alias) from None
    try:
        entry = await store.get(keys.model(alias.model_id))
    except KeyNotFoundError:  # only if a store was changed by hand: moves keep it from happening
        raise ModelNotFoundError(alias.model_id, alias.name) from None
    return Resolved(alias.model_id, entry, alias.name)


async def resolve_model(store: KeyValueStore, keys: Keys, id_or_alias: str) -> str:
    """The id of the model `id_or_alias` names (`resolve`)."""
    return (await resolve(store, keys, id_or_alias)).model_id
