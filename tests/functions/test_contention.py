"""A `PUT /api/settings` that keeps losing its compare-and-set to other writers gives up after
a bound with 503 and Retry-After, writing nothing; with If-Match, one lost race is a 412."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from agentgym import retries
from agentgym.config import ApiSettings
from agentgym.records import SettingsRecord
from agentgym.store import KeyValueStore
from functions.app import build
from functions.resources import Resources

from ..servers import serve_asgi
from ..test_retries import AlwaysBeaten

SHORT = retries.Bound(
    attempts=6, timeout_s=10.0, wait_initial_s=0.001, wait_max_s=0.01, wait_jitter_s=0.005
)


class Shared(AlwaysBeaten):
    """The test's store, beaten; the `store` fixture closes it, not the API."""

    async def close(self) -> None:
        pass


@contextmanager
def serve(settings: ApiSettings, store: KeyValueStore) -> Iterator[httpx.Client]:
    with (
        serve_asgi(build(Resources(settings, store=store))) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield client


async def test_a_settings_put_that_always_loses_is_503_with_retry_after_and_writes_nothing(
    settings: ApiSettings, store: KeyValueStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retries, "CAS", SHORT)
    await store.put("settings", SettingsRecord(version=1).dump())
    beaten = Shared(store)
    with serve(settings, beaten) as api:
        response = api.put("/api/settings", json={"maxEpisodes": 500})
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"]
    assert "too many concurrent writers" in response.json()["detail"]
    assert beaten.updates == SHORT.attempts
    stored = SettingsRecord.load((await store.get("settings")).value)
    assert stored.maxEpisodes != 500 and stored.llmProvider == f"other-{beaten.updates}"


async def test_a_settings_put_with_if_match_that_loses_once_is_412_not_retried_on(
    settings: ApiSettings, store: KeyValueStore
) -> None:
    await store.put("settings", SettingsRecord(version=3).dump())
    beaten = Shared(store, wins=1)
    with serve(settings, beaten) as api:
        response = api.put("/api/settings", json={"maxEpisodes": 500}, headers={"If-Match": '"3"'})
    assert response.status_code == 412, response.text
    assert beaten.updates == 1


async def test_a_settings_put_that_loses_a_few_times_merges_into_the_newer_settings(
    settings: ApiSettings, store: KeyValueStore
) -> None:
    await store.put("settings", SettingsRecord(version=1).dump())
    beaten = Shared(store, wins=3)
    with serve(settings, beaten) as api:
        response = api.put("/api/settings", json={"maxEpisodes": 500})
    assert response.status_code == 200, response.text
    stored = SettingsRecord.load((await store.get("settings")).value)
    assert (stored.maxEpisodes, stored.llmProvider) == (500, "other-3")
