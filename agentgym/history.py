"""Reading a session's recorded training updates and episodes back from JetStream, after a
given `seq`.

The updates of one session sit on `agentgym.metrics.<id>` in the training stream (its recorded
episodes on `agentgym.episodes.<id>` in the episodes stream), interleaved with every other
session's. To start after `since` without replaying the whole subject, a binary search over
stream sequences (each probe one "first message on this subject at or after stream sequence N"
lookup) finds where the wanted messages begin; an ephemeral consumer then delivers them from
there in bulk. Used by the REST history endpoints and the streamer.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from agentgym import subjects
from agentgym.messages import parse_update

FETCH_BATCH = 1000
SAMPLED_IN_FLIGHT = 500  # direct gets of a sample awaited together
# Recorded episodes one request reads at most while looking for those a filter wants: a page
# of a rare kind may come back short, with the cursor to read on from.
MAX_SCANNED = 5000


async def _first_at_or_after(
    js: JetStreamContext, stream: str, subject: str, stream_seq: int
) -> tuple[int, int]:
    """(stream sequence, seq) of the first message on `subject` at or after `stream_seq`."""
    found = await js.get_msg(stream, seq=stream_seq, subject=subject, next=True)
    assert found.seq is not None and found.data is not None
    return found.seq, parse_update(found.data)[0]


async def _read(
    js: JetStreamContext,
    stream: str,
    subject: str,
    since: int,
    limit: int | None,
    keep: Callable[[bytes], bool] | None = None,
    enough: int | None = None,
) -> tuple[list[bytes], int, int]:
    """The messages of `subject` with `seq` > `since`, in order, as published: at most `limit`
    read, of those the ones `keep` wants (all: None), until `enough` are kept; the seq of the
    last one read (`since` if none); and the seq of the last on the subject. Messages older than the stream keeps are gone: they
    start at the oldest kept."""
    try:
        last = await js.get_last_msg(stream, subject)
    except nats.js.errors.NotFoundError:
        return [], since, 0
    assert last.seq is not None and last.data is not None
    last_seq = parse_update(last.data)[0]
    if last_seq <= since:
        return [], since, last_seq

    # Binary search: the smallest stream sequence whose message on `subject` has seq > since.
    low, high = 1, last.seq
    while low < high:
        middle = (low + high) // 2
        stream_seq, seq = await _first_at_or_after(js, stream, subject, middle)
        if seq > since:
            high = middle
        else:
            low = stream_seq + 1

    wanted = last_seq - since if limit is None else min(limit, last_seq - since)
    enough = wanted if enough is None else enough
    consumer = await js.pull_subscribe(
        subject,
        stream=stream,
        config=ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=low,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=30.0,
            mem_storage=True,
        ),
    )
    kept: list[bytes] = []
    read, read_seq = 0, since
    try:
        while read < wanted and len(kept) < enough:
            size = min(FETCH_BATCH, wanted - read, max(enough - len(kept), 100))
            try:
                batch = await consumer.fetch(size, timeout=2)
            except nats.errors.TimeoutError:
                break  # fewer kept than counted (the cap dropped some meanwhile)
            for msg in batch:
                read += 1
                read_seq = parse_update(msg.data)[0]
                if keep is None or keep(msg.data):
                    kept.append(msg.data)
                    if len(kept) == enough:
                        break
            if batch and batch[-1].metadata.num_pending == 0:
                break
    finally:
        await consumer.unsubscribe()
    return kept, read_seq, last_seq


async def read_updates(
    js: JetStreamContext, session_id: str, since: int = 0, limit: int | None = None
) -> list[bytes]:
    """The session's recorded updates with `seq` > `since`, in order, as published (bytes).

    Updates older than the stream keeps (its per-subject cap) are gone; the list then starts
    at the oldest kept.
    """
    subject = subjects.metrics_subject(session_id)
    updates, _, _ = await _read(js, subjects.TRAINING_STREAM, subject, since, limit)
    return updates


async def sample_updates(js: JetStreamContext, session_id: str, points: int) -> list[bytes]:
    """At most `points` of the session's recorded updates, evenly spaced over the stream from
    its first kept to its last (both included), in order: a chart of a long history without
    reading all of it (a consumer delivers some 15,000 messages a second to Python here; a
    direct get for each point, in flight together, is many times faster)."""
    stream, subject = subjects.TRAINING_STREAM, subjects.metrics_subject(session_id)
    try:
        last = await js.get_last_msg(stream, subject)
    except nats.js.errors.NotFoundError:
        return []
    assert last.seq is not None and last.data is not None
    if parse_update(last.data)[0] <= points:
        return await read_updates(js, session_id)
    first, _ = await _first_at_or_after(js, stream, subject, 1)
    span = last.seq - first
    starts = sorted({first + round(i * span / (points - 1)) for i in range(points)})
    found: dict[int, bytes] = {}
    for chunk in range(0, len(starts), SAMPLED_IN_FLIGHT):
        replies = await asyncio.gather(
            *(
                js.get_msg(stream, seq=start, subject=subject, next=True)
                for start in starts[chunk : chunk + SAMPLED_IN_FLIGHT]
            )
        )
        for reply in replies:
            assert reply.seq is not None and reply.data is not None
            found[reply.seq] = reply.data
    return [found[seq] for seq in sorted(found)]


@contextlib.asynccontextmanager
async def _decisions_after(
    js: JetStreamContext, subject: str, after: int
) -> AsyncIterator[JetStreamContext.PullSubscription]:
    """A consumer of the decisions on `subject` above stream sequence `after`, deleted once
    read (not left to time out)."""
    name = f"decisions-{uuid.uuid4().hex}"
    consumer = await js.pull_subscribe(
        subject,
        stream=subjects.DECISIONS_STREAM,
        config=ConsumerConfig(
            name=name,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=after + 1,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=30.0,
            mem_storage=True,
        ),
    )
    try:
        yield consumer
    finally:
        await consumer.unsubscribe()
        with contextlib.suppress(nats.errors.Error):
            await js.delete_consumer(subjects.DECISIONS_STREAM, name)


async def read_decisions(
    js: JetStreamContext, tenant: str, scenario_id: str | None, after: int, limit: int
) -> tuple[list[tuple[int, bytes]], int]:
    """The tenant's decisions (of `scenario_id`, or all its scenarios') whose stream sequence
    is above `after`, at most `limit`, in order, each with its sequence; and the sequence of
    the last read (`after` with none): the cursor to read on from."""
    subject = subjects.decisions_subject(tenant, scenario_id or "*")
    found: list[tuple[int, bytes]] = []
    cursor = after
    async with _decisions_after(js, subject, after) as consumer:
        pending = (await consumer.consumer_info()).num_pending or 0
        while len(found) < min(limit, pending):
            try:
                batch = await consumer.fetch(min(FETCH_BATCH, limit - len(found)), timeout=2)
            except nats.errors.TimeoutError:
                break  # fewer than counted (the cap dropped some meanwhile)
            for msg in batch:
                cursor = msg.metadata.sequence.stream
                found.append((cursor, msg.data))
            if batch and batch[-1].metadata.num_pending == 0:
                break
    return found, cursor


async def held_after(js: JetStreamContext, tenant: str, scenario_id: str, after: int) -> int:
    """How many of a scenario's decisions and calls above stream sequence `after` are held."""
    subject = subjects.decisions_subject(tenant, scenario_id)
    async with _decisions_after(js, subject, after) as consumer:
        return (await consumer.consumer_info()).num_pending or 0


async def read_episodes(
    js: JetStreamContext,
    session_id: str,
    after: int = 0,
    limit: int | None = None,
    keep: Callable[[bytes], bool] | None = None,
) -> tuple[list[bytes], int | None, int]:
    """The session's recorded episodes with `seq` > `after` that `keep` wants (all: None), in
    order, at most `limit`; the seq to read on after, None if none was recorded after the
    last one read (yet); and the seq of the last one recorded (0: none). With a filter, at most MAX_SCANNED are read, so the list may be short
    of `limit` while more follow."""
    subject = subjects.episodes_subject(session_id)
    scan = limit if keep is None else MAX_SCANNED
    found, read_seq, last_seq = await _read(
        js, subjects.EPISODES_STREAM, subject, after, scan, keep, limit
    )
    return found, read_seq if read_seq < last_seq else None, last_seq
