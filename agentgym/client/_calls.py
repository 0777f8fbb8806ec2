"""Every API call as data, with no I/O: the request to send and how to read its answer.

`Client` and `AsyncClient` send the same `Call`s, one through `httpx.Client`, the other
through `httpx.AsyncClient`, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, PrivateAttr

from agentgym.act import ActAnswer, ActBody, ActCall, EvaluateBody
from agentgym.aliases import Alias, AliasBody, RollbackBody
from agentgym.config import ClientSettings
from agentgym.contracts import (
    ActionResponse,
    Episode,
    EpisodePage,
    ModelDetail,
    ModelInfo,
    Settings,
    SettingsUpdate,
    TrainingStartRequest,
    TrainingStartResponse,
    TrainingStatus,
)
from agentgym.messages import EvaluateReply, SessionEvaluation, TrainingUpdate
from agentgym.records import ScenarioRecord
from agentgym.retries import Bound
from agentgym.scenario import media
from agentgym.state import SessionStatus

from .errors import SessionEndedError, Unavailable

if TYPE_CHECKING:
    pass

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

# A 503 (the store, NATS or the trainers unreachable) is safe to send again: the API undid
# what it had begun, or answers a repeat as the first (a start carries an Idempotency-Key; a
# second pause, resume or stop is the first one's). After the Retry-After it names, else
# with backoff from 0.5 s.
BUSY = Bound(attempts=None, timeout_s=30.0, wait_initial_s=0.5, wait_max_s=4.0, wait_jitter_s=0.5)


def busy(exc: BaseException) -> bool | float:
    """Whether to send again after `exc`, and when: a 503's Retry-After seconds (at most
    BUSY's longest wait), or True for BUSY's backoff; False for anything else."""
    if not isinstance(exc, Unavailable):
        return False
    return True if exc.retry_after is None else min(exc.retry_after, BUSY.wait_max_s)


# What a scenario or a bundle may be given as: a path, the bytes, or an open binary file
# (a scenario also as its definition, a dict sent as JSON).
Data = bytes | str | os.PathLike[str] | IO[bytes]
ScenarioSource = Data | Mapping[str, Any]
Statuses = SessionStatus | str | Iterable[SessionStatus | str]

BUNDLE_TYPE = "application/zip"


@dataclass(frozen=True)
class ClientOptions:
    """Where the API is and how every request authenticates, resolved once per client."""

    base_url: str
    api_key: str
    timeout: float
    retries: int

    @classmethod
    def resolve(
        cls, base_url: str | None, api_key: str | None, timeout: float, retries: int
    ) -> ClientOptions:
        """The arguments given; for those not given, AGENTGYM_API_URL and AGENTGYM_API_KEY."""
        if retries < 0:
            raise ValueError(f"retries must be 0 or more; got {retries}")
        if base_url is None or api_key is None:
            env = ClientSettings()
            base_url = env.api_url if base_url is None else base_url
            api_key = env.api_key if api_key is None else api_key
        return cls(base_url.rstrip("/"), api_key, timeout, retries)

    @property
    def headers(self) -> dict[str, str]:
        # API keys and JWTs alike: the API also reads X-API-Key, but Bearer is the one both take.
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request, and `parse` to turn its (successful) answer into what the caller gets."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: dict[str, str | int] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    json: Any = None


class SettingsWithETag(Settings):
    """The settings as read or written, with the `etag` that `update(if_match=...)` sends
    back so that a change made meanwhile by someone else is refused (412), not overwritten."""

    _etag: str = PrivateAttr(default="")

    @property
    def etag(self) -> str:
        return self._etag


# --- reading answers ---------------------------------------------------------------------------


def _one(kind: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: kind.model_validate_json(response.content)


def _many(kind: type[M]) -> Callable[[httpx.Response], list[M]]:
    return lambda response: [kind.model_validate(item) for item in response.json()]


def _content(response: httpx.Response) -> bytes:
    return response.content


def _nothing(response: httpx.Response) -> None:
    return None


def _report(response: httpx.Response) -> dict[str, Any]:
    report: dict[str, Any] = response.json()
    return report


def _settings(response: httpx.Response) -> SettingsWithETag:
    settings = SettingsWithETag.model_validate_json(response.content)
    settings._etag = response.headers.get("etag", "")
    return settings


def _id(value: str) -> str:
    """One path segment, whatever the id (`/`, `?`, and dots, which URLs would resolve):
    an id can never reach another route."""
    if not value:
        raise ValueError("an id cannot be empty")
    return quote(value, safe="").replace(".", "%2E")


# --- scenarios ---------------------------------------------------------------------------------


def list_scenarios() -> Call[list[ScenarioRecord]]:
    return Call("GET", "/api/scenarios", _many(ScenarioRecord))


def get_scenario(scenario_id: str) -> Call[ScenarioRecord]:
    return Call("GET", f"/api/scenarios/{_id(scenario_id)}", _one(ScenarioRecord))


def _query(**values: str | None) -> dict[str, str | int]:
    return {name: value for name, value in values.items() if value is not None}


def create_scenario(
    body: bytes, media_type: str, scenario_id: str | None, name: str | None
) -> Call[ScenarioRecord]:
    return Call(
        "POST", "/api/scenarios", _one(ScenarioRecord), _query(id=scenario_id, name=name),
        {"Content-Type": media_type}, body,
    )  # fmt: skip


def update_scenario(
    scenario_id: str, body: bytes, media_type: str, name: str | None
) -> Call[ScenarioRecord]:
    return Call(
        "PUT", f"/api/scenarios/{_id(scenario_id)}", _one(ScenarioRecord), _query(name=name),
        {"Content-Type": media_type}, body,
    )  # fmt: skip


def validate_scenario(
    body: bytes, media_type: str, scenario_id: str | None, name: str | None
) -> Call[dict[str, Any]]:
    return Call(
        "POST", "/api/scenarios/validate", _report, _query(id=scenario_id, name=name),
        {"Content-Type": media_type}, body,
    )  # fmt: skip


def download_scenario(scenario_id: str, version: str | None) -> Call[bytes]:
    path = f"/api/scenarios/{_id(scenario_id)}/download"
    return Call("GET", path, _content, _query(version=version))


def delete_scenario(scenario_id: str) -> Call[None]:
    return Call("DELETE", f"/api/scenarios/{_id(scenario_id)}", _nothing)


def push_again(
    body: bytes, media_type: str, scenario_id: str | None, name: str | None
) -> Call[ScenarioRecord] | None:
    """After a push's create answered 409, the call that stores the body as the scenario's
    next version (as `agentgym scenarios push` does); None when the body names no id."""
    scenario_id = scenario_id or scenario_id_of(body, media_type)
    return None if scenario_id is None else update_scenario(scenario_id, body, media_type, name)


def blocks(source: object) -> bool:
    """Whether reading `source` reads a file (the async client does that off the event loop)."""
    return not isinstance(source, bytes | Mapping)


def read_data(source: Data) -> tuple[bytes, str | None]:
    """The bytes of `source`, and the file name they came from (None for bytes)."""
    if isinstance(source, bytes):
        return source, None
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        return path.read_bytes(), path.name
    name = getattr(source, "name", None)
    return source.read(), name if isinstance(name, str) else None


def scenario_body(source: ScenarioSource, media_type: str | None) -> tuple[bytes, str]:
    """A scenario's body and its Content-Type: a dict is sent as JSON; a file's type follows
    its suffix as `agentgym scenarios push` has it (`.jsonl` is chat JSONL); bytes are
    YAML or JSON unless `media_type` says otherwise."""
    if isinstance(source, Mapping):
        return json.dumps(source).encode(), media_type or "application/json"
    body, name = read_data(source)
    if media_type is None and name is not None:
        media_type = media.media_type(Path(name))
    return body, media_type or media.DEFAULT


def scenario_id_of(body: bytes, media_type: str) -> str | None:
    """The `id` a scenario file gives itself (None when it gives none, or is chat JSONL, whose
    id only `?id=` gives): what a push needs to store a next version."""
    if "ndjson" in media_type or "jsonl" in media_type:
        return None
    try:
        if media_type == "application/json":
            data = json.loads(body)
        else:
            from agentgym.scenario import safe_yaml

            data = safe_yaml.load(body.decode())
    except Exception:  # unreadable: the API said why when it answered the push
        return None
    found = data.get("id") if isinstance(data, dict) else None
    return found if isinstance(found, str) else None


# --- training ----------------------------------------------------------------------------------


def start_request(
    scenario_id: str | TrainingStartRequest,
    framework: str | None,
    max_episodes: int | None,
    learning_rate: float | None,
    seed: int | None,
    evaluation: str | None = None,
) -> TrainingStartRequest:
    """The start request asked for: a TrainingStartRequest as it is, or one of the keyword
    arguments (validated here, so a wrong field fails before anything is sent)."""
    fields = {
        "framework": framework,
        "max_episodes": max_episodes,
        "learning_rate": learning_rate,
        "seed": seed,
        "evaluation": evaluation,
    }
    if isinstance(scenario_id, TrainingStartRequest):
        if any(value is not None for value in fields.values()):
            raise TypeError("pass a TrainingStartRequest or keyword arguments, not both")
        return scenario_id
    given = {name: value for name, value in fields.items() if value is not None}
    return TrainingStartRequest.model_validate({"scenario_id": scenario_id, **given})


def start_training(
    request: TrainingStartRequest, idempotency_key: str | None
) -> Call[TrainingStartResponse]:
    # Always idempotent: retrying a 503, or a start whose answer was lost, can then never
    # queue a second session.
    key = idempotency_key or uuid.uuid4().hex
    return Call(
        "POST", "/api/training/start", _one(TrainingStartResponse),
        headers={"Idempotency-Key": key}, json=request.model_dump(mode="json", exclude_none=True),
    )  # fmt: skip


def training_status(session_id: str) -> Call[TrainingStatus]:
    return Call("GET", f"/api/training/{_id(session_id)}", _one(TrainingStatus))


def list_sessions() -> Call[list[TrainingStatus]]:
    return Call("GET", "/api/training", _many(TrainingStatus))


def control(session_id: str, action: str) -> Call[ActionResponse]:
    return Call("POST", f"/api/training/{_id(session_id)}/{action}", _one(ActionResponse))


def delete_session(session_id: str) -> Call[None]:
    return Call("DELETE", f"/api/training/{_id(session_id)}", _nothing)


def training_updates(session_id: str, since: int, limit: int | None) -> Call[list[TrainingUpdate]]:
    params: dict[str, str | int] = {"since": since}
    if limit is not None:
        params["limit"] = limit
    path = f"/api/training/{_id(session_id)}/metrics"
    return Call("GET", path, _many(TrainingUpdate), params)


def training_episodes(
    session_id: str,
    after: int,
    limit: int | None,
    split: str | None,
    solved: bool | None,
    intent: str | None,
) -> Call[EpisodePage]:
    params = _query(split=split, intent=intent) | {"after": after}
    if solved is not None:
        params["solved"] = "true" if solved else "false"
    if limit is not None:
        params["limit"] = limit
    path = f"/api/training/{_id(session_id)}/episodes"
    return Call("GET", path, _one(EpisodePage), params)


def training_episode(session_id: str, seq: int) -> Call[Episode]:
    return Call("GET", f"/api/training/{_id(session_id)}/episodes/{seq}", _one(Episode))


def training_evaluation(session_id: str) -> Call[SessionEvaluation]:
    return Call("GET", f"/api/training/{_id(session_id)}/evaluation", _one(SessionEvaluation))


def wanted_statuses(statuses: Statuses) -> frozenset[SessionStatus]:
    """What `wait()` was given, as statuses (ValueError naming one that is none)."""
    if isinstance(statuses, str):  # a SessionStatus is a str too
        statuses = [statuses]
    wanted = frozenset(SessionStatus(status) for status in statuses)
    if not wanted:
        raise ValueError("wait for at least one status")
    return wanted


def reached(status: TrainingStatus, wanted: frozenset[SessionStatus]) -> bool:
    """Whether `wait()` is done: True once the session is in a wanted status; raises
    SessionEndedError once it has ended in another (it will never change again)."""
    if status.status in wanted:
        return True
    if status.status.terminal:
        raise SessionEndedError(status, wanted)
    return False


def timed_out(status: TrainingStatus, wanted: frozenset[SessionStatus], timeout: float) -> str:
    return (
        f"session {status.session_id} is still {status.status} after {timeout:g} s of waiting "
        f"for {' or '.join(sorted(wanted))}"
    )


# --- models ------------------------------------------------------------------------------------


def list_models() -> Call[list[ModelInfo]]:
    return Call("GET", "/api/models", _many(ModelInfo))


def get_model(model_id: str) -> Call[ModelDetail]:
    return Call("GET", f"/api/models/{_id(model_id)}", _one(ModelDetail))


def download_model(model_id: str) -> Call[bytes]:
    return Call("GET", f"/api/models/{_id(model_id)}/download", _content)


def import_model(body: bytes, name: str | None) -> Call[ModelInfo]:
    return Call(
        "POST", "/api/models/import", _one(ModelInfo), _query(name=name),
        {"Content-Type": BUNDLE_TYPE}, body,
    )  # fmt: skip


def act_with_model(
    model_id: str,
    text: str,
    calls: Iterable[tuple[str, bool] | str],
    tools: Iterable[str] | None,
) -> Call[ActAnswer]:
    made = [
        ActCall(tool=call) if isinstance(call, str) else ActCall(tool=call[0], succeeded=call[1])
        for call in calls
    ]
    body = ActBody(text=text, calls=made, tools=None if tools is None else list(tools))
    path = f"/api/models/{_id(model_id)}/act"
    return Call("POST", path, _one(ActAnswer), json=body.model_dump(mode="json"))


def evaluate_model(
    model_id: str, scenario_id: str | None = None, version: str | None = None
) -> Call[EvaluateReply]:
    path = f"/api/models/{_id(model_id)}/evaluate"
    if scenario_id is None:
        return Call("POST", path, _one(EvaluateReply))
    body = EvaluateBody(scenario_id=scenario_id, version=version)
    return Call("POST", path, _one(EvaluateReply), json=body.model_dump(mode="json"))


def delete_model(model_id: str) -> Call[None]:
    return Call("DELETE", f"/api/models/{_id(model_id)}", _nothing)


# --- aliases -----------------------------------------------------------------------------------


def _if_match(version: int | None) -> dict[str, str]:
    return {} if version is None else {"If-Match": f'"{version}"'}


def list_aliases() -> Call[list[Alias]]:
    return Call("GET", "/api/aliases", _many(Alias))


def get_alias(name: str) -> Call[Alias]:
    return Call("GET", f"/api/aliases/{_id(name)}", _one(Alias))


def set_alias(name: str, model_id: str, why: str | None, expected: int | None) -> Call[Alias]:
    body = AliasBody(model_id=model_id, why=why).model_dump(mode="json", exclude_none=True)
    path = f"/api/aliases/{_id(name)}"
    return Call("PUT", path, _one(Alias), headers=_if_match(expected), json=body)


def rollback_alias(name: str, why: str | None, expected: int | None) -> Call[Alias]:
    body = RollbackBody(why=why).model_dump(mode="json", exclude_none=True)
    path = f"/api/aliases/{_id(name)}/rollback"
    return Call("POST", path, _one(Alias), headers=_if_match(expected), json=body)


def delete_alias(name: str) -> Call[None]:
    return Call("DELETE", f"/api/aliases/{_id(name)}", _nothing)


# --- settings ----------------------------------------------------------------------------------


def get_settings() -> Call[SettingsWithETag]:
    return Call("GET", "/api/settings", _settings)


def update_settings(fields: dict[str, Any], if_match: str | None) -> Call[SettingsWithETag]:
    """Only `fields` change (validated here: an unknown one fails before anything is sent)."""
    update = SettingsUpdate.model_validate(fields)
    headers = {"If-Match": if_match} if if_match is not None else {}
    body = update.model_dump(mode="json", exclude_unset=True)
    return Call("PUT", "/api/settings", _settings, headers=headers, json=body)
