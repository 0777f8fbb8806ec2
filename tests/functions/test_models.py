"""`/api/models`: listing, reading, downloading, deleting and importing model bundles."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import datetime

import httpx
import pytest

from agentgym import bundle
from agentgym.artifacts import ArtifactStore
from agentgym.errors import ArtifactNotFoundError
from agentgym.records import Keys, ModelRecord
from agentgym.store import KeyValueStore
from agentgym.weights import LEARNER_NAME
from trainer.model.config import Config
from trainer.model.features import Toolbox
from trainer.model.model import Model, params_of, weights_of

# Real weights of the learner's layout for the test scenarios' tools (an untrained policy).
TOOLS = ("lookup_order", "issue_refund", "escalate")  # the test bundles' tools
WEIGHTS = Model(Config(), Toolbox(TOOLS)).weights()


def variant(number: int) -> bytes:
    """Weights of another model (one weight apart): a bundle of them is not one imported yet."""
    params, _ = params_of(WEIGHTS)
    params["w_v"][0] = float(number)
    return weights_of(params)


def make_bundle(scenario_id: str = "customer_support", weights: bytes = WEIGHTS) -> bytes:
    manifest = bundle.describe(
        weights,
        scenario_id=scenario_id,
        scenario_version="1",
        learner=LEARNER_NAME,
        framework="AutoGen",
        hyperparameters={"max_episodes": 200, "learning_rate": 0.001, "seed": 7},
        metrics={"accuracy": 91.5, "heldout_accuracy": 90.0, "avg_reward": 4.2, "episodes": 200},
    )
    return bundle.pack(manifest, weights)


async def saved_model(store: KeyValueStore, artifacts: ArtifactStore, model_id: str) -> bytes:
    """A model as a trainer saves one: its bundle in the artifacts, its record in the store."""
    data = make_bundle()
    record = ModelRecord(
        id=model_id, name="customer_support_autogen", scenario="customer_support",
        framework="AutoGen", accuracy=91.5, episodes=200, created_at="2026-01-02T03:04:05+00:00",
        size_mb=0.001, session_id="session_x", bundle=f"models/{model_id}.agm",
        sha256=hashlib.sha256(WEIGHTS).hexdigest(), learning_rate=0.001, seed=7,
    )  # fmt: skip
    await artifacts.put(record.bundle, data)
    await store.create(Keys().model(model_id), record.dump())
    return data


def post_bundle(api: httpx.Client, data: bytes, **params: str) -> httpx.Response:
    return api.post(
        "/api/models/import",
        content=data,
        params=params,
        headers={"Content-Type": "application/zip"},
    )


def test_no_models_is_an_empty_list(api: httpx.Client) -> None:
    response = api.get("/api/models")
    assert response.status_code == 200 and response.json() == []


async def test_a_saved_model_is_listed_read_and_downloaded(
    api: httpx.Client, store: KeyValueStore, artifacts: ArtifactStore
) -> None:
    data = await saved_model(store, artifacts, "model_a")
    listed = api.get("/api/models").json()
    assert [m["id"] for m in listed] == ["model_a"]
    assert list(listed[0]) == [
        "id", "name", "scenario", "framework", "accuracy", "episodes", "created_at", "size_mb",
    ]  # fmt: skip
    detail = api.get("/api/models/model_a").json()
    assert {name: detail[name] for name in listed[0]} == listed[0]  # the seed's, then ours
    assert detail["adapter"] == "agentgym.adapters.tool_choice"  # AutoGen has none of its own
    assert detail["session_id"] == "session_x"
    download = api.get("/api/models/model_a/download")
    assert download.status_code == 200 and download.content == data
    assert "model_a.agm" in download.headers["content-disposition"]
    assert bundle.unpack(download.content)[1] == WEIGHTS


async def test_delete_removes_record_and_bundle_then_404(
    api: httpx.Client, store: KeyValueStore, artifacts: ArtifactStore
) -> None:
    await saved_model(store, artifacts, "model_b")
    assert api.delete("/api/models/model_b").json() == {"status": "deleted"}
    with pytest.raises(ArtifactNotFoundError):
        await artifacts.get("models/model_b.agm")
    for call in (api.get, api.delete):
        response = call("/api/models/model_b")
        assert response.status_code == 404 and "model_b" in response.json()["detail"]
    assert api.get("/api/models/model_b/download").status_code == 404


def test_an_imported_bundle_becomes_a_model(api: httpx.Client) -> None:
    data = make_bundle()
    response = post_bundle(api, data, name="imported")
    assert response.status_code == 201, response.text
    model = response.json()
    assert (model["name"], model["scenario"], model["framework"]) == (
        "imported", "customer_support", "AutoGen",
    )  # fmt: skip
    # Its held-out accuracy, as a model trained here lists (not the training accuracy, 91.5).
    assert (model["accuracy"], model["episodes"]) == (90.0, 200)
    assert api.get(f"/api/models/{model['id']}/download").content == data
    assert model["id"] in [m["id"] for m in api.get("/api/models").json()]


def test_importing_the_same_bundle_twice_finds_the_model_it_made(api: httpx.Client) -> None:
    data = make_bundle()
    first = post_bundle(api, data)
    again = post_bundle(api, data)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert [m["id"] for m in api.get("/api/models").json()] == [first.json()["id"]]
    other = post_bundle(api, make_bundle(scenario_id="code_review", weights=WEIGHTS))
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def test_models_given_no_name_are_told_apart_by_scenario_framework_time_and_source(
    api: httpx.Client,
) -> None:
    first = post_bundle(api, make_bundle()).json()
    other_weights = variant(1)
    second = post_bundle(api, make_bundle(weights=other_weights)).json()
    assert first["name"] != second["name"]
    for model, weights in ((first, WEIGHTS), (second, other_weights)):
        made = datetime.fromisoformat(model["created_at"]).strftime("%Y%m%d-%H%M%S")
        tag = hashlib.sha256(weights).hexdigest()[:6]
        assert model["name"] == f"customer_support_autogen_{made}_{tag}"


def _tampered(
    data: bytes, manifest_change: dict[str, object] | None, weights: bytes | None
) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(source.read(bundle.MANIFEST)) | (manifest_change or {})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(bundle.MANIFEST, json.dumps(manifest))
        archive.writestr(
            bundle.WEIGHTS, weights if weights is not None else source.read(bundle.WEIGHTS)
        )
    return out.getvalue()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda: b"not a zip at all", "ZIP"),
        (lambda: _tampered(make_bundle(), None, b"other weights"), "weights"),
        (lambda: _tampered(make_bundle(), {"weights_sha256": "0" * 64}, None), "SHA-256"),
        (lambda: _tampered(make_bundle(), {"format": "other/9"}, None), "format"),
        (lambda: _tampered(make_bundle(), {"framework": "Haystack"}, None), "framework"),
    ],
)
def test_a_bad_bundle_is_400_saying_what_is_wrong(
    api: httpx.Client, make: object, says: str
) -> None:
    assert callable(make)
    response = post_bundle(api, make())
    assert response.status_code == 400, response.text
    assert says in response.json()["detail"]
    assert api.get("/api/models").json() == []


def test_a_bundle_for_an_unknown_scenario_is_404(api: httpx.Client) -> None:
    response = post_bundle(api, make_bundle(scenario_id="poetry"))
    assert response.status_code == 404 and "poetry" in response.json()["detail"]


def test_an_oversized_bundle_is_413(api: httpx.Client) -> None:
    data = make_bundle(weights=b"w" * (3 * 1024 * 1024))  # the test limit is 2 MiB
    response = post_bundle(api, data)
    assert response.status_code == 413 and "bytes" in response.json()["detail"]


def test_a_bundle_sent_as_json_is_415(api: httpx.Client) -> None:
    response = api.post("/api/models/import", json={"bundle": "x"})
    assert response.status_code == 415 and "application/zip" in response.json()["detail"]


def test_act_with_no_trainer_running_is_503_with_retry_after(api: httpx.Client) -> None:
    model = post_bundle(api, make_bundle()).json()
    answer = api.post(f"/api/models/{model['id']}/act", json={"text": "refund my order"})
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert "no trainer" in answer.json()["detail"]
    bad = api.post(f"/api/models/{model['id']}/act", json={"text": "x", "extra": 1})
    assert bad.status_code == 422 and "extra" in bad.text
