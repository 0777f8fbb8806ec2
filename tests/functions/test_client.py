"""`agentgym.client` against the real API (uvicorn, SQLite, nats-server; no trainer runs here,
so sessions stay queued): every resource, both clients, and the errors they raise.

Each test runs with `Client` and with `AsyncClient` (conftest.py's `make_client`), so that
one test body covers both."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest
import stamina.instrumentation
import yaml

from agentgym.aliases import Alias
from agentgym.auth import hash_key, new_key
from agentgym.client import (
    ApiConnectionError,
    Client,
    Conflict,
    Invalid,
    NotFound,
    PreconditionFailed,
    SessionEndedError,
    Snapshot,
    Unauthorized,
    Unavailable,
)
from agentgym.config import ApiSettings
from agentgym.contracts import (
    ActionResponse,
    ModelInfo,
    TrainingStartRequest,
    TrainingStartResponse,
    TrainingStatus,
)
from agentgym.records import ScenarioRecord
from agentgym.store import KeyValueStore
from functions.app import build
from functions.resources import Resources

from ..servers import serve_asgi
from .conftest import MakeClient
from .test_custom_scenarios import jsonl_lines, scenario_file

# --- scenarios ---------------------------------------------------------------------------------


async def test_scenarios_are_listed_and_read_as_catalog_entries(client: Any) -> None:
    listed = await client.scenarios.list()
    assert all(isinstance(s, ScenarioRecord) for s in listed)
    assert {s.id for s in listed} >= {"customer_support", "code_review", "data_analysis"}
    one = await client.scenarios.get("customer_support")
    assert one.source == "builtin" and one.hyperparameters.max_episodes.max == 1_000_000


async def test_a_push_creates_then_stores_the_next_version(client: Any) -> None:
    created = await client.scenarios.push(scenario_file())
    assert created.id == "shop_support" and created.source == "custom"
    assert created.counts.tools == 3 and created.counts.tasks == 20
    again = await client.scenarios.push(scenario_file(name="Shop support, v2"))
    assert again.id == "shop_support" and again.version != created.version
    assert again.versions == [created.version, again.version]
    assert (await client.scenarios.get("shop_support")).name == "Shop support, v2"


async def test_a_push_reads_a_file_by_its_suffix(client: Any, tmp_path: Path) -> None:
    as_yaml = tmp_path / "desk.yaml"
    as_yaml.write_text(yaml.safe_dump(scenario_file("desk")))
    assert (await client.scenarios.push(as_yaml)).id == "desk"
    chats = tmp_path / "chats.jsonl"
    chats.write_text(jsonl_lines())
    with pytest.raises(Invalid) as no_id:  # chat JSONL has no id of its own
        await client.scenarios.push(chats)
    assert no_id.value.status == 422 and "id" in no_id.value.detail
    pushed = await client.scenarios.push(str(chats), id="from_chats", name="From chats")
    assert pushed.id == "from_chats" and pushed.name == "From chats"
    with chats.open("rb") as opened:  # an open file, its type from its name
        assert (await client.scenarios.push(opened, id="from_chats")).id == "from_chats"
    raw = jsonl_lines().encode()
    given = await client.scenarios.push(raw, id="raw_chats", media_type="application/x-ndjson")
    assert given.counts.tasks == 20


async def test_pushing_a_built_in_id_is_a_conflict_that_says_so(client: Any) -> None:
    with pytest.raises(Conflict) as refused:
        await client.scenarios.push(scenario_file("customer_support"))
    assert refused.value.status == 409 and refused.value.code == "conflict"
    assert "built-in" in refused.value.detail


async def test_validate_reports_without_storing(client: Any) -> None:
    report = await client.scenarios.validate(scenario_file())
    assert report["valid"] is True and report["id"] == "shop_support"
    assert report["counts"]["tasks"] == 20
    bad = scenario_file()
    bad["tasks"][12]["solution"] = ["lookup_order", "issue_refnd"]
    report = await client.scenarios.validate(bad)
    assert report["valid"] is False
    assert "tasks[12].solution[1]" in [e["where"] for e in report["errors"]]
    with pytest.raises(NotFound):
        await client.scenarios.get("shop_support")


async def test_a_rejected_push_carries_the_errors_that_say_where(client: Any) -> None:
    bad = scenario_file()
    bad["tasks"][12]["solution"] = ["lookup_order", "issue_refnd"]
    with pytest.raises(Invalid) as invalid:
        await client.scenarios.push(bad)
    assert invalid.value.code == "invalid" and "issue_refund" in invalid.value.detail
    assert "tasks[12].solution[1]" in [e["where"] for e in invalid.value.errors]


async def test_a_download_pushes_back_unchanged_and_delete_removes_it(client: Any) -> None:
    first = await client.scenarios.push(scenario_file())
    second = await client.scenarios.push(scenario_file(name="Renamed"))
    current = await client.scenarios.download("shop_support")
    assert json.loads(current)["name"] == "Renamed"
    older = await client.scenarios.download("shop_support", version=first.version)
    assert json.loads(older)["name"] == "Shop support"
    again = await client.scenarios.push(current, media_type="application/json")
    assert again.version == second.version
    await client.scenarios.delete("shop_support")
    with pytest.raises(NotFound) as gone:
        await client.scenarios.get("shop_support")
    assert gone.value.status == 404 and "shop_support" in gone.value.detail


# --- training ----------------------------------------------------------------------------------


async def test_start_queues_a_session_read_back_as_a_typed_status(client: Any) -> None:
    started = await client.training.start("customer_support", framework="AutoGen", seed=7)
    assert isinstance(started, TrainingStartResponse) and started.status == "started"
    status = await client.training.status(started.session_id)
    assert isinstance(status, TrainingStatus)
    assert status.status == "queued" and status.framework == "AutoGen" and status.seed == 7
    assert status.max_episodes == 200 and status.learning_rate == 0.001  # the settings'
    listed = await client.training.list()
    assert [s.session_id for s in listed] == [started.session_id]
    assert await client.training.updates(started.session_id) == []


async def test_start_takes_a_request_model_and_an_idempotency_key(client: Any) -> None:
    request = TrainingStartRequest(scenario_id="code_review", max_episodes=300)
    first = await client.training.start(request, idempotency_key="retry-me")
    second = await client.training.start(request, idempotency_key="retry-me")
    assert first.session_id == second.session_id
    assert (await client.training.status(first.session_id)).max_episodes == 300
    with pytest.raises(TypeError):
        await client.training.start(request, seed=1)


async def test_start_refusals_raise_with_what_to_change(client: Any) -> None:
    with pytest.raises(NotFound) as unknown:
        await client.training.start("no_such_scenario")
    assert unknown.value.code == "not_found" and "no_such_scenario" in unknown.value.detail
    with pytest.raises(Invalid) as too_many:
        await client.training.start("customer_support", max_episodes=10**6 + 1)
    assert "max_episodes" in too_many.value.detail and "1000000" in too_many.value.detail
    with pytest.raises(pydantic.ValidationError):  # checked here: nothing is sent
        await client.training.start("customer_support", seed=-1)


async def test_pause_resume_stop_and_delete_of_a_queued_session(client: Any) -> None:
    session_id = (await client.training.start("customer_support")).session_id
    with pytest.raises(Conflict) as busy:
        await client.training.delete(session_id)
    assert "queued" in busy.value.detail
    assert await client.training.pause(session_id) == ActionResponse(status="paused")
    assert (await client.training.status(session_id)).status == "paused"
    with pytest.raises(Conflict) as twice:
        await client.training.pause(session_id)
    assert "paused" in twice.value.detail
    assert (await client.training.resume(session_id)).status == "resumed"
    resumed = await client.training.status(session_id)
    assert resumed.status == "queued" and resumed.pending == "resume"
    assert (await client.training.stop(session_id)).status == "stopped"
    assert (await client.training.status(session_id)).pending == "stop"  # a trainer's to do

    other = (await client.training.start("customer_support")).session_id
    await client.training.pause(other)
    await client.training.delete(other)
    with pytest.raises(NotFound):
        await client.training.status(other)


async def test_wait_returns_at_once_or_times_out(client: Any) -> None:
    session_id = (await client.training.start("customer_support")).session_id
    await client.training.pause(session_id)
    reached = await client.training.wait(session_id, ["paused", "completed"], timeout=5)
    assert reached.status == "paused"
    with pytest.raises(TimeoutError) as waiting:  # no trainer here: it never completes
        await client.training.wait(session_id, "completed", timeout=0.3, poll=0.05)
    assert session_id in str(waiting.value) and "paused" in str(waiting.value)
    with pytest.raises(ValueError):
        await client.training.wait(session_id, "finished")


async def test_wait_raises_when_the_session_ends_otherwise(
    client: Any, store: KeyValueStore
) -> None:
    from agentgym.records import Keys, SessionRecord, modify
    from agentgym.state import SessionStatus

    session_id = (await client.training.start("customer_support")).session_id

    def fail(record: SessionRecord) -> SessionRecord:  # as a trainer records a failure
        return record.model_copy(update={"status": SessionStatus.FAILED, "error": "out of memory"})

    await modify(store, Keys().session(session_id), SessionRecord, fail)
    with pytest.raises(SessionEndedError) as ended:
        await client.training.wait(session_id, "completed", timeout=5)
    assert ended.value.status.status == "failed" and "out of memory" in str(ended.value)


# --- models ------------------------------------------------------------------------------------


async def test_a_model_is_imported_read_downloaded_and_deleted(client: Any, tmp_path: Path) -> None:
    from .test_models import make_bundle  # its weights are the learner's layout

    data = make_bundle()
    assert await client.models.list() == []
    imported = await client.models.import_(data, name="mine")
    assert isinstance(imported, ModelInfo) and imported.name == "mine"
    assert await client.models.list() == [imported]
    detail = await client.models.get(imported.id)
    assert ModelInfo.model_validate(detail.model_dump()) == imported
    assert detail.adapter == "agentgym.adapters.tool_choice"  # AutoGen has none of its own
    assert await client.models.download(imported.id) == data
    path = tmp_path / "m.agm"
    path.write_bytes(data)
    from_file = await client.models.import_(path)
    assert from_file == imported  # the same bundle, from a file: the model it made
    await client.models.delete(imported.id)
    with pytest.raises(NotFound):
        await client.models.get(imported.id)


async def test_a_503_is_retried_then_raised_with_retry_after(make_client: MakeClient) -> None:
    from .test_models import make_bundle

    retried: list[tuple[int, float]] = []
    hooks = stamina.instrumentation.get_on_retry_hooks()
    stamina.instrumentation.set_on_retry_hooks(
        [lambda details: retried.append((details.retry_num, details.wait_for))]
    )
    try:
        client = make_client(api_key="", retries=2)
        model = await client.models.import_(make_bundle())
        with pytest.raises(Unavailable) as unavailable:  # no trainer to evaluate it
            await client.models.evaluate(model.id)
    finally:
        stamina.instrumentation.set_on_retry_hooks(hooks)
    assert unavailable.value.status == 503 and unavailable.value.retry_after == 1.0
    assert "no trainer" in unavailable.value.detail
    assert retried == [(1, 1.0), (2, 1.0)]  # each after the Retry-After the API named


# --- aliases -----------------------------------------------------------------------------------


async def test_an_alias_is_set_read_rolled_back_and_taken_for_a_model(client: Any) -> None:
    from .test_models import make_bundle, variant

    first = await client.models.import_(make_bundle(weights=variant(1)))
    second = await client.models.import_(make_bundle(weights=variant(2)))
    assert await client.aliases.list() == []
    made = await client.aliases.set("production", first.id, why="first")
    assert isinstance(made, Alias) and (made.model_id, made.version) == (first.id, 1)
    moved = await client.aliases.set("production", second.id, expected=made.version)
    assert moved.model_id == second.id and [c.why for c in moved.history] == ["first", None]
    with pytest.raises(PreconditionFailed):  # it moved since version 1
        await client.aliases.set("production", first.id, expected=made.version)
    assert (await client.models.get("production")).id == second.id
    assert await client.models.download("production") == await client.models.download(second.id)
    back = await client.aliases.rollback("production", why="worse")
    assert back.model_id == first.id and back.history[-1].rollback
    assert await client.aliases.get("production") == back
    assert [a.name for a in await client.aliases.list()] == ["production"]
    with pytest.raises(Conflict):  # no model before the first
        await client.aliases.rollback("production")
    with pytest.raises(Conflict) as named:  # a model an alias names stays
        await client.models.delete(first.id)
    assert "production" in named.value.detail
    with pytest.raises(Invalid):
        await client.aliases.get("Production")
    await client.aliases.delete("production")
    with pytest.raises(NotFound):
        await client.aliases.get("production")


# --- settings ----------------------------------------------------------------------------------


async def test_settings_update_with_if_match_and_refuse_a_stale_one(client: Any) -> None:
    read = await client.settings.get()
    assert read.maxEpisodes == 200 and read.etag == '"0"'
    changed = await client.settings.update(
        maxEpisodes=321, openaiKey="sk-secret-1234", if_match=read.etag
    )
    assert changed.maxEpisodes == 321 and changed.openaiKey == "****1234"
    assert changed.etag == '"1"' and "etag" not in changed.model_dump()
    with pytest.raises(PreconditionFailed) as stale:
        await client.settings.update(maxEpisodes=5, if_match=read.etag)
    assert stale.value.status == 412 and '"1"' in stale.value.detail
    assert (await client.settings.update(autoSave=False)).maxEpisodes == 321  # no If-Match
    with pytest.raises(pydantic.ValidationError):  # an unknown field: nothing is sent
        await client.settings.update(maxEpisode=5)


# --- where, who, and failing to reach it -------------------------------------------------------


@pytest.fixture
def secured_url(settings: ApiSettings, store: KeyValueStore) -> Iterator[tuple[str, str]]:
    """The API with API keys required: its URL and a key of tenant `acme`."""
    key = new_key()
    secured = settings.model_copy(update={"auth": "apikey", "api_keys": f"acme:{hash_key(key)}"})
    with serve_asgi(build(Resources(secured))) as url:
        yield url, key


async def test_the_key_is_sent_as_a_bearer_token(
    make_client: MakeClient, secured_url: tuple[str, str]
) -> None:
    url, key = secured_url
    assert await make_client(base_url=url, api_key=key).training.list() == []
    with pytest.raises(Unauthorized) as refused:
        await make_client(base_url=url, api_key="agk_wrong").training.list()
    assert refused.value.status == 401 and refused.value.headers["WWW-Authenticate"] == "Bearer"


async def test_url_and_key_default_to_the_environment(
    make_client: MakeClient, secured_url: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, key = secured_url
    monkeypatch.setenv("AGENTGYM_API_URL", url + "/")
    monkeypatch.setenv("AGENTGYM_API_KEY", key)
    client = make_client(base_url=None)
    assert await client.settings.get()  # authenticated with the key from the environment


async def test_an_unreachable_api_raises_naming_its_url(make_client: MakeClient) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(ApiConnectionError) as failed:
        await make_client(base_url=url, api_key="").scenarios.list()
    assert failed.value.url == f"{url}/api/scenarios" and url in str(failed.value)
    assert isinstance(failed.value, ConnectionError)


def test_an_http_client_of_your_own_is_used_and_left_open(base_url: str) -> None:
    seen: list[str] = []
    with httpx.Client(event_hooks={"request": [lambda r: seen.append(r.url.path)]}) as http:
        with Client(base_url, api_key="", http=http) as client:
            client.scenarios.get("customer_support")
        assert not http.is_closed
    assert seen == ["/api/scenarios/customer_support"]


def test_ids_cannot_reach_another_route(base_url: str) -> None:
    with Client(base_url, api_key="") as client:
        for session_id in ("..", ".", "x?since=1"):
            with pytest.raises(NotFound) as missing:
                client.training.status(session_id)
            assert f"training session {session_id!r} not found" in missing.value.detail
        with pytest.raises(NotFound):  # no route at all (not the catalog)
            client.training.status("../../api/scenarios")
        with pytest.raises(ValueError):  # not sent: it would name the list
            client.training.status("")


# --- the live feed's rules, without a socket ---------------------------------------------------


def frame(kind: str, seq: int, status: str = "running") -> str:
    data = {"session_id": "s", "scenario_id": "customer_support", "framework": "LangChain",
            "status": status, "max_episodes": 10, "learning_rate": 0.001, "seed": 1}  # fmt: skip
    return json.dumps({"type": kind, "session_id": "s", "seq": seq, "data": data})


def test_a_feed_hands_on_the_first_snapshot_and_each_update_once() -> None:
    from agentgym.client._feed import Feed

    feed = Feed()
    assert isinstance(feed.receive(frame("snapshot", 0, "queued")), Snapshot)
    assert [feed.receive(frame("training_update", seq)) is not None for seq in (1, 2)] == [True] * 2
    # a reconnection from seq 2: its snapshot, then what follows
    assert feed.receive(frame("snapshot", 2)) is None
    assert feed.receive(frame("training_update", 2)) is None  # an overlap is not repeated
    assert feed.receive(json.dumps({"type": "from_the_future"})) is None
    assert not feed.done and feed.last_seq == 2
    assert feed.receive(frame("training_update", 3, "completed")) is not None
    assert feed.done


def test_a_feed_of_an_ended_session_is_done_once_its_last_update_is_in() -> None:
    from agentgym.client._feed import Feed

    ahead = Feed(since=1)  # recorded as ended at seq 3 before seq 3 was published
    ahead.receive(frame("snapshot", 3, "stopped"))
    ahead.receive(frame("training_update", 2))
    assert not ahead.done
    ahead.receive(frame("training_update", 3, "stopped"))
    assert ahead.done
    caught_up = Feed(since=3)
    assert isinstance(caught_up.receive(frame("snapshot", 3, "completed")), Snapshot)
    assert caught_up.done
