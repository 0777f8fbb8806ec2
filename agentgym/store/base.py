"""The key-value store interface every backend conforms to, and the rules they share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from agentgym.errors import InvalidKeyError, ValueTooLargeError

# Keys are `/`-separated segments of letters, digits, `_`, `-` and `=`. That is what every
# backend holds alike: NATS KV keys may not contain spaces or wildcards, and the NATS backend
# maps `/` to the subject separator `.` so that a prefix listing is a subject filter. Hence no
# `.` inside a key.
_SEGMENT = r"[A-Za-z0-9_=-]+"
_KEY = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
MAX_KEY_LENGTH = 255
# DynamoDB items are at most 400 KB and a NATS message 1 MB by default; stay well under both.
MAX_VALUE_BYTES = 256 * 1024


def check_key(key: str) -> str:
    """Return `key` if every backend can hold it, else raise InvalidKeyError saying why."""
    if not isinstance(key, str) or not key:
        raise InvalidKeyError(str(key), "a key must be a non-empty string")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKeyError(key, f"a key is at most {MAX_KEY_LENGTH} characters")
    if not _KEY.fullmatch(key):
        raise InvalidKeyError(
            key,
            "a key is segments of letters, digits, '_', '-' or '=' joined by '/' "
            "(no empty segment, no leading or trailing '/')",
        )
    return key


def check_prefix(prefix: str) -> str:
    """A listing prefix: empty, or a key with an optional trailing '/'."""
    if prefix:
        check_key(prefix.removesuffix("/"))
    return prefix


def check_value(key: str, value: bytes) -> bytes:
    if not isinstance(value, bytes | bytearray):
        raise TypeError(f"value for {key!r} must be bytes, not {type(value).__name__}")
    if len(value) > MAX_VALUE_BYTES:
        raise ValueTooLargeError(key, len(value), MAX_VALUE_BYTES)
    return bytes(value)


@dataclass(frozen=True, slots=True)
class Entry:
    """A key's value at one revision."""

    key: str
    value: bytes
    revision: int


class KeyValueStore(Protocol):
    """A durable map of keys to bytes with compare-and-set on revisions.

    A conforming backend guarantees:
    - every write returns the key's new revision, a positive integer that is larger than any
      revision the key had before, even across a delete and a re-create (so a stale revision
      can never match again);
    - `create` and `update` are atomic compare-and-sets: of any number of concurrent writers
      naming the same expected state, exactly one wins and the others get ConflictError
      (KeyExistsError for `create`) carrying the revision they lost to;
    - reads are strongly consistent: a `get` after a write returns that write or a later one;
    - keys and values are checked alike on every backend (`check_key`, `check_value`), so
      code that works on `memory://` works on all of them;
    - a backend that cannot be reached raises StoreUnavailableError, never a backend type.
    """

    async def get(self, key: str) -> Entry:
        """The current entry; KeyNotFoundError when the key has no value."""
        ...

    async def create(self, key: str, value: bytes) -> int:
        """Write only if the key has no value; KeyExistsError otherwise."""
        ...

    async def put(self, key: str, value: bytes) -> int:
        """Write unconditionally."""
        ...

    async def update(self, key: str, value: bytes, revision: int) -> int:
        """Write only if the key is at `revision`; ConflictError otherwise."""
        ...

    async def delete(self, key: str, revision: int | None = None) -> None:
        """Remove the key (only if at `revision`, when given).

        KeyNotFoundError when the key has no value; ConflictError on a revision mismatch.
        """
        ...

    async def list(self, prefix: str = "") -> list[Entry]:
        """Every entry whose key starts with `prefix`, in key order."""
        ...

    async def close(self) -> None:
        """Release connections; the store is not used after this."""
        ...
