"""The artifact store interface: named blobs (model bundles, checkpoints)."""

from __future__ import annotations

import re
from typing import Protocol

from agentgym.errors import InvalidArtifactNameError

# Names are `/`-separated segments; unlike store keys they may hold dots (`bundle.agm`), but
# never a segment of only dots, so a name can't climb out of a file store's directory.
_SEGMENT = r"[A-Za-z0-9_=.-]+"
_NAME = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
MAX_NAME_LENGTH = 512


def check_name(name: str) -> str:
    """Return `name` if every backend can hold it, else raise InvalidArtifactNameError."""
    if not isinstance(name, str) or not name:
        raise InvalidArtifactNameError(str(name), "a name must be a non-empty string")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArtifactNameError(name, f"a name is at most {MAX_NAME_LENGTH} characters")
    if not _NAME.fullmatch(name) or any(set(part) == {"."} for part in name.split("/")):
        raise InvalidArtifactNameError(
            name,
            "a name is segments of letters, digits, '_', '-', '=' or '.' joined by '/' "
            "(no empty, '.' or '..' segment)",
        )
    return name


def check_prefix(prefix: str) -> str:
    if prefix:
        check_name(prefix.removesuffix("/"))
    return prefix


class ArtifactStore(Protocol):
    """Named byte blobs.

    A conforming backend guarantees:
    - `put` is atomic: a reader sees the old blob or the whole new one, never a part;
    - `get`, `size` and `delete` of an absent name raise ArtifactNotFoundError;
    - names are checked alike on every backend (`check_name`);
    - a backend that cannot be reached raises ArtifactUnavailableError.
    """

    async def put(self, name: str, data: bytes) -> None: ...

    async def get(self, name: str) -> bytes: ...

    async def delete(self, name: str) -> None: ...

    async def list(self, prefix: str = "") -> list[str]:
        """Every name that starts with `prefix`, sorted."""
        ...

    async def size(self, name: str) -> int:
        """The blob's length in bytes."""
        ...

    async def close(self) -> None: ...
