"""`memory://`: a process-local store for tests and benchmarks. Nothing survives the process."""

from __future__ import annotations

from agentgym.errors import ConflictError, KeyExistsError, KeyNotFoundError
from agentgym.store.base import Entry, check_key, check_prefix, check_value


class MemoryStore:
    """Each method runs without awaiting, so on one event loop every call is atomic."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[bytes, int]] = {}
        self._revision = 0  # one counter for all keys: a re-created key never reuses a revision

    def _write(self, key: str, value: bytes) -> int:
        self._revision += 1
        self._data[key] = (value, self._revision)
        return self._revision

    def _current(self, key: str) -> int | None:
        found = self._data.get(key)
        return found[1] if found else None

    async def get(self, key: str) -> Entry:
        found = self._data.get(check_key(key))
        if found is None:
            raise KeyNotFoundError(key)
        return Entry(key, found[0], found[1])

    async def create(self, key: str, value: bytes) -> int:
        value = check_value(check_key(key), value)
        if key in self._data:
            raise KeyExistsError(key, self._current(key))
        return self._write(key, value)

    async def put(self, key: str, value: bytes) -> int:
        return self._write(check_key(key), check_value(key, value))

    async def update(self, key: str, value: bytes, revision: int) -> int:
        value = check_value(check_key(key), value)
        current = self._current(key)
        if current != revision:
            raise ConflictError(key, revision, current)
        return self._write(key, value)

    async def delete(self, key: str, revision: int | None = None) -> None:
        current = self._current(check_key(key))
        if current is None:
            raise KeyNotFoundError(key)
        if revision is not None and revision != current:
            raise ConflictError(key, revision, current)
        del self._data[key]

    async def list(self, prefix: str = "") -> list[Entry]:
        check_prefix(prefix)
        return [
            Entry(key, value, revision)
            for key, (value, revision) in sorted(self._data.items())
            if key.startswith(prefix)
        ]

    async def close(self) -> None:
        # Nothing to release; the data stays for any other holder of this instance.
        return None
