"""`/api/models`: trained models, their bundles, and importing one. Lambda: `functions.models.handler`."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from agentgym import adapters, aliases, bundle
from agentgym import weights as learner_weights
from agentgym.act import ActAnswer, ActBody, EvaluateBody
from agentgym.bus import Decisions
from agentgym.contracts import ModelDetail, ModelInfo, built
from agentgym.decisions import DecisionIn, new_decision_id
from agentgym.errors import (
    ArtifactNotFoundError,
    BusUnavailableError,
    CorruptRecordError,
    KeyExistsError,
    KeyNotFoundError,
    TrainerRefusedError,
)
from agentgym.ids import MODEL_ID_PREFIX
from agentgym.messages import ActRequest, EvaluateReply
from agentgym.records import Keys, ModelRecord
from agentgym.store import KeyValueStore
from agentgym.traces.privacy import redact
from functions import errors, lambda_entry, lookups, quotas
from functions.errors import HttpError
from functions.factory import IMPORT_PATH
from functions.resources import (
    ArtifactsDep,
    DecisionsDep,
    KeysDep,
    SettingsDep,
    StoreDep,
    TrainersDep,
)

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/models", tags=["models"], responses=errors.DOCUMENTED)
built(ActBody)  # before their routes (contracts.Body)
built(EvaluateBody)

BUNDLE_TYPE = "application/zip"
ACCEPTED_TYPES = ("application/zip", "application/octet-stream", "application/x-agentgym-bundle")


@router.get("", response_model=list[ModelInfo])
async def list_models(store: StoreDep, keys: KeysDep) -> list[ModelInfo]:
    models = await lookups.models(store, keys)
    return [m.info() for m in sorted(models, key=lambda m: (m.created_at, m.id))]


# Every route's `{model_id}` may be an alias of the tenant's too (agentgym.aliases): it serves
# the model the alias names, and answers that model's own id.


@router.get("/{model_id}", response_model=ModelDetail)
async def get_model(model_id: str, store: StoreDep, keys: KeysDep) -> ModelDetail:
    """The model: the seed's fields, the adapter that serves it in its framework's agents
    (agentgym.adapters), and the session and scenario version it is from; `alias` when it was
    named by one."""
    model, alias = await lookups.named_model(store, keys, model_id)
    return ModelDetail.model_validate(
        model.info().model_dump()
        | {
            "adapter": adapters.adapter_for(model.framework),
            "session_id": model.session_id,
            "scenario_version": model.scenario_version,
            "learner": model.learner,
            "hyperparameters": model.hyperparameters,
            "accuracy_n": model.accuracy_n,
            "kfold": model.kfold,
            "alias": alias,
        }
    )


@router.delete("/{model_id}")
async def delete_model(
    model_id: str, store: StoreDep, keys: KeysDep, artifacts: ArtifactsDep
) -> dict[str, str]:
    """Delete the model and its bundle; 409 naming the aliases that name it. Its record is
    marked first, so that no alias is set to it meanwhile (agentgym.aliases); the bundle goes
    next, so a retry after a failure still finds the record and finishes the job. A damaged
    record is deleted too: its bundle is where every bundle of the tenant's is."""
    model_id = await aliases.resolve_model(store, keys, model_id)
    try:
        entry = await aliases.claim_for_deletion(store, keys, model_id)
    except KeyNotFoundError:  # deleted meanwhile
        raise HttpError(404, f"model {model_id!r} not found") from None
    try:
        bundle_name = ModelRecord.load(entry.value).bundle
    except CorruptRecordError:
        bundle_name = keys.bundle(model_id)
    with contextlib.suppress(ArtifactNotFoundError):
        await artifacts.delete(bundle_name)
    with contextlib.suppress(KeyNotFoundError):  # another delete of it finished first
        await store.delete(keys.model(model_id))
    return {"status": "deleted"}


@router.get("/{model_id}/download", response_class=Response)
async def download_model(
    model_id: str, store: StoreDep, keys: KeysDep, artifacts: ArtifactsDep
) -> Response:
    """The model bundle (`.agm`): a manifest and the policy's weights, in a file named by the
    model's id (the one an alias named when it was read)."""
    model, _ = await lookups.named_model(store, keys, model_id)
    try:
        data = await artifacts.get(model.bundle)
    except ArtifactNotFoundError:
        raise HttpError(404, f"model {model.id!r} has no bundle stored") from None
    return Response(
        data,
        media_type=BUNDLE_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{model.id}{bundle.SUFFIX}"'},
    )


@router.post("/{model_id}/evaluate", response_model=EvaluateReply)
async def evaluate_model(
    model_id: str,
    store: StoreDep,
    keys: KeysDep,
    trainers: TrainersDep,
    body: EvaluateBody | None = None,
) -> EvaluateReply:
    """Score the model on its scenario's held-out tasks, computed by a trainer: accuracy,
    average reward, and each tool's precision and recall; and on its held-out logs, off-policy
    (`offline`). With a body, on that scenario instead (`version`: its latest if omitted), all
    of its tasks and logs where it is not the model's own."""
    model, _ = await lookups.named_model(store, keys, model_id)
    scenario_id = version = None
    if body is not None:
        scenario = await lookups.scenario(store, keys, body.scenario_id)
        scenario_id, version = scenario.id, body.version or scenario.version
    try:
        return await trainers.evaluate(model.id, keys.tenant, scenario_id, version)
    except TrainerRefusedError as exc:
        raise HttpError(422, f"the model could not be evaluated: {exc.reason}") from None


@router.post("/{model_id}/act", response_model=ActAnswer)
async def act(
    model_id: str,
    body: ActBody,
    store: StoreDep,
    keys: KeysDep,
    trainers: TrainersDep,
    decisions: DecisionsDep,
) -> ActAnswer:
    """The model's next choice for a request after the calls made so far (each `tool` and
    whether it `succeeded`), among `tools` if given (else all the model's): answered by a
    trainer, which keeps the model loaded. `confidence` is the calibrated probability that
    `next` is right; `in_scope` is false for a request unlike those it trained on, where its
    choice means little; `unsure` is true where one choice is not to be trusted alone (offer
    the `prediction_set`); `model_id` says which model answered."""
    model, _ = await lookups.named_model(store, keys, model_id)
    request = ActRequest.model_validate(
        body.model_dump()
        | {"model_id": model.id, "tenant": keys.tenant}
        | {"bundle": model.bundle, "sha256": model.sha256}
    )
    try:
        answer = await trainers.act(request)
    except TrainerRefusedError as exc:
        raise HttpError(exc.status if 400 <= exc.status < 500 else 422, exc.reason) from None
    answer = answer.model_copy(update={"model_id": model.id})
    return await _logged(answer, body, model, store, keys, decisions)


async def _logged(
    answer: ActAnswer,
    body: ActBody,
    model: ModelRecord,
    store: KeyValueStore,
    keys: Keys,
    decisions: Decisions,
) -> ActAnswer:
    """The answer with the id of its decision in the log (agentgym/decisions.py), as the
    gateway logs its own: the request redacted, what was on offer (none listed: the model's
    own tools), the choice and the model's probabilities. Where the log cannot take it, the
    answer goes all the same, with no id."""
    offered = [tool if isinstance(tool, str) else tool.name for tool in body.tools or ()]
    definitions = [
        tool if isinstance(tool, str) else tool.model_dump() for tool in body.tools or ()
    ]
    patterns = (await lookups.privacy(store, keys)).redact_patterns
    decision = DecisionIn(
        kind="decision",
        id=new_decision_id(),
        time=time.time(),
        model_id=model.id,
        scenario_id=model.scenario,
        scenario_version=model.scenario_version or "",
        tools_digest=hashlib.sha256(json.dumps(definitions).encode()).hexdigest(),
        text=redact(body.text, patterns),
        tools=offered,
        served=[answer.next],
        probabilities=answer.probabilities,
        first_probability=1.0,  # the model's first choice, always
        unsure=answer.unsure,
        in_scope=answer.in_scope,
    )
    try:
        await decisions.publish_decisions(
            keys.tenant, [(decision.scenario_id, decision.id, decision.model_dump_json().encode())]
        )
    except BusUnavailableError as exc:
        logger.warning("a decision of %s was not logged: %s", model.id, exc)
        return answer
    return answer.model_copy(update={"decision_id": decision.id})


@router.post(IMPORT_PATH.removeprefix("/api/models"), status_code=201, response_model=ModelInfo)
async def import_model(
    request: Request,
    store: StoreDep,
    keys: KeysDep,
    artifacts: ArtifactsDep,
    settings: SettingsDep,
    response: Response,
    name: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> ModelInfo:
    """Import a bundle sent as the raw request body (`curl --data-binary @model.agm`): 201
    with the new model, or 200 with the model the tenant already has of the same weights and
    scenario version (imported before, or trained here).

    It is checked before anything is stored, off the event loop and without inflating more
    than it claims: its format, size (`AGENTGYM_MAX_BUNDLE_BYTES`) and checksum, that a
    trainer knows its scenario, that its weights are the learner's layout for that
    scenario's tools, and the tenant's model quotas. A failed import stores nothing.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in ACCEPTED_TYPES:
        raise HttpError(
            415, f"send the bundle as the raw body with Content-Type {BUNDLE_TYPE}; "
            f"got {content_type or 'none'}",
        )  # fmt: skip
    data = await request.body()
    # Inflating and checking take CPU time: off the event loop, so other requests go on.
    manifest, weights = await asyncio.to_thread(bundle.unpack, data, settings.max_bundle_bytes)
    await lookups.scenario(store, keys, manifest.scenario_id)  # 404 unless it is in the catalog
    await asyncio.to_thread(learner_weights.check, weights, manifest.learner)
    same = (manifest.weights_sha256, manifest.scenario_id, manifest.scenario_version)
    for model in await lookups.models(store, keys):
        if (model.sha256, model.scenario, model.scenario_version) == same:
            response.status_code = 200  # imported before, or trained here: that model
            return model.info()
    await quotas.check_models(store, keys, settings, len(data))
    # Named by what it is, so that two imports of it at once make one model, not two.
    model_id = MODEL_ID_PREFIX + hashlib.sha256(repr(same).encode()).hexdigest()[:16]
    record = ModelRecord.of_bundle(manifest, model_id, keys, len(data), name=name)
    await artifacts.put(record.bundle, data)
    try:
        await store.create(keys.model(model_id), record.dump())
    except KeyExistsError:  # the same bundle, imported meanwhile: its bundle is this one
        response.status_code = 200
        existing, _ = await lookups.model(store, keys, model_id)
        return existing.info()
    except Exception:
        # No record, no file: nothing could list or delete the bundle otherwise.
        with contextlib.suppress(Exception):
            await artifacts.delete(record.bundle)
        raise
    return record.info()


def __getattr__(name: str) -> Any:
    """`app` and `handler`, this Lambda entry point's, built on first use (lambda_entry)."""
    return lambda_entry.attribute(__name__, router, name)
