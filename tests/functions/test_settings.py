"""`/api/settings`: the seed's fields, masked secrets, partial updates, compare-and-set."""

from __future__ import annotations

import concurrent.futures

import httpx

from agentgym.records import SettingsRecord
from agentgym.store import KeyValueStore

SEED_DEFAULTS = {
    "framework": "LangChain",
    "llmProvider": "OpenAI",
    "maxEpisodes": 200,
    "learningRate": 0.001,
    "autoSave": True,
    "openaiKey": "",
    "anthropicKey": "",
}


def test_defaults_are_the_seeds(api: httpx.Client) -> None:
    response = api.get("/api/settings")
    assert response.status_code == 200 and response.json() == SEED_DEFAULTS
    assert response.headers["etag"] == '"0"'


def test_put_changes_only_the_fields_given(api: httpx.Client) -> None:
    response = api.put("/api/settings", json={"maxEpisodes": 500, "autoSave": False})
    assert response.status_code == 200
    assert response.json() == SEED_DEFAULTS | {"maxEpisodes": 500, "autoSave": False}
    api.put("/api/settings", json={"framework": "CrewAI"})
    assert api.get("/api/settings").json() == SEED_DEFAULTS | {
        "maxEpisodes": 500, "autoSave": False, "framework": "CrewAI",
    }  # fmt: skip


async def test_api_keys_are_never_returned_only_masked(
    api: httpx.Client, store: KeyValueStore
) -> None:
    secret = "sk-live-0123456789abcdef"
    shown = api.put("/api/settings", json={"openaiKey": secret}).json()
    assert shown["openaiKey"] == "****cdef"
    got = api.get("/api/settings")
    assert secret not in got.text and got.json()["openaiKey"] == "****cdef"
    stored = SettingsRecord.load((await store.get("settings")).value)
    assert stored.openaiKey == secret


async def test_sending_the_masked_form_back_keeps_the_secret(
    api: httpx.Client, store: KeyValueStore
) -> None:
    api.put("/api/settings", json={"anthropicKey": "sk-ant-secret-value-9876"})
    whole = api.get("/api/settings").json() | {"maxEpisodes": 250}
    assert api.put("/api/settings", json=whole).status_code == 200
    stored = SettingsRecord.load((await store.get("settings")).value)
    assert (stored.anthropicKey, stored.maxEpisodes) == ("sk-ant-secret-value-9876", 250)
    api.put("/api/settings", json={"anthropicKey": ""})
    assert api.get("/api/settings").json()["anthropicKey"] == ""


def test_stale_if_match_is_412_and_changes_nothing(api: httpx.Client) -> None:
    etag = api.get("/api/settings").headers["etag"]
    first = api.put("/api/settings", json={"maxEpisodes": 300}, headers={"If-Match": etag})
    assert first.status_code == 200 and first.headers["etag"] != etag
    stale = api.put("/api/settings", json={"maxEpisodes": 999}, headers={"If-Match": etag})
    assert stale.status_code == 412 and "GET them again" in stale.json()["detail"]
    assert api.get("/api/settings").json()["maxEpisodes"] == 300
    fresh = api.put(
        "/api/settings", json={"maxEpisodes": 400}, headers={"If-Match": first.headers["etag"]}
    )
    assert fresh.status_code == 200 and fresh.json()["maxEpisodes"] == 400


def test_concurrent_edits_without_if_match_all_land(api: httpx.Client, base_url: str) -> None:
    fields = [("maxEpisodes", 321), ("learningRate", 0.05), ("llmProvider", "Anthropic"),
              ("autoSave", False), ("framework", "AutoGen")]  # fmt: skip

    def put(field: str, value: object) -> int:
        with httpx.Client(base_url=base_url) as client:
            return client.put("/api/settings", json={field: value}).status_code

    with concurrent.futures.ThreadPoolExecutor(len(fields)) as pool:
        assert list(pool.map(lambda fv: put(*fv), fields)) == [200] * len(fields)
    assert api.get("/api/settings").json() == SEED_DEFAULTS | dict(fields)


def test_invalid_values_are_422_naming_the_field(api: httpx.Client) -> None:
    for body, field in (
        ({"maxEpisodes": 0}, "maxEpisodes"),
        ({"learningRate": -1}, "learningRate"),
        ({"framework": "Haystack"}, "framework"),
        ({"autoSave": "perhaps"}, "autoSave"),
        ({"colour": "blue"}, "colour"),
    ):
        response = api.put("/api/settings", json=body)
        assert response.status_code == 422 and field in response.json()["detail"], body
    assert api.get("/api/settings").json() == SEED_DEFAULTS
