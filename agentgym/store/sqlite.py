"""`sqlite:///path`: the durable local default. Several processes may share one file.

Writes run on the store's own thread, so the event loop never waits for the file lock another
process holds; each takes the write lock first (`BEGIN IMMEDIATE`), which makes every
compare-and-set atomic across processes. Reads run on the event loop itself, on a second
connection: in WAL mode a reader never waits for a writer, and a point read by primary key
takes microseconds, less than a hop to a thread would.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from agentgym.errors import (
    ConflictError,
    InvalidURLError,
    KeyExistsError,
    KeyNotFoundError,
    StoreUnavailableError,
)
from agentgym.retries import while_locked
from agentgym.store.base import Entry, check_key, check_prefix, check_value

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL, revision INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL);
INSERT OR IGNORE INTO counter (id, revision) VALUES (1, 0);
"""
BUSY_TIMEOUT_MS = 10_000
READ_TIMEOUT_S = 0.5  # a reader only waits while WAL recovers after a crash


def _set_up(conn: sqlite3.Connection) -> None:
    """WAL, and the schema: each step idempotent."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(_SCHEMA)


def _path_from_url(url: str) -> str:
    """`sqlite:///rel.db` is relative, `sqlite:////abs.db` absolute."""
    if not url.startswith("sqlite://"):
        raise InvalidURLError(url, "a SQLite URL starts with sqlite://")
    rest = url.removeprefix("sqlite://")
    if rest in ("", "/", "/:memory:"):
        raise InvalidURLError(url, "name a file; for a store that keeps nothing use memory://")
    if not rest.startswith("/"):
        raise InvalidURLError(url, "write sqlite:///relative/path.db or sqlite:////abs/path.db")
    return rest[1:]


class SqliteStore:
    def __init__(self, path: str) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")
        self._conn: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None

    @classmethod
    def from_url(cls, url: str) -> SqliteStore:
        return cls(_path_from_url(url))

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN ourselves, so each transaction is explicit.
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            # Turning a new file to WAL fails at once while another process sets it up.
            while_locked(lambda: _set_up(conn))
            self._conn = conn
        return self._conn

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            if self._reader is None:
                await self._run(lambda _: None)  # the writer creates the file and schema first
                self._reader = sqlite3.connect(
                    self.path, timeout=READ_TIMEOUT_S, isolation_level=None, check_same_thread=False
                )
            return fn(self._reader)
        except sqlite3.OperationalError as exc:
            raise StoreUnavailableError("sqlite", str(exc)) from exc

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            return fn(self._connection())

        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, call)
        except sqlite3.OperationalError as exc:  # locked past the timeout, unreadable file...
            raise StoreUnavailableError("sqlite", str(exc)) from exc

    @staticmethod
    def _revision_of(conn: sqlite3.Connection, key: str) -> int | None:
        row = conn.execute("SELECT revision FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else int(row[0])

    @staticmethod
    def _write(conn: sqlite3.Connection, key: str, value: bytes) -> int:
        (revision,) = conn.execute(
            "UPDATE counter SET revision = revision + 1 WHERE id = 1 RETURNING revision"
        ).fetchone()
        conn.execute(
            "INSERT INTO kv (key, value, revision) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, revision = excluded.revision",
            (key, value, revision),
        )
        return int(revision)

    async def _transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def tx(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self._run(tx)

    async def get(self, key: str) -> Entry:
        check_key(key)
        row = await self._read(
            lambda c: c.execute("SELECT value, revision FROM kv WHERE key = ?", (key,)).fetchone()
        )
        if row is None:
            raise KeyNotFoundError(key)
        return Entry(key, bytes(row[0]), int(row[1]))

    async def create(self, key: str, value: bytes) -> int:
        value = check_value(check_key(key), value)

        def create(conn: sqlite3.Connection) -> int:
            current = self._revision_of(conn, key)
            if current is not None:
                raise KeyExistsError(key, current)
            return self._write(conn, key, value)

        return await self._transaction(create)

    async def put(self, key: str, value: bytes) -> int:
        value = check_value(check_key(key), value)
        return await self._transaction(lambda conn: self._write(conn, key, value))

    async def update(self, key: str, value: bytes, revision: int) -> int:
        value = check_value(check_key(key), value)

        def update(conn: sqlite3.Connection) -> int:
            current = self._revision_of(conn, key)
            if current != revision:
                raise ConflictError(key, revision, current)
            return self._write(conn, key, value)

        return await self._transaction(update)

    async def delete(self, key: str, revision: int | None = None) -> None:
        check_key(key)

        def delete(conn: sqlite3.Connection) -> None:
            current = self._revision_of(conn, key)
            if current is None:
                raise KeyNotFoundError(key)
            if revision is not None and revision != current:
                raise ConflictError(key, revision, current)
            conn.execute("DELETE FROM kv WHERE key = ?", (key,))

        await self._transaction(delete)

    async def list(self, prefix: str = "") -> list[Entry]:
        check_prefix(prefix)
        # Keys hold no LIKE wildcards ('%', '_' is escaped), so a range scan on the primary key
        # serves the prefix: key >= prefix AND key < prefix + U+10FFFF.
        rows = await self._read(
            lambda c: c.execute(
                "SELECT key, value, revision FROM kv WHERE key >= ? AND key < ? ORDER BY key",
                (prefix, prefix + "\U0010ffff"),
            ).fetchall()
        )
        return [Entry(k, bytes(v), int(r)) for k, v, r in rows]

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

        def close() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._executor, close)
        self._executor.shutdown(wait=True)
