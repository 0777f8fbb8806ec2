"""`nats_client.close`, every process's way off NATS: it drains, so a callback in flight
finishes; it does not wait out the drain timeout on a pull subscription; and it closes quietly
when NATS is away or the client is closed already. On a real nats-server."""

from __future__ import annotations

import asyncio
import contextlib
import time

from nats.aio.msg import Msg

from agentgym import nats_client, subjects
from agentgym.nats_server import NatsServer


async def test_close_lets_a_callback_in_flight_finish_and_its_reply_go_out(
    nats_url: str, unique: str
) -> None:
    service = await nats_client.connect(nats_url, "test-service")
    caller = await nats_client.connect(nats_url, "test-caller")
    started = asyncio.Event()
    finished: list[bytes] = []

    async def slow(msg: Msg) -> None:
        started.set()
        await asyncio.sleep(0.5)  # the work a callback does (an evaluation, a store write)
        finished.append(msg.data)
        await msg.respond(b"done")

    try:
        await service.subscribe(f"{unique}.work", cb=slow)
        await service.flush()  # the server has the subscription before the request comes
        request = asyncio.create_task(caller.request(f"{unique}.work", b"job", timeout=5))
        await asyncio.wait_for(started.wait(), 5)
        await nats_client.close(service)  # while the callback is still sleeping
        assert service.is_closed
        assert finished == [b"job"]
        assert (await request).data == b"done"  # published from the callback, then flushed
    finally:
        await nats_client.close(caller)


async def test_close_does_not_wait_out_the_drain_timeout_on_a_pull_subscription(
    nats: NatsServer,
) -> None:
    client = await nats_client.connect(nats.url, "test-trainer")
    js = client.jetstream()
    await subjects.ensure_streams(js)
    await subjects.ensure_consumer(js)
    commands = await js.pull_subscribe_bind(subjects.CMD_CONSUMER, stream=subjects.CMD_STREAM)
    for _ in range(3):  # what a worker's fetch loop does while no command comes
        with contextlib.suppress(TimeoutError):
            await commands.fetch(1, timeout=0.3)
    began = time.monotonic()
    await nats_client.close(client, [commands])
    assert client.is_closed
    assert time.monotonic() - began < nats_client.DRAIN_TIMEOUT_S / 2


async def test_close_while_nats_is_away_closes_at_once(nats: NatsServer, unique: str) -> None:
    async def ignore(msg: Msg) -> None:
        pass

    client = await nats_client.connect(nats.url, "test-away")
    try:
        await client.subscribe(f"{unique}.x", cb=ignore)
        nats.stop()
        async with asyncio.timeout(10):
            while not client.is_reconnecting:
                await asyncio.sleep(0.05)  # nats_client.connect takes no disconnect callback
        await client.publish(f"{unique}.x", b"buffered while away")  # nats-py keeps it pending
        began = time.monotonic()
        await nats_client.close(client)
        assert client.is_closed
        assert time.monotonic() - began < 3
    finally:
        await nats_client.close(client)


async def test_close_of_a_closed_client_is_quiet(nats_url: str) -> None:
    client = await nats_client.connect(nats_url, "test-twice")
    await nats_client.close(client)
    await nats_client.close(client)
    assert client.is_closed
