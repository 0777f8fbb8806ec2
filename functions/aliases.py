"""`/api/aliases`: the tenant's names for the models that serve (agentgym/aliases.py).
Lambda: `functions.aliases.handler`.

- `GET /api/aliases`: every alias, by name, each with its history.
- `GET /api/aliases/{name}`: the model it names and how it came to: which model, when, by
  whom and why, oldest first. Its `ETag` is the alias's version.
- `PUT /api/aliases/{name}` (`{"model_id", "why"?}`): point it at a model (made if new); a
  model the tenant does not have is a 409. `model_id` may be another alias: its model is named.
- `POST /api/aliases/{name}/rollback` (`{"why"?}`): back to the model it named before (409
  when its history holds none).
- `DELETE /api/aliases/{name}`: remove it, and its history.

`PUT` and `rollback` with `If-Match` (an ETag read before) answer 412 when the alias moved
since. A move is recorded as made by the caller's tenant (`tenant acme`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Response

from agentgym import aliases
from agentgym.aliases import Alias, AliasBody, AliasRecord, RollbackBody
from agentgym.contracts import built
from agentgym.errors import AliasTargetMissingError, ModelNotFoundError
from agentgym.records import Keys
from functions import errors, lambda_entry
from functions.etags import etag, expected_version
from functions.resources import KeysDep, StoreDep

router = APIRouter(prefix="/api/aliases", tags=["aliases"], responses=errors.DOCUMENTED)
built(AliasBody)  # before their routes (contracts.Body)
built(RollbackBody)

# The path's own check is only its length: the name's rule is checked by agentgym.aliases,
# whose 422 says it in full.
Name = Annotated[str, Path(min_length=1, max_length=200)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]


def _by(keys: Keys) -> str:
    """Who moved an alias, as authentication knows the caller: its tenant."""
    return f"tenant {keys.tenant}"


def _shown(alias: AliasRecord, response: Response) -> Alias:
    response.headers["ETag"] = etag(alias.version)
    return Alias.model_validate(alias.model_dump())


@router.get("", response_model=list[Alias])
async def list_aliases(store: StoreDep, keys: KeysDep) -> list[Alias]:
    return [Alias.model_validate(a.model_dump()) for a in await aliases.listed(store, keys)]


@router.get("/{name}", response_model=Alias)
async def get_alias(name: Name, store: StoreDep, keys: KeysDep, response: Response) -> Alias:
    return _shown(await aliases.get(store, keys, name), response)


@router.put("/{name}", response_model=Alias)
async def set_alias(
    name: Name,
    body: AliasBody,
    store: StoreDep,
    keys: KeysDep,
    response: Response,
    if_match: IfMatch = None,
) -> Alias:
    """Point the alias at a model; `model_id` may be another alias, whose model it then names."""
    expected = expected_version(if_match, f"GET /api/aliases/{name}")
    aliases.check_name(name)  # before the model: a bad name is the first thing to fix
    try:
        model_id = await aliases.resolve_model(store, keys, body.model_id)
    except ModelNotFoundError:
        raise AliasTargetMissingError(name, body.model_id) from None
    moved = await aliases.move(
        store, keys, name, model_id, by=_by(keys), why=body.why, expected=expected
    )
    return _shown(moved, response)


@router.post("/{name}/rollback", response_model=Alias)
async def rollback_alias(
    name: Name,
    store: StoreDep,
    keys: KeysDep,
    response: Response,
    body: RollbackBody | None = None,
    if_match: IfMatch = None,
) -> Alias:
    """Back to the model the alias named before its current one; rollbacks undo moves in turn."""
    expected = expected_version(if_match, f"GET /api/aliases/{name}")
    why = body.why if body else None
    back = await aliases.rollback(store, keys, name, by=_by(keys), why=why, expected=expected)
    return _shown(back, response)


@router.delete("/{name}")
async def delete_alias(name: Name, store: StoreDep, keys: KeysDep) -> dict[str, str]:
    await aliases.delete(store, keys, name)
    return {"status": "deleted"}


def __getattr__(name: str) -> Any:
    """`app` and `handler`, this Lambda entry point's, built on first use (lambda_entry)."""
    return lambda_entry.attribute(__name__, router, name)
