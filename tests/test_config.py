"""Settings per process come from AGENTGYM_* variables, with local defaults under data_dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentgym.config import ApiSettings, TrainerSettings, get_api_settings


def test_local_defaults_live_under_the_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTGYM_DATA_DIR", "/srv/gym")
    settings = TrainerSettings()
    assert settings.data_dir == Path("/srv/gym")
    assert settings.store_url == "sqlite:////srv/gym/agentgym.db"
    assert settings.artifacts_url == "file:///srv/gym/artifacts"


def test_urls_and_cors_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTGYM_STORE_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("AGENTGYM_NATS_URL", "nats://nats.internal:4222")
    monkeypatch.setenv("AGENTGYM_CORS_ORIGINS", "http://localhost:3000, https://gym.example")
    settings = ApiSettings()
    assert settings.store_url == "redis://127.0.0.1:6379/0"
    assert settings.nats_url == "nats://nats.internal:4222"
    assert settings.cors_origins == ["http://localhost:3000", "https://gym.example"]


def test_settings_are_cached_until_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    get_api_settings.cache_clear()
    first = get_api_settings()
    assert get_api_settings() is first
    monkeypatch.setenv("AGENTGYM_AUTH", "apikey")
    get_api_settings.cache_clear()
    assert get_api_settings().auth == "apikey"
    get_api_settings.cache_clear()


def test_an_unknown_auth_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTGYM_AUTH", "maybe")
    with pytest.raises(ValueError, match="auth"):
        ApiSettings()
