"""`/api/scenarios`: the built-in scenarios trainers register, and each tenant's own, pushed as
scenario files (JSON or YAML) or OpenAI chat JSONL. Lambda: `functions.scenarios.handler`.

A custom scenario's catalog entry is in the key-value store; each version's definition is an
artifact named by the version (a hash of the normalized definition), written before the entry
that names it and never changed, so a session pinned to a version can always read it.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from agentgym import catalog, lifecycle
from agentgym.artifacts import ArtifactStore
from agentgym.config import ApiSettings
from agentgym.errors import (
    ArtifactNotFoundError,
    ConflictError,
    KeyExistsError,
    KeyNotFoundError,
)
from agentgym.records import Keys, ScenarioRecord, SessionRecord, modify
from agentgym.scenario import media
from agentgym.store import KeyValueStore
from functions import errors, lambda_entry, lookups, quotas, uploads
from functions.errors import HttpError
from functions.resources import ArtifactsDep, Authenticated, KeysDep, SettingsDep, StoreDep

if TYPE_CHECKING:  # the parser is imported where a body is read (functions.uploads): a
    # Lambda cold start that lists the catalog does not pay for it
    from agentgym.scenario.parse import Report

router = APIRouter(
    prefix="/api/scenarios",
    tags=["scenarios"],
    dependencies=[Authenticated],
    responses=errors.DOCUMENTED,
)

IdQuery = Annotated[
    str | None, Query(max_length=64, description="the scenario's id (required for JSONL)")
]
NameQuery = Annotated[str | None, Query(max_length=200, description="its display name")]


@router.get("", response_model=list[ScenarioRecord])
async def list_scenarios(store: StoreDep, keys: KeysDep) -> list[ScenarioRecord]:
    """Every scenario the caller can train: the built-in ones, then its own, each with its
    metadata, hyperparameter ranges, source, version and counts."""
    return await lookups.scenarios(store, keys)


@router.post("/validate")
async def validate_scenario(
    request: Request, id: IdQuery = None, name: NameQuery = None
) -> dict[str, Any]:
    """The validation report of a scenario file or JSONL, storing nothing: `valid`, the
    errors and warnings (each with where and what), and for a valid one its id, version and
    counts. A body that cannot be read at all (malformed JSON, YAML or JSONL) is a 400."""
    read = await _read(request, id, name)
    if isinstance(read, uploads.Refusal):
        if read.status != 422 or read.report is None:  # not a definition at all
            raise _refused(read)
        return {"valid": False, **_report(read.report)}
    return {
        "valid": True,
        **_report(read.report),
        "id": read.entry.id,
        "version": read.entry.version,
        "counts": read.entry.counts.model_dump(),
    }


@router.post("", status_code=201, response_model=ScenarioRecord)
async def create_scenario(
    request: Request,
    store: StoreDep,
    keys: KeysDep,
    artifacts: ArtifactsDep,
    settings: SettingsDep,
    id: IdQuery = None,
    name: NameQuery = None,
) -> ScenarioRecord:
    """Create a scenario from a scenario file (`application/json`, `application/yaml`) or
    OpenAI chat JSONL (`application/x-ndjson`, with `?id=`): 201 with its catalog entry; 409
    if the id is taken. Starting a session of it is `POST /api/training/start`."""
    return await create_from(await _parse(request, id, name), store, keys, artifacts, settings)


async def create_from(
    upload: uploads.Upload,
    store: KeyValueStore,
    keys: Keys,
    artifacts: ArtifactStore,
    settings: ApiSettings,
) -> ScenarioRecord:
    """Store a new custom scenario read from `upload` (409 if its id is taken)."""
    record, data = upload.entry, upload.data
    _refuse_builtin(record.id, "is a built-in scenario; choose another id")
    await quotas.check_scenarios(store, keys, settings, len(data))
    written = await _put_definition(artifacts, keys, record, data)
    try:
        await store.create(keys.scenario(record.id), record.dump())
    except KeyExistsError:
        existing = await _own(store, keys, record.id)
        if written and record.version not in existing[0].versions:
            await _forget_definition(artifacts, keys, record.id, record.version)
        raise HttpError(
            409, f"scenario {record.id!r} exists; PUT /api/scenarios/{record.id} "
            "stores a new version of it",
        ) from None  # fmt: skip
    except Exception:
        if written:
            await _forget_definition(artifacts, keys, record.id, record.version)
        raise
    return record


@router.get("/{scenario_id}", response_model=ScenarioRecord)
async def get_scenario(scenario_id: str, store: StoreDep, keys: KeysDep) -> ScenarioRecord:
    return await lookups.scenario(store, keys, scenario_id)


@router.put("/{scenario_id}", response_model=ScenarioRecord)
async def update_scenario(
    scenario_id: str,
    request: Request,
    store: StoreDep,
    keys: KeysDep,
    artifacts: ArtifactsDep,
    settings: SettingsDep,
    name: NameQuery = None,
) -> ScenarioRecord:
    """Store a new version of a custom scenario (the body as for `POST`; its id is the
    path's). Sessions already started keep training on the version they started on; an
    unchanged definition changes nothing."""
    _refuse_builtin(scenario_id, "is a built-in scenario; built-ins cannot be changed")
    current, _ = await _own(store, keys, scenario_id)
    upload = await _parse(request, scenario_id, name)
    return await add_version(upload, current, store, keys, artifacts, settings)


async def add_version(
    upload: uploads.Upload,
    current: ScenarioRecord,
    store: KeyValueStore,
    keys: Keys,
    artifacts: ArtifactStore,
    settings: ApiSettings,
) -> ScenarioRecord:
    """Store `upload` as the current version of the custom scenario `current` (unchanged: as
    it is)."""
    scenario_id = current.id
    pushed, data = upload.entry, upload.data
    if pushed.version == current.version:
        return current
    if pushed.version not in current.versions:
        quotas.check_versions(current, settings)
        await quotas.check_scenarios(store, keys, settings, len(data), replacing=current.id)
    await _put_definition(artifacts, keys, pushed, data)

    def new_version(record: ScenarioRecord) -> ScenarioRecord:
        """The pushed entry as the current version, after the versions stored before (an
        earlier one pushed again moves to the end of the list)."""
        versions = [v for v in record.versions if v != pushed.version]
        added = 0 if pushed.version in record.versions else len(data)
        return pushed.model_copy(
            update={
                "versions": [*versions, pushed.version],
                "stored_bytes": record.stored_bytes + added,
            }
        )

    try:
        written, _ = await modify(store, keys.scenario(scenario_id), ScenarioRecord, new_version)
    except KeyNotFoundError:  # deleted meanwhile: nothing names the definition just written
        await _forget_definition(artifacts, keys, scenario_id, pushed.version)
        raise _missing(scenario_id) from None
    return written


@router.delete("/{scenario_id}")
async def delete_scenario(
    scenario_id: str, store: StoreDep, keys: KeysDep, artifacts: ArtifactsDep
) -> dict[str, str]:
    """Delete a custom scenario and every stored version of it; 409 while a session of it is
    queued or running. Paused and ended sessions stay (a paused one can no longer resume);
    models trained on it stay, and act as before: a bundle carries its tools."""
    _refuse_builtin(scenario_id, "is a built-in scenario; built-ins cannot be deleted")
    record, revision = await _own(store, keys, scenario_id)
    busy = await _active_sessions_of(store, keys, scenario_id)
    if busy:
        raise HttpError(
            409, f"session {busy[0]!r} of scenario {scenario_id!r} is queued or running; "
            "pause or stop it, and wait until it is, before deleting the scenario",
        )  # fmt: skip
    try:
        await store.delete(keys.scenario(scenario_id), revision)
    except ConflictError:
        raise HttpError(
            409, f"scenario {scenario_id!r} changed while it was being deleted; try again"
        ) from None
    for version in record.versions:
        await _forget_definition(artifacts, keys, scenario_id, version)
    return {"status": "deleted"}


@router.get("/{scenario_id}/download", response_class=Response)
async def download_scenario(
    scenario_id: str,
    store: StoreDep,
    keys: KeysDep,
    artifacts: ArtifactsDep,
    version: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The definition as a scenario file (JSON) that pushes back unchanged: the current
    version, or `?version=` one of those the entry lists."""
    record = await lookups.scenario(store, keys, scenario_id)
    wanted = version or record.version
    if wanted not in (record.versions or [record.version]):
        known = ", ".join(record.versions or [record.version])
        raise HttpError(404, f"scenario {scenario_id!r} has no version {wanted!r}; it has {known}")
    if record.source == "builtin":
        data = catalog.builtin_file(scenario_id)
    else:
        try:
            data = await artifacts.get(keys.scenario_definition(scenario_id, wanted))
        except ArtifactNotFoundError:
            raise HttpError(
                409, f"version {wanted!r} of scenario {scenario_id!r} is missing from the "
                "artifact store; push the scenario again",
            ) from None  # fmt: skip
    return Response(
        data,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{scenario_id}.json"'},
    )


# --- helpers ----------------------------------------------------------------------------------


async def _read(
    request: Request, scenario_id: str | None, name: str | None
) -> uploads.Upload | uploads.Refusal:
    """The body read and validated off the event loop (functions.uploads); 415 for a
    Content-Type that is no scenario's. The body's size is BodyLimit's."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in media.FORMATS:
        raise HttpError(
            415, f"send a scenario file as application/json or application/yaml, or OpenAI "
            f"chat JSONL as application/x-ndjson; got {media_type or 'no Content-Type'}",
        )  # fmt: skip
    return await uploads.read_off_loop(await request.body(), media_type, scenario_id, name)


async def _parse(request: Request, scenario_id: str | None, name: str | None) -> uploads.Upload:
    """The valid upload, or HttpError: 400 for a body that is not JSON, YAML or JSONL (with its
    line), 422 for a definition with errors (each saying where it is)."""
    read = await _read(request, scenario_id, name)
    if isinstance(read, uploads.Refusal):
        raise _refused(read)
    return read


def _refused(refusal: uploads.Refusal) -> HttpError:
    return HttpError(
        refusal.status, refusal.message, errors=[p.to_dict() for p in refusal.problems]
    )


def _report(report: Report) -> dict[str, Any]:
    return {
        "errors": [p.to_dict() for p in report.errors],
        "warnings": [p.to_dict() for p in report.warnings],
    }


def _refuse_builtin(scenario_id: str, why: str) -> None:
    if catalog.is_builtin(scenario_id):
        raise HttpError(409, f"{scenario_id!r} {why}")


def _missing(scenario_id: str) -> HttpError:
    return HttpError(
        404, f"custom scenario {scenario_id!r} not found; POST /api/scenarios creates one"
    )


async def _own(store: KeyValueStore, keys: Keys, scenario_id: str) -> tuple[ScenarioRecord, int]:
    """The tenant's own custom scenario and its revision (404 otherwise)."""
    found = await lookups.own_scenario(store, keys, scenario_id)
    if found is None:
        raise _missing(scenario_id)
    return found


async def _put_definition(
    artifacts: ArtifactStore, keys: Keys, entry: ScenarioRecord, data: bytes
) -> bool:
    """Store a version's definition; False when it was stored already (the same content)."""
    name = keys.scenario_definition(entry.id, entry.version)
    with contextlib.suppress(ArtifactNotFoundError):
        await artifacts.size(name)
        return False
    await artifacts.put(name, data)
    return True


async def _forget_definition(
    artifacts: ArtifactStore, keys: Keys, scenario_id: str, version: str
) -> None:
    with contextlib.suppress(ArtifactNotFoundError):
        await artifacts.delete(keys.scenario_definition(scenario_id, version))


async def _active_sessions_of(store: KeyValueStore, keys: Keys, scenario_id: str) -> list[str]:
    """The tenant's queued or running sessions of the scenario, from the active marks (as
    many as the active limit, not the tenant's history)."""
    busy = []
    for mark in await store.list(keys.active):
        session_id = mark.key.rsplit("/", 1)[1]
        try:
            session = SessionRecord.load((await store.get(keys.session(session_id))).value)
        except KeyNotFoundError:
            continue
        if session.scenario_id == scenario_id and session.status in lifecycle.ACTIVE:
            busy.append(session_id)
    return busy


def __getattr__(name: str) -> Any:
    """`app` and `handler`, this Lambda entry point's, built on first use (lambda_entry)."""
    return lambda_entry.attribute(__name__, router, name)
