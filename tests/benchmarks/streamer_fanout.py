"""Streamer fan-out against its ceiling: latency and saturation throughput, same run.

    .venv/bin/python tests/benchmarks/streamer_fanout.py [--clients 1000] [--seconds 30]
        [--window 18] [--sessions 100] [--per-session 10] [--session-rate 10]
        [--rounds 6] [--sock-buffer 4096] [--scenario all|ab|c] [--quick] [--profile]

The ceiling is the websockets library's own `broadcast()` of pre-encoded frames from a bare
`websockets.asyncio.server.serve` server (same options as the streamer: no compression), with
no NATS and no app. The streamer is `Streamer(StreamerSettings)` with its default queue size
and slow-client timeout (its per-tenant connection cap raised to the client count: all
clients are the one default tenant), over a nats-server of this script's and SQLite. Both
servers run in this process at once, and the clients of both (`ws_clients.py`: websockets'
asyncio client, one connection per client) in a separate process, which counts every frame and,
from the `time.time_ns()` each update carries in its `data.error`, takes latency samples
(receive time minus publish time, same clock). Frames are the same bytes both ways: a
`TrainingUpdate` as a trainer encodes it (~450 bytes). All clients connect and get their
first frame (the streamer's snapshot, the bare server's hello) before anything is published.
Each phase is `--rounds` turns per server, the servers alternating (and which goes first), so
that a slow spell of this shared machine weighs on both alike; the figures pool the turns, and
each turn starts with an unrecorded warm-up at the same load. A p99 over a few seconds hangs on
one or two scheduling stalls of this 2-core machine: measure tens of seconds. Beside the
streamer's latency, a bare NATS subscriber in the same process (on `PROBED_SESSIONS`
sessions) shows what the NATS hop alone costs, which the ceiling does not pay.

- A, latency: `--clients` on one session, `--rate` updates/s for `--seconds`: p50 and p99 of
  publish-to-receive latency. The streamer's updates come from a publisher process standing
  in for the trainers (update_feed.py: what a trainer publishes, to the same subjects); the
  bare server calls `broadcast()` at the same times. Target: streamer p99 <= 1.5x the ceiling's.
- B, saturation: the same clients; updates as fast as the server takes them, frames received
  by the clients per second over `--window` (each turn after `WARMUP_S` of warm-up). The
  publisher process keeps at most `SATURATION_IN_FLIGHT` updates ahead of what the streamer
  has taken from NATS; the bare server broadcasts in a loop (yielding to its event loop
  between broadcasts) to the connections whose write buffer is under 64 KiB, the streamer's
  own high-water mark, so that a client that cannot keep up skips frames instead of growing a
  buffer without bound (the streamer queues, then conflates). A server whose write buffers
  hold less at the end of a window than at its start is not credited with the difference: it
  would otherwise count the backlog its warm-up wrote (up to 64 KiB per client) as delivered
  in the window, although it did not keep up. Target: streamer >= 70% of the ceiling.
- C: `--sessions` x `--per-session` clients at `--session-rate` updates/s per session
  (default 10/s: 1,000 updates/s in all, the same 10,000 frames/s as A; spread evenly, one
  publish every 1/(sessions x rate) s, round robin), then saturation over all sessions.

Loopback TCP would otherwise let the kernel buffer megabytes per connection, so that a
saturated server never sees a slow client (no queueing, no conflation) and a measuring window
counts the warm-up's backlog draining: `--sock-buffer` (default 4 KiB) sets each client
socket's SO_RCVBUF and its server side's SO_SNDBUF, the same for both servers (0: the
kernel's autotuning).

Each phase also shows the CPU used, in cores, by the server (this process), the clients,
nats-server, the publisher and everything else on the machine: a row whose phase had other
work above `BUSY_OTHER` cores is starred, its figures are skewed. After each
streamer phase its `/metrics` counters are printed (drops and slow disconnects: conflation
under saturation is expected). `--profile` runs cProfile over the streamer's saturation
windows and prints the top functions. It reports; it never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import os
import pstats
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script, sys.path[0] is tests/benchmarks
    sys.path.insert(0, str(ROOT))

from streamer.subscriber import WRITE_HIGH_WATER  # noqa: E402
from tests.benchmarks.update_feed import Publisher, Updates, paced, record  # noqa: E402
from tests.benchmarks.ws_clients import Clients, raise_fd_limit  # noqa: E402

LATENCY_TARGET = 1.5  # streamer p99 / ceiling p99, at most
THROUGHPUT_TARGET = 0.70  # streamer msgs/s / ceiling msgs/s, at least
SATURATION_IN_FLIGHT = 200  # updates published but not yet taken by the streamer
# Of each saturation turn, before its window: long enough for the write buffers to fill and
# the streamer's relays to reach their steady pace (each refills a buffer it let drain to
# half, ~70 frames that a client takes ~1 s to read at this load).
WARMUP_S = 1.5
PROBED_SESSIONS = 10  # sessions a bare NATS subscriber also takes, to show the hop's share
# Each latency turn first runs unrecorded: what is measured is a server that has been under
# that load, not the first updates after the other server's turn (idle caches, idle CPUs).
LATENCY_WARMUP_S = 1.0
LAST_FRAMES_S = 0.3  # after a latency turn, for its last frames to reach the clients
BUSY_OTHER = 0.25  # cores of other work during a phase above which its row is flagged


# --- frames ---------------------------------------------------------------------------------------


def session_ids(prefix: str, count: int) -> list[str]:
    """Fresh ids per scenario: NATS keeps every update, and a reused id would replay them."""
    return [f"session_bench_{prefix}{index:04d}" for index in range(count)]


def record_key(session_id: str) -> str:
    """Where the streamer looks a session up: the default tenant's key."""
    from agentgym.records import Keys

    return Keys().session(session_id)


# --- the two servers ------------------------------------------------------------------------------


class Server:
    name: str
    base: str  # ws://host:port

    async def start(self, sessions: list[str], clients: int = 0) -> None:
        raise NotImplementedError

    async def wait_live(self, clients: int) -> None:
        raise NotImplementedError

    async def paced(self, sessions: list[str], rate: float, seconds: float) -> int:
        """Updates at `rate` per session (update_feed.paced); how many went out late."""
        raise NotImplementedError

    async def saturate(self, sessions: list[str], stop: asyncio.Event) -> int:
        raise NotImplementedError

    async def counters(self) -> dict[str, int]:
        return {}

    def frames_out(self) -> int:  # frames handed to sockets so far
        return 0

    def connections(self) -> list[Any]:  # the server side of every client's connection
        return []

    def helper_pids(self) -> dict[str, int | None]:  # other processes working for this server
        return {}

    def buffered(self) -> int:  # bytes written to the connections, not yet taken by the kernel
        return sum(c.transport.get_write_buffer_size() for c in self.connections())

    def backlog(self) -> int:  # bytes and frames not yet handed to the clients' sockets
        return self.buffered()

    async def drained(self, timeout: float = 30) -> None:
        """After a saturation turn: wait for what is queued to reach the clients."""
        deadline = time.perf_counter() + timeout
        while self.backlog() and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)  # kernel buffers announce nothing: look again
        await asyncio.sleep(0.2)  # kept: a quiet gap between turns

    async def stop(self) -> None:
        raise NotImplementedError


class Ceiling(Server):
    """A bare websockets server: a hello frame on connect, then `broadcast()`."""

    name = "ceiling"

    async def start(self, sessions: list[str], clients: int = 0) -> None:
        from websockets.asyncio.server import serve

        self.updates = Updates(sessions)
        self.groups: dict[str, list[Any]] = {s: [] for s in sessions}
        self.written = 0

        async def handler(connection: Any) -> None:
            session_id = connection.request.path.rsplit("/", 1)[-1]
            group = self.groups[session_id]
            await connection.send(b'{"type":"snapshot"}', text=True)
            group.append(connection)
            try:
                async for _ in connection:
                    pass
            except Exception:
                pass
            finally:
                group.remove(connection)

        self._serve = serve(
            handler, "127.0.0.1", 0, compression=None, ping_interval=20, ping_timeout=20,
            max_size=4096,
        )  # fmt: skip
        server = await self._serve.__aenter__()
        port = server.sockets[0].getsockname()[1]
        self.base = f"ws://127.0.0.1:{port}"

    async def wait_live(self, clients: int) -> None:
        while sum(len(g) for g in self.groups.values()) < clients:
            await asyncio.sleep(0.05)  # set up once per run: a poll is cheap enough

    async def send(self, session_id: str) -> None:
        from websockets.asyncio.server import broadcast

        broadcast(self.groups[session_id], self.updates.next(session_id), text=True)

    async def paced(self, sessions: list[str], rate: float, seconds: float) -> int:
        return await paced(self.send, sessions, rate, seconds)

    async def saturate(self, sessions: list[str], stop: asyncio.Event) -> int:
        from websockets.asyncio.server import broadcast

        sent = 0
        index = 0
        while not stop.is_set():
            session_id = sessions[index % len(sessions)]
            index += 1
            targets = [
                c
                for c in self.groups[session_id]
                if c.transport.get_write_buffer_size() < WRITE_HIGH_WATER
            ]
            if targets:
                broadcast(targets, self.updates.next(session_id), text=True)
                self.written += len(targets)
                sent += 1
            await asyncio.sleep(0)
        return sent

    def frames_out(self) -> int:
        return self.written

    def connections(self) -> list[Any]:
        return [c for group in self.groups.values() for c in group]

    async def stop(self) -> None:
        await self._serve.__aexit__(None, None, None)


class StreamerServer(Server):
    """The streamer over NATS and SQLite; its updates come from a publisher process."""

    name = "streamer"

    def __init__(self, nats_url: str, data_dir: Path, nats_pid: int | None) -> None:
        self.nats_url = nats_url
        self.data_dir = data_dir
        self.nats_pid = nats_pid

    async def start(self, sessions: list[str], clients: int = 0) -> None:
        from agentgym import nats_client, subjects
        from agentgym.config import StreamerSettings
        from agentgym.store import open_store
        from streamer.app import Streamer

        settings = StreamerSettings(
            data_dir=self.data_dir,
            nats_url=self.nats_url,
            store_url=f"sqlite:///{self.data_dir / 'agentgym.db'}",
        )
        if "max_connections_per_tenant" in StreamerSettings.model_fields:
            # Every benchmark client is the one (default) tenant: let them all in.
            limit = max(settings.max_connections_per_tenant, clients)
            settings = settings.model_copy(update={"max_connections_per_tenant": limit})
        nats = await nats_client.connect(self.nats_url, "bench-setup")
        try:
            await subjects.ensure_streams(nats.jetstream())
        finally:
            await nats.close()
        store = await open_store(settings.store_url)
        try:
            for session_id in sessions:
                await store.put(record_key(session_id), record(session_id).dump())
        finally:
            await store.close()
        await self._start_probe(sessions[:PROBED_SESSIONS])
        self.publisher = Publisher(self.nats_url, sessions)
        await self.publisher.ready()
        self.streamer = Streamer(settings)
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self.streamer.serve("127.0.0.1", 0, self._stop))
        while self.streamer.server is None:
            if self._task.done():
                raise RuntimeError(f"the streamer did not start: {self._task.exception()}")
            await asyncio.sleep(0.01)  # Streamer.serve sets `server`, with no event
        port = self.streamer.server.sockets[0].getsockname()[1]
        self.base = f"ws://127.0.0.1:{port}"

    async def _start_probe(self, sessions: list[str]) -> None:
        """A bare subscriber in this process, on its own connection: the NATS hop alone."""
        from agentgym import nats_client, subjects

        self.hop: list[int] = []
        self.probing = False

        async def arrived(msg: Any) -> None:
            if self.probing:
                start = msg.data.find(b'"error":"') + 9
                self.hop.append(time.time_ns() - int(msg.data[start : msg.data.find(b'"', start)]))

        self.probe = await nats_client.connect(self.nats_url, "bench-probe")
        for session_id in sessions:
            await self.probe.subscribe(subjects.metrics_subject(session_id), cb=arrived)

    async def wait_live(self, clients: int) -> None:
        """Every client watched and live (snapshot and history sent)."""
        while True:
            watching = [c for w in self.streamer.hub.sessions.values() for c in w.clients]
            if len(watching) >= clients and all(c.live for c in watching):
                return
            await asyncio.sleep(0.05)  # the streamer has no event for this: look again

    async def paced(self, sessions: list[str], rate: float, seconds: float) -> int:
        (late,) = await self.publisher.call("paced", sessions, rate, seconds)
        return int(late)

    async def saturate(self, sessions: list[str], stop: asyncio.Event) -> int:
        """The publisher keeps SATURATION_IN_FLIGHT updates ahead of what the streamer took."""
        metrics, feed = self.streamer.metrics, self.publisher
        base = metrics.messages_in
        feed.taken.value, feed.stop.value = 0, 0
        reply = asyncio.create_task(feed.call("saturate", sessions, SATURATION_IN_FLIGHT))
        while not stop.is_set():
            feed.taken.value = metrics.messages_in - base
            await asyncio.sleep(0.001)  # kept: how often the publisher hears what was taken
        feed.stop.value = 1
        (sent,) = await reply
        return int(sent)

    def frames_out(self) -> int:
        return self.streamer.metrics.messages_out

    def helper_pids(self) -> dict[str, int | None]:
        return {"nats-server": self.nats_pid, "publisher": self.publisher.process.pid}

    def backlog(self) -> int:
        watching = [c for w in self.streamer.hub.sessions.values() for c in w.clients]
        return super().backlog() + sum(len(c.queue) for c in watching)

    def connections(self) -> list[Any]:
        return [c.connection for w in self.streamer.hub.sessions.values() for c in w.clients]

    async def counters(self) -> dict[str, int]:
        """The streamer's /metrics, over HTTP as Prometheus reads them: its counts, and the
        mean time to fan one update out to every watcher so far, in microseconds."""
        host, port = self.base.removeprefix("ws://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET /metrics HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        body = (await reader.read()).decode().split("\r\n\r\n", 1)[-1]
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
        values = {}
        for family in text_string_to_metric_families(body):
            name = family.name.removeprefix("agentgym_streamer_")
            if family.type in ("counter", "gauge") and not name.endswith("_created"):
                values[name] = int(family.samples[0].value)
            elif name == "fan_out_seconds":
                total = {s.name.removeprefix(family.name): s.value for s in family.samples}
                values["fan_out_mean_us"] = int(1e6 * total["_sum"] / max(total["_count"], 1))
        return values

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.wait_for(self._task, 30)
        await self.publisher.close()
        await self.probe.close()


# --- measurements ---------------------------------------------------------------------------------


@dataclass
class Row:
    scenario: str
    server: str
    p50_ms: float | None = None
    p99_ms: float | None = None
    samples: int = 0
    msgs_s: float | None = None
    other: float = 0.0  # cores used by other work on the machine meanwhile
    notes: list[str] = field(default_factory=list)


def percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat (Linux)."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields) - idle) / tick, sum(fields) / tick


def _process_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Meter:
    """CPU use over a window, in cores: this process (the server), the clients, the helper
    processes named in `pids` (nats-server, the publisher), and everything else on the machine
    (other work skews a 2-core benchmark: it is shown)."""

    def __init__(self, clients: Clients, pids: dict[str, int | None]) -> None:
        self.clients, self.pids = clients, pids

    async def snapshot(self) -> tuple[Any, ...]:
        mark = await self.clients.call("mark")
        own = os.times()
        helpers = {name: _process_cpu(pid) for name, pid in self.pids.items()}
        return (mark, own.user + own.system, helpers, *_machine_busy())

    @staticmethod
    def describe(spans: list[tuple[Any, Any]]) -> tuple[float, str, float]:
        """(seconds, text, cores used by other work) over (start, end) snapshot pairs."""
        wall = sum(end[0][2] - start[0][2] for start, end in spans)

        def cores(part: Callable[[Any], float]) -> float:
            return sum(part(end) - part(start) for start, end in spans) / wall

        server = cores(lambda snap: snap[1])
        clients = cores(lambda snap: snap[0][3])
        helpers = {name: cores(lambda snap, n=name: snap[2][n]) for name in spans[0][0][2]}
        busy, total = cores(lambda snap: snap[3]), cores(lambda snap: snap[4])
        machine = busy / total * (os.cpu_count() or 1) if total else 0.0
        other = max(0.0, machine - server - clients - sum(helpers.values()))
        text = (
            f"CPU (cores) server {server:.2f}, clients {clients:.2f}, "
            + "".join(f"{name} {used:.2f}, " for name, used in helpers.items())
            + f"other {other:.2f}"
        )
        return wall, text, other


async def measure(
    servers: list[Server],
    scenario: str,
    sessions: list[str],
    per_session: int,
    rate: float,
    args: argparse.Namespace,
    rows: list[Row],
) -> None:
    """Both servers up at once, one client process connected to both; phases take turns."""
    each = len(sessions) * per_session
    for server in servers:
        await server.start(sessions, each)
    urls = [
        f"{server.base}/ws/training/{s}"
        for server in servers
        for s in sessions
        for _ in range(per_session)
    ]
    clients = Clients(urls, args.sock_buffer)
    try:
        ready, failures, connect_s = await clients.ready()
        for server in servers:
            await asyncio.wait_for(server.wait_live(each), 120)
            if args.sock_buffer:
                for connection in server.connections():
                    sock = connection.transport.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, args.sock_buffer)
        await asyncio.sleep(0.5)  # kept: settle after connecting, before measuring
        note = f"{ready}/{len(urls)} clients (both servers') connected in {connect_s:.1f}s"
        if failures:
            note += f", failures {failures}"
        meters = {server.name: Meter(clients, server.helper_pids()) for server in servers}

        def turns(round_: int) -> list[Server]:  # who goes first alternates too
            return servers if round_ % 2 == 0 else servers[::-1]

        # Latency: `--rounds` turns each of `--seconds / --rounds`.
        seconds = args.seconds / args.rounds
        samples: dict[str, list[int]] = {server.name: [] for server in servers}
        spans: dict[str, list[tuple[Any, Any]]] = {server.name: [] for server in servers}
        late = dict.fromkeys(samples, 0)
        for round_ in range(args.rounds):
            for server in turns(round_):
                meter = meters[server.name]
                await server.paced(sessions, rate, LATENCY_WARMUP_S)  # not recorded
                await clients.call("record", True)
                start = await meter.snapshot()
                if isinstance(server, StreamerServer):
                    server.probing = True
                late[server.name] += await server.paced(sessions, rate, seconds)
                if isinstance(server, StreamerServer):
                    server.probing = False
                spans[server.name].append((start, await meter.snapshot()))
                await asyncio.sleep(LAST_FRAMES_S)
                await clients.call("record", False)
                samples[server.name].extend((await clients.call("latencies"))[1])
        expected = args.rounds * int(seconds * rate * len(sessions)) * per_session
        for server in servers:
            row = Row(f"{scenario} latency", server.name, notes=[note])
            got = samples[server.name]
            row.samples = len(got)
            if got:
                row.p50_ms = percentile(got, 0.50) / 1e6
                row.p99_ms = percentile(got, 0.99) / 1e6
            row.msgs_s = len(got) / (seconds * args.rounds)
            _, cpu, row.other = Meter.describe(spans[server.name])
            row.notes.append(cpu)
            if row.samples < expected:
                row.notes.append(f"{row.samples} of {expected} frames received")
            if late[server.name]:
                row.notes.append(f"{late[server.name]} publishes > 5 ms late")
            if isinstance(server, StreamerServer) and server.hop:
                row.notes.append(
                    f"the NATS hop alone (publisher to a bare subscriber in this process, "
                    f"{len(server.hop)} samples): p50 {percentile(server.hop, 0.5) / 1e6:.2f} ms, "
                    f"p99 {percentile(server.hop, 0.99) / 1e6:.2f} ms"
                )
            rows.append(row)
            if isinstance(server, StreamerServer):
                print(f"    {scenario} latency, streamer /metrics: {await server.counters()}")

        # Saturation: `--rounds` turns each of a warm-up and `--window / --rounds` measured.
        window = args.window / args.rounds
        frames = dict.fromkeys(samples, 0)
        written = dict.fromkeys(samples, 0)
        drained = dict.fromkeys(samples, 0.0)  # frames the write buffers lost over the windows
        frame_bytes = len(Updates(sessions[:1]).next(sessions[0])) + 4  # + the frame header
        sent = dict.fromkeys(samples, 0)
        spans = {server.name: [] for server in servers}
        profiler = cProfile.Profile() if args.profile else None
        for round_ in range(args.rounds):
            for server in turns(round_):
                meter = meters[server.name]
                stop = asyncio.Event()
                feeding = asyncio.create_task(server.saturate(sessions, stop))
                await asyncio.sleep(WARMUP_S)
                profiling = profiler is not None and isinstance(server, StreamerServer)
                start = await meter.snapshot()
                out0, buffered0 = server.frames_out(), server.buffered()
                if profiling:
                    profiler.enable()
                await asyncio.sleep(window)
                if profiling:
                    profiler.disable()
                out1, buffered1 = server.frames_out(), server.buffered()
                end = await meter.snapshot()
                stop.set()
                sent[server.name] += await feeding
                spans[server.name].append((start, end))
                frames[server.name] += end[0][1] - start[0][1]
                written[server.name] += out1 - out0
                # Frames the warm-up left in the buffers are delivered first (each connection
                # is FIFO): a server whose buffers emptied did not keep up, and is credited
                # only with what it replaced. Buffers that grew are not counted either way.
                drained[server.name] += max(0, buffered0 - buffered1) / frame_bytes
                await server.drained()
        for server in servers:
            row = Row(f"{scenario} saturation", server.name)
            elapsed, cpu, row.other = Meter.describe(spans[server.name])
            row.msgs_s = (frames[server.name] - drained[server.name]) / elapsed
            row.notes.append(
                f"{sent[server.name]} updates in {args.rounds} x {WARMUP_S + window:g}s; "
                f"received {frames[server.name] / elapsed:.0f} frames/s, of which "
                f"{drained[server.name] / elapsed:.0f}/s drained from the write buffers "
                f"(not counted); {written[server.name] / elapsed:.0f} frames/s written; {cpu}"
            )
            rows.append(row)
            if isinstance(server, StreamerServer):
                print(f"    {scenario} saturation, streamer /metrics: {await server.counters()}")
        closed = await clients.call("mark")
        if closed[4]:
            rows[-1].notes.append(f"{closed[4]} clients closed {closed[5]}")
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
            print("\n".join("      " + line for line in out.getvalue().splitlines()[:45]))
    finally:
        await clients.close()
        for server in servers:
            await server.stop()


def table(rows: list[Row]) -> None:
    ceiling = {r.scenario: r for r in rows if r.server == "ceiling"}
    print()
    header = f"{'scenario':<26} {'server':<9} {'p50 ms':>8} {'p99 ms':>8} {'msgs/s':>9}  " \
             f"{'vs ceiling':>10}  target"  # fmt: skip
    print(header)
    print("-" * len(header))
    for row in rows:
        p50 = f"{row.p50_ms:8.2f}" if row.p50_ms is not None else f"{'-':>8}"
        p99 = f"{row.p99_ms:8.2f}" if row.p99_ms is not None else f"{'-':>8}"
        rate = f"{row.msgs_s:9.0f}" if row.msgs_s is not None else f"{'-':>9}"
        ratio, verdict = "", ""
        base = ceiling.get(row.scenario)
        if row.server == "streamer" and base is not None:
            if row.scenario.endswith("latency") and row.p99_ms and base.p99_ms:
                value = row.p99_ms / base.p99_ms
                ratio = f"p99 {value:.2f}x"
                met = value <= LATENCY_TARGET
                verdict = f"{'met' if met else 'MISSED'} (<= {LATENCY_TARGET}x)"
            elif row.scenario.endswith("saturation") and row.msgs_s and base.msgs_s:
                value = row.msgs_s / base.msgs_s
                ratio = f"{value:.0%}"
                met = value >= THROUGHPUT_TARGET
                verdict = f"{'met' if met else 'MISSED'} (>= {THROUGHPUT_TARGET:.0%})"
        busy = "*" if row.other > BUSY_OTHER else " "
        print(
            f"{row.scenario:<26} {row.server:<8}{busy} {p50} {p99} {rate}  {ratio:>10}  {verdict}"
        )
    notes = [(r, n) for r in rows for n in r.notes]
    if any(r.other > BUSY_OTHER for r in rows):
        print(f"* other work on the machine used > {BUSY_OTHER} core meanwhile: skewed")
    if notes:
        print()
        for row, note in notes:
            print(f"  {row.scenario}, {row.server}: {note}")


async def run(args: argparse.Namespace) -> None:
    from agentgym.nats_server import NatsServer

    rows: list[Row] = []
    one = session_ids("ab", 1)
    many = session_ids("c", args.sessions)
    with (
        tempfile.TemporaryDirectory(prefix="agentgym-fanout-") as tmp,
        NatsServer(Path(tmp) / "nats") as nats,
    ):
        nats_pid = nats._process.pid if nats._process is not None else None
        scenarios: list[tuple[str, list[str], int, float]] = [
            ("A/B 1x" + str(args.clients), one, args.clients, args.rate),
            (f"C {args.sessions}x{args.per_session}", many, args.per_session,
             args.session_rate),
        ]  # fmt: skip
        if args.scenario != "all":
            scenarios = [scenarios[0 if args.scenario == "ab" else 1]]
        for index, (scenario, sessions, per_session, rate) in enumerate(scenarios):
            data = Path(tmp) / f"data{index}"
            data.mkdir()
            servers: list[Server] = [Ceiling(), StreamerServer(nats.url, data, nats_pid)]
            started = time.perf_counter()
            try:
                await measure(servers, scenario, sessions, per_session, rate, args, rows)
            except Exception as exc:  # report and go on: a benchmark never fails
                print(f"  {scenario}: failed: {type(exc).__name__}: {exc}")
            print(f"  {scenario}: done in {time.perf_counter() - started:.0f}s")
    table(rows)
    print(f"\n  load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000, help="clients on one session (A/B)")
    parser.add_argument("--rate", type=float, default=10.0, help="updates/s in A")
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="latency measured per server, in all turns"
    )
    parser.add_argument(
        "--window", type=float, default=18.0, help="saturation measured per server, in all turns"
    )
    parser.add_argument("--sessions", type=int, default=100, help="sessions in C")
    parser.add_argument("--per-session", type=int, default=10, help="clients per session in C")
    parser.add_argument(
        "--session-rate", type=float, default=10.0, help="updates/s per session in C"
    )
    parser.add_argument(
        "--rounds", type=int, default=6, help="turns each server takes per phase, alternating"
    )
    parser.add_argument("--scenario", choices=("all", "ab", "c"), default="all")
    parser.add_argument(
        "--sock-buffer",
        type=int,
        default=4096,
        help="SO_RCVBUF of each client socket and SO_SNDBUF of its server side, bytes; "
        "0 leaves the kernel's autotuning (megabytes per loopback connection)",
    )
    parser.add_argument("--quick", action="store_true", help="200 clients, 20x10, 3 s phases")
    parser.add_argument("--profile", action="store_true", help="cProfile the streamer's saturation")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.sessions, args.seconds, args.window = 200, 20, 3.0, 2.0
    limit = raise_fd_limit()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, fd limit {limit}; "
        f"A/B: {args.clients} clients on 1 session at {args.rate:g}/s; "
        f"C: {args.sessions}x{args.per_session} at {args.session_rate:g}/s per session; "
        f"latency {args.seconds:g}s, saturation {WARMUP_S:g}s + {args.window:g}s"
    )
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
