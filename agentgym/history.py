"""Reading a session's recorded training updates back from JetStream, after a given `seq`.

The updates of one session sit on `agentgym.metrics.<id>` in the training stream, interleaved
with every other session's. To start after `since` without replaying the whole subject, a
binary search over stream sequences (each probe one "first message on this subject at or after
stream sequence N" lookup) finds where the wanted updates begin; an ephemeral consumer then
delivers them from there in bulk. Used by the REST history endpoint and the streamer.
"""

from __future__ import annotations

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from agentgym import subjects
from agentgym.messages import parse_update

FETCH_BATCH = 1000


async def _first_at_or_after(
    js: JetStreamContext, subject: str, stream_seq: int
) -> tuple[int, int]:
    """(stream sequence, update seq) of the first message on `subject` at or after `stream_seq`."""
    found = await js.get_msg(subjects.TRAINING_STREAM, seq=stream_seq, subject=subject, next=True)
    assert found.seq is not None and found.data is not None
    return found.seq, parse_update(found.data)[0]


async def read_updates(
    js: JetStreamContext, session_id: str, since: int = 0, limit: int | None = None
) -> list[bytes]:
    """The session's recorded updates with `seq` > `since`, in order, as published (bytes).

    Updates older than the stream keeps (its per-subject cap) are gone; the list then starts
    at the oldest kept.
    """
    subject = subjects.metrics_subject(session_id)
    try:
        last = await js.get_last_msg(subjects.TRAINING_STREAM, subject)
    except nats.js.errors.NotFoundError:
        return []
    assert last.seq is not None and last.data is not None
    last_seq = parse_update(last.data)[0]
    if last_seq <= since:
        return []

    # Binary search: the smallest stream sequence whose message on `subject` has seq > since.
    low, high = 1, last.seq
    while low < high:
        middle = (low + high) // 2
        stream_seq, seq = await _first_at_or_after(js, subject, middle)
        if seq > since:
            high = middle
        else:
            low = stream_seq + 1
    start = low

    wanted = last_seq - since if limit is None else min(limit, last_seq - since)
    consumer = await js.pull_subscribe(
        subject,
        stream=subjects.TRAINING_STREAM,
        config=ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=30.0,
            mem_storage=True,
        ),
    )
    updates: list[bytes] = []
    try:
        while len(updates) < wanted:
            try:
                batch = await consumer.fetch(min(FETCH_BATCH, wanted - len(updates)), timeout=2)
            except nats.errors.TimeoutError:
                break  # fewer kept than counted (the cap dropped some meanwhile)
            updates.extend(msg.data for msg in batch)
            if batch and batch[-1].metadata.num_pending == 0:
                break
    finally:
        await consumer.unsubscribe()
    return updates
