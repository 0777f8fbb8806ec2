"""Active sessions are counted by their marks, set and cleared as the lifecycle decides, not by
listing every session the tenant ever had."""

from __future__ import annotations

import httpx

from agentgym.records import Keys, SessionRecord, mark_active, modify
from agentgym.state import SessionStatus
from agentgym.store import KeyValueStore

from .test_training import start


def stopped_by_a_trainer(session: SessionRecord) -> SessionRecord:
    return session.model_copy(update={"status": SessionStatus.STOPPED, "pending": None})


async def marked(store: KeyValueStore) -> set[str]:
    return {entry.key.rsplit("/", 1)[1] for entry in await store.list(Keys().active)}


async def test_a_session_is_marked_while_queued_and_not_while_paused(
    api: httpx.Client, store: KeyValueStore
) -> None:
    session_id = start(api)
    assert await marked(store) == {session_id}
    assert api.post(f"/api/training/{session_id}/pause").status_code == 200
    assert await marked(store) == set()
    assert api.post(f"/api/training/{session_id}/resume").status_code == 200
    assert await marked(store) == {session_id}
    await modify(store, Keys().session(session_id), SessionRecord, stopped_by_a_trainer)
    await mark_active(store, Keys(), session_id, False)  # as a trainer does when it stops it
    assert api.delete(f"/api/training/{session_id}").status_code == 200
    assert await marked(store) == set()


async def test_marks_left_stale_by_a_crash_are_cleared_at_the_limit(
    api: httpx.Client, store: KeyValueStore
) -> None:
    """A writer that died between a session's end and its mark leaves the mark: at the limit
    each mark is checked against its session, so the tenant is not refused for good."""
    for n in range(100):  # the default limit, all ended without their marks cleared
        await mark_active(store, Keys(), f"session_gone{n}", True)
    started = start(api)  # not a 429: the stale marks were found out
    assert await marked(store) == {started}
