"""NATS in, browsers out: one subscription per watched session, however many browsers watch.

A session's subscription exists while at least one browser watches it. Each update is parsed
once (its `seq`, and whether the status changed) and its bytes handed to every watcher as the
trainer published them. Updates are numbered with no hole, so a jump in `seq` means some went
missing (NATS restarted, say): the hub then reads them back from JetStream before going on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field

from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext

from agentgym import history, subjects
from agentgym.auth import DEFAULT_TENANT
from agentgym.messages import parse_update
from agentgym.nats_client import UNAVAILABLE
from streamer.metrics import Metrics
from streamer.subscriber import Frame, Subscriber

logger = logging.getLogger(__name__)

PENDING_LIMIT = 1_000_000  # messages nats-py may buffer per subscription before dropping
FLUSH_S = 2  # a PING answered locally in well under a millisecond; a restart takes longer


@dataclass
class Watched:
    """One session's subscription and the browsers watching it; and, while some of them
    asked for them, the subscription to its recorded episodes."""

    subscription: Subscription
    clients: set[Subscriber] = field(default_factory=set)
    last_seq: int = 0
    last_status: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one gap fill at a time
    episodes: Subscription | None = None
    episode_clients: set[Subscriber] = field(default_factory=set)
    last_episode: int = 0


class Hub:
    def __init__(self, nats: Nats, metrics: Metrics) -> None:
        self.nats = nats
        self.js: JetStreamContext = nats.jetstream()
        self.metrics = metrics
        self.sessions: dict[str, Watched] = {}
        self.dashboards: set[Subscriber] = set()
        self._events: Subscription | None = None

    # --- one session ------------------------------------------------------------------------------

    async def watch(self, session_id: str, client: Subscriber, episodes: bool = False) -> Watched:
        """Add a watcher (of its episodes too, if `episodes`); the first one opens the
        session's subscription (the first of its episodes, theirs). Returns once NATS has the
        subscriptions (a SUB waits in the client's buffer until flushed; a watcher that did not
        open them waits for them too): the history read after it then overlaps what arrives
        live (duplicates are dropped by seq), so an update published meanwhile is never missed
        by both."""
        watched = self.sessions.get(session_id)
        if watched is None:

            async def on_update(msg: Msg) -> None:
                await self._on_update(session_id, msg)

            subscription = await self.nats.subscribe(
                subjects.metrics_subject(session_id),
                cb=on_update,
                pending_msgs_limit=PENDING_LIMIT,
                pending_bytes_limit=-1,
            )
            watched = self.sessions.setdefault(session_id, Watched(subscription))
            if watched.subscription is not subscription:  # another watcher won the race
                await subscription.unsubscribe()
            self.metrics.sessions_watched = len(self.sessions)
        watched.clients.add(client)
        if episodes:
            if watched.episodes is None:

                async def on_episode(msg: Msg) -> None:
                    await self._on_episode(session_id, msg)

                watched.episodes = await self.nats.subscribe(
                    subjects.episodes_subject(session_id),
                    cb=on_episode,
                    pending_msgs_limit=PENDING_LIMIT,
                    pending_bytes_limit=-1,
                )
            watched.episode_clients.add(client)
        await self._registered()
        return watched

    async def _registered(self) -> None:
        """Wait until NATS has every subscription made so far (a PING answered after them).
        NATS away: its reconnect subscribes again; the watcher goes on, as it would have."""
        with contextlib.suppress(*UNAVAILABLE):
            await self.nats.flush(FLUSH_S)

    async def unwatch(self, session_id: str, client: Subscriber) -> None:
        """Remove a watcher; the last one closes the session's subscription."""
        watched = self.sessions.get(session_id)
        if watched is None:
            return
        watched.clients.discard(client)
        watched.episode_clients.discard(client)
        if not watched.episode_clients and watched.episodes is not None:
            episodes, watched.episodes = watched.episodes, None
            watched.last_episode = 0  # the next subscription starts from what it is sent
            await episodes.unsubscribe()
        if not watched.clients:
            del self.sessions[session_id]
            self.metrics.sessions_watched = len(self.sessions)
            await watched.subscription.unsubscribe()

    async def _on_update(self, session_id: str, msg: Msg) -> None:
        started = time.perf_counter()
        self.metrics.messages_in += 1
        watched = self.sessions.get(session_id)
        if watched is None:
            return
        seq, status = parse_update(msg.data)
        if watched.last_seq and seq > watched.last_seq + 1:
            await self.fill_gap(session_id, watched)  # brings last_seq up to date
        self._fan_out(watched, msg.data, seq, status)
        self.metrics.fan_out_seconds.observe(time.perf_counter() - started)  # once per update

    def _fan_out(self, watched: Watched, payload: bytes, seq: int, status: str | None) -> None:
        if seq <= watched.last_seq:
            return  # already delivered (a gap fill got it first)
        frame = Frame(payload, seq, vital=status != watched.last_status)
        watched.last_seq, watched.last_status = seq, status
        for client in watched.clients:
            client.offer(frame)

    async def _on_episode(self, session_id: str, msg: Msg) -> None:
        self.metrics.messages_in += 1
        watched = self.sessions.get(session_id)
        if watched is None:
            return
        seq = parse_update(msg.data)[0]
        if watched.last_episode and seq > watched.last_episode + 1:
            await self.fill_episode_gap(session_id, watched)
        self._fan_out_episode(watched, msg.data, seq)

    def _fan_out_episode(self, watched: Watched, payload: bytes, seq: int) -> None:
        if seq <= watched.last_episode:
            return
        frame = Frame(payload, seq, episode=True)
        watched.last_episode = seq
        for client in watched.episode_clients:
            client.offer(frame)

    async def fill_episode_gap(self, session_id: str, watched: Watched) -> None:
        """Read back the recorded episodes this subscription missed, and deliver them."""
        async with watched.lock:
            missed, _, _ = await history.read_episodes(self.js, session_id, watched.last_episode)
            if missed:
                self.metrics.gap_fills += 1
            for payload in missed:
                self._fan_out_episode(watched, payload, parse_update(payload)[0])

    async def fill_gap(self, session_id: str, watched: Watched) -> None:
        """Read back from JetStream what this subscription missed, and deliver it in order."""
        async with watched.lock:
            missed = await history.read_updates(self.js, session_id, since=watched.last_seq)
            if missed:
                self.metrics.gap_fills += 1
            for payload in missed:
                self._fan_out(watched, payload, *parse_update(payload))

    async def fill_all_gaps(self) -> None:
        """After a reconnect: whatever was published meanwhile, for every watched session."""
        for session_id, watched in list(self.sessions.items()):
            try:
                await self.fill_gap(session_id, watched)
                if watched.episodes is not None and watched.last_episode:
                    await self.fill_episode_gap(session_id, watched)
            except Exception:  # the next update's seq jump retries it
                logger.exception("%s: could not read back missed updates", session_id)

    # --- every session's status changes ------------------------------------------------------------

    async def watch_all(self, client: Subscriber) -> None:
        if self._events is None:
            self._events = await self.nats.subscribe(
                subjects.EVENTS_ALL,
                cb=self._on_event,
                pending_msgs_limit=PENDING_LIMIT,
                pending_bytes_limit=-1,
            )
        await self._registered()  # as `watch`: the listing read after it misses no event
        self.dashboards.add(client)

    async def unwatch_all(self, client: Subscriber) -> None:
        self.dashboards.discard(client)
        if not self.dashboards and self._events is not None:
            events, self._events = self._events, None
            await events.unsubscribe()

    async def _on_event(self, msg: Msg) -> None:
        started = time.perf_counter()
        self.metrics.messages_in += 1
        frame = Frame(msg.data, vital=True)
        tenant = json.loads(msg.data).get("tenant", DEFAULT_TENANT)
        for client in self.dashboards:
            if client.tenant == tenant:
                client.offer(frame)
        self.metrics.fan_out_seconds.observe(time.perf_counter() - started)
