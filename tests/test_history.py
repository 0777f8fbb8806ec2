"""Reading a session's recorded updates back after a given seq, on a real JetStream."""

from __future__ import annotations

import json

from agentgym import history, nats_client, subjects
from agentgym.messages import TrainingUpdate
from agentgym.records import SessionRecord


def update(session_id: str, seq: int) -> bytes:
    status = SessionRecord(
        session_id=session_id, scenario_id="customer_support", framework="LangChain",
        status="running", current_episode=seq, max_episodes=100, learning_rate=0.01, seed=1,
    ).status_view()  # fmt: skip
    return TrainingUpdate(session_id=session_id, seq=seq, data=status).encode()


async def test_updates_after_since_come_back_in_order_byte_for_byte(
    nats_url: str, unique: str
) -> None:
    client = await nats_client.connect(nats_url, "test")
    js = client.jetstream()
    await subjects.ensure_streams(js)
    mine, other = f"{unique}a", f"{unique}b"
    published = []
    for seq in range(1, 61):  # interleaved with another session's updates
        published.append(update(mine, seq))
        await js.publish(subjects.metrics_subject(mine), published[-1])
        await js.publish(subjects.metrics_subject(other), update(other, seq))
    try:
        assert await history.read_updates(js, mine) == published
        after = await history.read_updates(js, mine, since=37)
        assert [json.loads(u)["seq"] for u in after] == list(range(38, 61))
        assert after == published[37:]
        assert await history.read_updates(js, mine, since=60) == []
        limited = await history.read_updates(js, mine, since=10, limit=5)
        assert [json.loads(u)["seq"] for u in limited] == [11, 12, 13, 14, 15]
        assert await history.read_updates(js, f"{unique}none") == []
    finally:
        await client.close()
