"""Configuration per process, from the environment (prefix `AGENTGYM_`).

Each process builds its settings through a cached `get_*_settings()` that tests can clear or
replace; nothing is read at import time.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ENV_PREFIX = "AGENTGYM_"
# Where things are on one machine: the CLI's defaults (`agentgym up`, `api`, `streamer`,
# `nats`) and the settings' are these.
DEFAULT_DATA_DIR = Path(".agentgym")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_API_PORT = 8000
DEFAULT_STREAMER_PORT = 8001
DEFAULT_GATEWAY_PORT = 8002
DEFAULT_NATS_PORT = 4222  # the embedded nats-server takes a free port when this one is busy
DEFAULT_NATS_URL = f"nats://{DEFAULT_HOST}:{DEFAULT_NATS_PORT}"
DEFAULT_STREAMER_URL = f"ws://{DEFAULT_HOST}:{DEFAULT_STREAMER_PORT}"
DEFAULT_API_URL = f"http://{DEFAULT_HOST}:{DEFAULT_API_PORT}"
# How long a trainer may hold a command without acking before NATS gives it to another
# (AGENTGYM_ACK_WAIT_S; the trainers' consumer, agentgym.subjects, is created with it).
DEFAULT_ACK_WAIT_S = 30.0


def local_store_url(data_dir: Path) -> str:
    """The durable local key-value store under `data_dir` (SQLite)."""
    return f"sqlite:///{data_dir / 'agentgym.db'}"


def local_artifacts_url(data_dir: Path) -> str:
    """The durable local artifact store under `data_dir` (files)."""
    return f"file://{data_dir / 'artifacts'}"


class EnvSettings(BaseModel):
    """Each field comes from a keyword argument, else `AGENTGYM_<FIELD>`, else its default.

    pydantic-settings does the same, but importing it costs ~17 ms of every Lambda cold start.
    """

    # Built on first use: a process builds the settings it reads (a Lambda cold start, its own).
    model_config = ConfigDict(extra="ignore", defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        names = (name for name in cls.model_fields if ENV_PREFIX + name.upper() in os.environ)
        return {name: os.environ[ENV_PREFIX + name.upper()] for name in names} | data


class CommonSettings(EnvSettings):
    """What every process shares: where NATS, the store and the artifacts are."""

    data_dir: Path = DEFAULT_DATA_DIR
    nats_url: str = DEFAULT_NATS_URL  # one server, or a cluster's: nats://a:4222,nats://b:4222
    nats_replicas: int = Field(default=1, ge=1, le=5)  # copies of each stream (3 on a cluster)
    # Empty means "the durable local default under data_dir".
    store_url: str = ""
    artifacts_url: str = ""
    # Who may call (agentgym.auth): the API and the streamer check it alike.
    auth: Literal["off", "apikey", "jwt"] = "off"
    api_keys: str = ""  # comma-separated `tenant:sha256-hex-of-key`
    jwt_secret: str = ""
    jwt_jwks_url: str = ""
    # Who may drive the services from a browser (agentgym.origins): pages from these origins
    # (and same-origin pages) may change state or open a WebSocket; others are refused.
    cors_origins: list[str] = Field(default_factory=lambda: ["http://localhost:3000"])
    # How long an improvement loop's run may go unrenewed before another process takes it
    # over (agentgym.loops): its holder died. Every process sharing a store must agree on it.
    loop_lease_s: float = Field(default=60.0, ge=1)
    # With authentication off, the Host names the services answer besides local ones: a
    # guard against DNS rebinding (a page on evil.example resolving to 127.0.0.1).
    allowed_hosts: list[str] = Field(default_factory=list)

    @field_validator("cors_origins", "allowed_hosts", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        # AGENTGYM_CORS_ORIGINS and AGENTGYM_ALLOWED_HOSTS are comma-separated, not JSON.
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @model_validator(mode="after")
    def _local_defaults(self) -> CommonSettings:
        if not self.store_url:
            self.store_url = local_store_url(self.data_dir)
        if not self.artifacts_url:
            self.artifacts_url = local_artifacts_url(self.data_dir)
        return self


class ApiSettings(CommonSettings):
    streamer_url: str = DEFAULT_STREAMER_URL  # where the combined app relays /ws/* (local use)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)  # any JSON request
    max_bundle_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)  # a model import
    # What one tenant may hold (SECURITY.md, "Limits"): past one, a request is refused.
    max_sessions_per_tenant: int = Field(default=100, ge=1)  # queued or running at once
    max_stored_sessions_per_tenant: int = Field(default=1000, ge=1)  # in any status
    max_models_per_tenant: int = Field(default=200, ge=1)
    max_bundle_bytes_per_tenant: int = Field(default=2 * 1024**3, ge=1024)  # 2 GiB of bundles
    max_scenario_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)  # one scenario upload
    max_scenarios_per_tenant: int = Field(default=100, ge=1)  # custom ones
    max_scenario_versions: int = Field(default=100, ge=1)  # stored versions of one scenario
    max_scenario_bytes_per_tenant: int = Field(default=1024**3, ge=1024)  # 1 GiB, all versions
    # The OTLP receiver (`/v1/traces`, `/v1/logs`): an exporter's default batch of 512 GenAI
    # spans with their messages is over max_body_bytes; this bounds a body, inflated too.
    max_otlp_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    # How long an episode's trace is left alone, its root span come, before a snapshot takes
    # it (agentgym.traces.episodes).
    trace_idle_s: float = Field(default=30.0, ge=0)
    # How long a snapshot waits before taking a decision in: its calls and feedback come after.
    decision_settle_s: float = Field(default=300.0, ge=0)
    # How often a loop that runs every N decisions asks whether N came (agentgym.loops).
    loop_check_s: float = Field(default=30.0, ge=1)
    # `agentgym api`'s HTTP server (agentgym.http_server); API Gateway enforces its own.
    http_header_timeout_s: float = Field(default=10.0, gt=0)  # request line and headers
    http_body_timeout_s: float = Field(default=30.0, gt=0)  # a body that stops arriving
    http_keep_alive_timeout_s: int = Field(default=5, ge=1)  # uvicorn takes whole seconds
    http_max_head_bytes: int = Field(default=16 * 1024, ge=1024)


class TrainerSettings(CommonSettings):
    worker_id: str = ""  # names this worker in session records; empty: host and pid
    concurrency: int = Field(default=2, ge=1)  # sessions one worker trains at once
    # Where a session trains (trainer.runner): a process per slot, or a thread per slot.
    slot: Literal["process", "thread"] = "process"
    update_interval_s: float = Field(default=0.1, gt=0)  # at most one update per session per
    status_interval_s: float = Field(default=1.0, gt=0)  # status writes at most this often
    checkpoint_every: int = Field(default=500, ge=1)  # episodes between checkpoints
    eval_every: int = Field(default=100, ge=1)  # episodes between held-out evaluations
    # A silent worker's command goes elsewhere after this long.
    ack_wait_s: float = Field(default=DEFAULT_ACK_WAIT_S, ge=1)
    # Seconds a loop run waits before each of its steps: 0 but in fault tests, which kill a
    # trainer at a chosen step (tests/faults/test_loop_faults.py).
    loop_step_pause_s: float = Field(default=0.0, ge=0)


class LearnerSettings(EnvSettings):
    # Whether new runs read requests with the sentence encoder when it is installed
    # (trainer/meaning.py); "off": words alone. A run keeps what it started with.
    encoder: Literal["auto", "off"] = "auto"
    data_dir: Path = DEFAULT_DATA_DIR  # the meanings it read are kept under it, as CommonSettings'


class StreamerSettings(CommonSettings):
    queue_size: int = Field(default=256, ge=1)  # pending updates per browser before conflating
    slow_client_timeout_s: float = Field(default=10.0, gt=0)
    ping_interval_s: float = Field(default=20.0, gt=0)
    max_connections_per_tenant: int = Field(default=10_000, ge=1)


class ClientSettings(EnvSettings):
    """What a client of the API (the CLI's `scenarios` commands) needs: where it is, and the
    key or token it sends as `Authorization: Bearer` (empty: none, for auth off)."""

    api_url: str = DEFAULT_API_URL
    api_key: str = ""


class GatewaySettings(ClientSettings):
    """`agentgym gateway`: the API it fetches its model from and sends decisions to (as a client
    does), the bearer key its own clients must send (`AGENTGYM_GATEWAY_KEY`; empty: none, and
    it serves loopback only), and where no flag says them (a container's environment), its
    model and its upstreams (comma-separated `[NAME=]URL`s). A model named by an alias is
    followed: asked for again every `gateway_follow_s` seconds (0: never; gateway/following.py)."""

    gateway_key: str = ""
    gateway_model: str = ""
    gateway_upstreams: str = ""
    # A GET per gateway this often: an alias's move serves within seconds.
    gateway_follow_s: float = Field(default=5.0, ge=0)


@lru_cache
def get_api_settings() -> ApiSettings:
    return ApiSettings()


@lru_cache
def get_trainer_settings() -> TrainerSettings:
    return TrainerSettings()


@lru_cache
def get_streamer_settings() -> StreamerSettings:
    return StreamerSettings()
