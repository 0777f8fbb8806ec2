"""The streams and consumer, on a real nats-server: idempotent setup, work-queue delivery."""

from __future__ import annotations

import asyncio
import contextlib

import nats.js.errors

from agentgym import nats_client, subjects
from agentgym.messages import TrainCommand


async def test_ensure_streams_is_idempotent_and_makes_the_documented_streams(
    nats_url: str,
) -> None:
    client = await nats_client.connect(nats_url, "test")
    try:
        js = client.jetstream()
        await subjects.ensure_streams(js)
        await subjects.ensure_streams(js)
        await subjects.ensure_consumer(js)
        cmd = await js.stream_info(subjects.CMD_STREAM)
        assert cmd.config.subjects == [subjects.CMD_SUBJECT]
        assert cmd.config.retention == "workqueue"
        training = await js.stream_info(subjects.TRAINING_STREAM)
        assert set(training.config.subjects or []) == {
            subjects.METRICS_ALL,
            subjects.EVENTS_ALL,
        }
        consumer = await js.consumer_info(subjects.CMD_STREAM, subjects.CMD_CONSUMER)
        assert consumer.config.ack_policy == "explicit"
    finally:
        await client.close()


async def test_a_command_goes_to_one_trainer_and_a_duplicate_publish_is_dropped(
    nats_url: str, unique: str
) -> None:
    client = await nats_client.connect(nats_url, "test")
    try:
        js = client.jetstream()
        await subjects.ensure_streams(js)
        await subjects.ensure_consumer(js)
        command = TrainCommand(session_id=unique, action="start")
        first = await js.publish(
            subjects.CMD_SUBJECT, command.encode(), headers={"Nats-Msg-Id": command.msg_id()}
        )
        again = await js.publish(
            subjects.CMD_SUBJECT, command.encode(), headers={"Nats-Msg-Id": command.msg_id()}
        )
        assert again.duplicate and again.seq == first.seq

        trainers = [
            await js.pull_subscribe_bind(subjects.CMD_CONSUMER, stream=subjects.CMD_STREAM)
            for _ in range(2)
        ]
        got = []
        for trainer in trainers:
            # nats-py raises its own TimeoutError or asyncio's, depending on where it waited.
            with contextlib.suppress(nats.errors.TimeoutError, TimeoutError):
                got.extend(await trainer.fetch(10, timeout=0.5))
        ours = [m for m in got if TrainCommand.decode(m.data).session_id == unique]
        assert len(ours) == 1
        await asyncio.gather(*(m.ack() for m in got))
    finally:
        await client.close()


def test_per_session_subjects_are_single_tokens_under_the_stream_wildcards() -> None:
    assert subjects.metrics_subject("s1") == "agentgym.metrics.s1"
    assert subjects.events_subject("s1") == "agentgym.events.s1"
    assert subjects.control_subject("s1") == "agentgym.ctl.s1"
