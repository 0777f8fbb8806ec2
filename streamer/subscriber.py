"""One browser: what it has been sent, what waits for it, and what happens when it is slow.

Delivery is faster than `websockets.broadcast()` while a client keeps up: an update's
WebSocket frame is encoded once, and its bytes written straight into each watcher's socket
buffer (no task switch, `write_frame`); `broadcast()` encodes the frame again for every
connection.
Once its buffer fills, frames wait in a bounded queue that the client's own relay task drains
at the client's pace. A full queue is conflated: the oldest plain update goes, the newest
wins, and a status change is never dropped. A client still behind after `slow_timeout_s` is
closed with 1013 (try again later), so no client can hold back another or grow without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode, Opcode
from websockets.frames import Frame as WireFrame
from websockets.protocol import State

from agentgym.auth import DEFAULT_TENANT
from streamer.metrics import Metrics

WRITE_HIGH_WATER = 64 * 1024  # bytes in the socket buffer before frames queue instead
# A relay waiting for room is woken once the buffer is down to this, with frames still in it
# for the socket: the browser never waits for the relay (the server's `write_limit`).
WRITE_LOW_WATER = WRITE_HIGH_WATER // 2
WEBSOCKETS_MAJOR = 17  # the websockets release whose internals `write_frame` relies on


@dataclass(slots=True)
class Frame:
    payload: bytes
    seq: int = 0  # 0: not a numbered update (a snapshot or an event)
    vital: bool = False  # a status change or an event: never conflated away
    episode: bool = False  # a recorded episode: `seq` counts the session's episodes
    wire: bytes = field(init=False)  # the whole WebSocket text frame, the same for every client

    def __post_init__(self) -> None:
        # A server masks nothing, and ours negotiates no extension (no compression): the
        # frame's bytes are the same on every connection, so they are encoded once.
        self.wire = WireFrame(Opcode.TEXT, self.payload).serialize(mask=False)


def write_frame(connection: ServerConnection, wire: bytes) -> bool:
    """Write a whole encoded frame (a `Frame`'s `wire`) into the connection's socket buffer,
    past websockets' `send()`; False, and nothing written, once the connection is not open.

    Written against websockets 17's asyncio implementation, which is why pyproject pins
    `websockets>=17,<18` and tests/streamer/test_wire.py checks the installed one. It relies on:
    - `connection.transport`, the asyncio transport websockets itself writes to, and
      `connection.protocol.state`: after a close frame no frame may follow;
    - websockets writing all its protocol has to send (`send()`'s frames, pings, pongs, a
      close) to that transport before control returns to the event loop, so that none of its
      frames is pending, or half written, while this one goes in;
    - no extension negotiated (`Subscriber` checks) and no fragmented message ever sent on the
      connection: a server's text frame is then the same bytes on every connection, valid
      at any moment the connection is open.
    """
    if connection.protocol.state is not State.OPEN:
        return False
    connection.transport.write(wire)
    return True


@dataclass(eq=False)  # a client is itself, held in sets: compared and hashed by identity
class Subscriber:
    connection: ServerConnection
    metrics: Metrics
    queue_size: int
    slow_timeout_s: float
    last_seq: int = 0  # the seq of the last update sent (or skipped as already sent)
    last_episode: int = 0  # the seq of the last recorded episode sent
    queue: deque[Frame] = field(default_factory=deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    tenant: str = DEFAULT_TENANT  # whose status changes a dashboard client sees
    live: bool = False  # until the snapshot and history are sent, live frames wait in backlog
    backlog: list[Frame] = field(default_factory=list)
    _relay: asyncio.Task[None] | None = None
    _closing: asyncio.Task[None] | None = None
    _slow_timer: asyncio.TimerHandle | None = None  # set while behind: closes it when it fires

    def __post_init__(self) -> None:
        if self.connection.protocol.extensions:  # they would re-encode each frame
            raise ValueError(
                "a Subscriber needs a connection without extensions (compression=None)"
            )

    def start(self) -> None:
        self._relay = asyncio.create_task(self._run_relay())

    async def stop(self) -> None:
        self._caught_up()
        for task in (self._relay, self._closing):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def offer(self, frame: Frame) -> None:
        """A live frame: delivered now, or kept until the client has caught up."""
        if self.live:
            self.deliver(frame)
        else:
            self.backlog.append(frame)

    def go_live(self) -> None:
        """Caught up: send what arrived meanwhile (skipping what history already sent)."""
        for frame in self.backlog:
            self.deliver(frame)
        self.backlog.clear()
        self.live = True

    def deliver(self, frame: Frame) -> None:
        """Send or queue a frame; updates (and episodes) this client already has are skipped."""
        if frame.episode:
            if frame.seq <= self.last_episode:
                return
            self.last_episode = frame.seq
        elif frame.seq:
            if frame.seq <= self.last_seq:
                return
            self.last_seq = frame.seq
        if self.queue:  # behind: in line after what already waits (the cheap path, per update)
            self._enqueue(frame)
            return
        connection = self.connection
        if connection.transport.get_write_buffer_size() < WRITE_HIGH_WATER:
            if write_frame(connection, frame.wire):  # into the socket's buffer at once
                self.metrics.messages_out += 1
        elif connection.protocol.state is State.OPEN:  # a closing one is not slow
            self._enqueue(frame)

    def _enqueue(self, frame: Frame) -> None:
        queue = self.queue
        if not queue:  # falling behind: it has slow_timeout_s to catch up
            if self._slow_timer is None:
                loop = asyncio.get_running_loop()
                self._slow_timer = loop.call_later(self.slow_timeout_s, self._close_slow)
        elif len(queue) >= self.queue_size:
            self._conflate()
        queue.append(frame)
        self.ready.set()

    def _conflate(self) -> None:
        """The queue is full: its oldest plain update goes. Status changes all stay."""
        queue = self.queue
        if not queue[0].vital:
            queue.popleft()
        else:
            for index, queued in enumerate(queue):
                if not queued.vital:
                    del queue[index]
                    break
            else:
                return
        self.metrics.drops += 1

    def _caught_up(self) -> None:
        if self._slow_timer is not None:
            self._slow_timer.cancel()
            self._slow_timer = None

    def _close_slow(self) -> None:
        self.metrics.slow_disconnects += 1
        self.queue.clear()
        if self._closing is None:
            self._closing = asyncio.create_task(
                self.connection.close(
                    CloseCode.TRY_AGAIN_LATER, "too slow: reconnect with ?since=<last seq>"
                )
            )

    async def _run_relay(self) -> None:
        """Drain the queue at the client's pace (`send` waits while its buffer is full)."""
        try:
            while True:
                await self.ready.wait()
                self.ready.clear()
                while self.queue:
                    frame = self.queue.popleft()
                    if self.connection.transport.get_write_buffer_size() < WRITE_HIGH_WATER:
                        # Room in the socket: no need for send()'s machinery.
                        if write_frame(self.connection, frame.wire):
                            self.metrics.messages_out += 1
                    else:
                        await self.connection.send(frame.payload, text=True)  # waits for room
                        self.metrics.messages_out += 1
                self._caught_up()
        except ConnectionClosed:
            return
