"""The streams have one owner, the trainers: they create and update the streams and the
consumer. The API only creates a stream that is missing (so a command waits durably before any
trainer ran) and never rewrites one that exists, whatever its configuration."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from agentgym import nats_client, subjects
from agentgym.config import ApiSettings
from agentgym.messages import TrainCommand
from agentgym.nats_bus import NatsBus
from agentgym.nats_server import NatsServer
from functions.app import build
from functions.resources import Resources

from .servers import serve_asgi

NEWER_CAP = subjects.UPDATES_PER_SESSION * 2  # as a newer version might keep more
NEWER_WINDOW_S = subjects.CMD_DUPLICATE_WINDOW_S * 2


@pytest.fixture
async def js(nats: NatsServer) -> AsyncIterator[JetStreamContext]:
    client = await nats_client.connect(nats.url, "test-inspector")
    yield client.jetstream()
    await nats_client.close(client)


async def newer_streams(js: JetStreamContext) -> None:
    """Both streams as a newer trainer might have set them up."""
    await js.add_stream(
        dataclasses.replace(subjects.training_stream(), max_msgs_per_subject=NEWER_CAP)
    )
    await js.add_stream(dataclasses.replace(subjects.cmd_stream(), duplicate_window=NEWER_WINDOW_S))


async def configs(js: JetStreamContext) -> tuple[int | None, float | None]:
    training = (await js.stream_info(subjects.TRAINING_STREAM)).config
    cmd = (await js.stream_info(subjects.CMD_STREAM)).config
    return training.max_msgs_per_subject, cmd.duplicate_window


async def test_an_api_bus_leaves_streams_of_another_configuration_as_they_are(
    nats: NatsServer, js: JetStreamContext
) -> None:
    await newer_streams(js)
    bus = await NatsBus.connect(nats.url, "test-api")
    try:
        assert await configs(js) == (NEWER_CAP, NEWER_WINDOW_S)
        await bus.send_command(TrainCommand(session_id="s1", action="start"), "s1:start")
        assert (await js.stream_info(subjects.CMD_STREAM)).state.messages == 1
    finally:
        await bus.close()
    assert await configs(js) == (NEWER_CAP, NEWER_WINDOW_S)


async def test_an_api_started_against_newer_streams_does_not_rewrite_them(
    nats: NatsServer, js: JetStreamContext, tmp_path: Path
) -> None:
    """The API as deployed (its app, its lazily opened bus), answering /readyz over NATS."""
    await newer_streams(js)
    settings = ApiSettings(
        data_dir=tmp_path,
        nats_url=nats.url,
        store_url=f"sqlite:///{tmp_path / 'agentgym.db'}",
        artifacts_url=f"file://{tmp_path / 'artifacts'}",
    )
    with serve_asgi(build(Resources(settings))) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as api:
            ready = await api.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["nats"] == "ok"
    assert await configs(js) == (NEWER_CAP, NEWER_WINDOW_S)


async def test_an_api_started_before_any_trainer_creates_the_missing_streams_only(
    nats: NatsServer, js: JetStreamContext
) -> None:
    bus = await NatsBus.connect(nats.url, "test-api")
    try:
        command = TrainCommand(session_id="s1", action="start")
        await bus.send_command(command, command.msg_id())
    finally:
        await bus.close()
    assert await configs(js) == (subjects.UPDATES_PER_SESSION, subjects.CMD_DUPLICATE_WINDOW_S)
    assert (await js.stream_info(subjects.CMD_STREAM)).state.messages == 1  # waits durably
    with pytest.raises(NotFoundError):  # the consumer is the trainers' own
        await js.consumer_info(subjects.CMD_STREAM, subjects.CMD_CONSUMER)


async def test_create_missing_streams_creates_only_what_is_missing(js: JetStreamContext) -> None:
    await js.add_stream(
        dataclasses.replace(subjects.training_stream(), max_msgs_per_subject=NEWER_CAP)
    )
    assert await subjects.create_missing_streams(js) == [
        subjects.CMD_STREAM,
        subjects.EPISODES_STREAM,
        subjects.DECISIONS_STREAM,
        subjects.DECISION_COUNTS_STREAM,
        subjects.LOOPS_STREAM,
    ]
    assert await subjects.create_missing_streams(js) == []
    assert (await configs(js))[0] == NEWER_CAP


async def test_a_trainer_the_owner_brings_the_streams_to_its_configuration(
    js: JetStreamContext,
) -> None:
    await newer_streams(js)
    await subjects.ensure_streams(js)
    await subjects.ensure_consumer(js)
    assert await configs(js) == (subjects.UPDATES_PER_SESSION, subjects.CMD_DUPLICATE_WINDOW_S)
    consumer = await js.consumer_info(subjects.CMD_STREAM, subjects.CMD_CONSUMER)
    assert consumer.config.ack_wait == subjects.CMD_ACK_WAIT_S
