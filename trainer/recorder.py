"""Storing what a session's slot recorded (its episodes, its latest evaluation) while the
session trains on.

Publishing episodes waits for JetStream to confirm them (a slice's together); a held-out
evaluation brings one per task. Done between slices, that wait would stop training meanwhile;
here a task of its own stores them, in order, while the next slice trains. The evaluation's
report is written at once: the update that says a held-out accuracy was measured must find
it. It lags at most QUEUED slices behind: past that, the session waits for it (NATS slow or
away), so nothing recorded is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from agentgym.artifacts import ArtifactStore
from agentgym.messages import SessionEvaluation
from agentgym.records import Keys
from trainer.publisher import Publisher
from trainer.runner import Progress

QUEUED = 64  # slices' records waiting at most


class Recorder:
    def __init__(
        self, session_id: str, keys: Keys, publisher: Publisher, artifacts: ArtifactStore
    ) -> None:
        self.session_id = session_id
        self.keys = keys
        self.publisher = publisher
        self.artifacts = artifacts
        self.seq: int | None = None  # of the last episode stored; read from the stream first
        self._stored_up_to = 0  # the episode number of the last one a previous worker stored
        self._queue: asyncio.Queue[Progress | None] = asyncio.Queue(QUEUED)
        self._task: asyncio.Task[None] | None = None

    async def add(self, progress: Progress) -> None:
        """Store what `progress` brought, after everything added before it. Raises what
        storing an earlier one raised (NATS away past its bound, say)."""
        if self._task is not None and self._task.done():
            self._task.result()  # its error, here, in the session's loop
        if progress.report is not None:  # now: the next update says it was measured
            report = SessionEvaluation.model_validate(progress.report)
            await self.artifacts.put(
                self.keys.evaluation(self.session_id), report.model_dump_json().encode()
            )
        if not progress.episodes:
            return
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"record {self.session_id}")
        put = asyncio.ensure_future(self._queue.put(progress))
        done, _ = await asyncio.wait({put, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if put not in done:  # the storing task ended (failed) while the queue was full
            put.cancel()
            self._task.result()

    async def flush(self) -> None:
        """Wait until everything added is stored; raises what storing raised."""
        if self._task is None:
            return
        task, self._task = self._task, None
        if not task.done():
            await self._queue.put(None)
        await task

    async def close(self) -> None:
        """Stop storing, whatever is left (the session failed, or its worker goes away)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while (progress := await self._queue.get()) is not None:
            await self._store(progress)

    async def _store(self, progress: Progress) -> None:
        if self.seq is None:
            self.seq, self._stored_up_to = await self.publisher.last_episode(self.session_id)
        fresh = []
        for data in progress.episodes:
            if self._stored_up_to:
                # A run resumed from its checkpoint plays again what it played after it: what
                # was recorded then stays, and its repeat is not recorded twice.
                if json.loads(data)["episode"] < self._stored_up_to:
                    continue
                self._stored_up_to = 0
            fresh.append(data)
        await self.publisher.episodes(self.session_id, self.seq + 1, fresh)
        self.seq += len(fresh)
