"""`/api/settings`: the seed's settings, secrets masked, edits by compare-and-set.
Lambda: `functions.settings.handler`.

`GET` shows an API key only as `****` and its last four characters. `PUT` changes only the
fields it is given; sending the masked form back leaves the secret as it is. The `ETag` is the
settings' own version (a count of their writes, `"0"` before the first): `PUT` with
`If-Match` answers 412 when someone else wrote in between.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from agentgym import retries
from agentgym.contracts import Privacy, PrivacyUpdate, Settings, SettingsUpdate, built
from agentgym.records import PrivacyRecord, SettingsRecord, upsert
from functions import errors, lambda_entry, lookups
from functions.errors import HttpError
from functions.etags import etag, expected_version
from functions.resources import KeysDep, StoreDep

router = APIRouter(prefix="/api/settings", tags=["settings"], responses=errors.DOCUMENTED)
built(SettingsUpdate)  # before its route (contracts.Body)
built(PrivacyUpdate)

SECRETS = ("openaiKey", "anthropicKey")
MASK = "****"


def mask(secret: str) -> str:
    return MASK + secret[-4:] if len(secret) > 8 else (MASK if secret else "")


def masked(settings: SettingsRecord) -> Settings:
    shown = Settings.model_validate(settings.model_dump())
    for field in SECRETS:
        setattr(shown, field, mask(getattr(settings, field)))
    return shown


@router.get("", response_model=Settings)
async def get_settings(store: StoreDep, keys: KeysDep, response: Response) -> Settings:
    settings, _ = await lookups.settings(store, keys)
    response.headers["ETag"] = etag(settings.version)
    return masked(settings)


@router.put("", response_model=Settings)
async def update_settings(
    update: SettingsUpdate,
    store: StoreDep,
    keys: KeysDep,
    response: Response,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> Settings:
    expected = expected_version(if_match, "GET /api/settings")

    async def write_once() -> SettingsRecord:
        current, revision = await lookups.settings(store, keys)
        if expected is not None and expected != current.version:
            raise HttpError(
                412, f"the settings changed since you read them (now {etag(current.version)}); "
                "GET them again and reapply your change",
            )  # fmt: skip
        changes = update.model_dump(exclude_unset=True, exclude_none=True)
        for field in SECRETS:
            if changes.get(field) == mask(getattr(current, field)):
                del changes[field]  # the masked form sent back: keep the secret
        new = SettingsRecord.model_validate(
            current.model_dump() | changes | {"version": current.version + 1}
        )
        if revision == 0:
            await store.create(keys.settings, new.dump())
        else:
            await store.update(keys.settings, new.dump(), revision)
        return new

    # A ConflictError means someone wrote first: the next try reads again. With If-Match the
    # check above then answers 412; without, the change is merged into the newer settings.
    # Past the bound, TooManyWritersError (a 503 with Retry-After).
    new = await retries.compare_and_set(keys.settings, write_once)
    response.headers["ETag"] = etag(new.version)
    return masked(new)


@router.get("/privacy", response_model=Privacy)
async def get_privacy(store: StoreDep, keys: KeysDep) -> Privacy:
    """What is done to users' words in the traces the tenant sends (`/v1/traces`)."""
    return await lookups.privacy(store, keys)


@router.put("/privacy", response_model=Privacy)
async def update_privacy(update: PrivacyUpdate, store: StoreDep, keys: KeysDep) -> Privacy:
    """Change the fields given: the tenant's own `redact_patterns` (regular expressions, each
    match redacted at ingest), `log_retention_days` (0: as long as the scenario)."""
    changes = update.model_dump(exclude_unset=True, exclude_none=True)
    if changes.get("log_retention_days") == 0:
        changes["log_retention_days"] = None

    def changed(current: PrivacyRecord) -> PrivacyRecord:
        return PrivacyRecord.model_validate(current.model_dump() | changes)

    written = await upsert(store, keys.privacy, PrivacyRecord, changed)
    return Privacy.model_validate(written.model_dump())


def __getattr__(name: str) -> Any:
    """`app` and `handler`, this Lambda entry point's, built on first use (lambda_entry)."""
    return lambda_entry.attribute(__name__, router, name)
