"""`file://dir`: each blob is a file under one directory, its name the path below it.

`put` writes a temp file beside the target and renames it over the target (`os.replace`),
so a reader sees the old file or the whole new one, never a part; of concurrent puts to one
name, the last rename wins whole. Temp files carry a `~`, which no valid name holds, so
`list` never returns one. Blocking file I/O runs in a worker thread (`asyncio.to_thread`).

A name can't be both a blob and a directory here (`a` and `a/b`), nor hold a segment longer
than the file system allows: such a `put` raises InvalidArtifactNameError. Other OS errors
(permissions, a full disk) raise ArtifactUnavailableError.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

from agentgym.artifacts.base import check_name, check_prefix
from agentgym.errors import (
    ArtifactNotFoundError,
    ArtifactUnavailableError,
    InvalidArtifactNameError,
    InvalidURLError,
)

T = TypeVar("T")
P = ParamSpec("P")

_TEMP_SUFFIX = ".~tmp"
# A put re-creates its directory if a concurrent delete removed it (now empty) meanwhile.
_PUT_ATTEMPTS = 5


def _root_from_url(url: str) -> Path:
    """`file:///abs/dir` is absolute, `file://rel/dir` relative to the current directory."""
    if not url.startswith("file://"):
        raise InvalidURLError(url, "a file URL starts with file://")
    rest = url.removeprefix("file://")
    if not rest:
        raise InvalidURLError(url, "write file:///absolute/dir or file://relative/dir")
    # Resolved now, so a later chdir does not move the store.
    return Path(rest).absolute()


def _is_name(name: str) -> bool:
    try:
        check_name(name)
    except InvalidArtifactNameError:
        return False
    return True


def _raise_unless_missing(exc: OSError) -> None:
    """os.walk's error hook: a missing directory lists nothing; any other error is raised."""
    if not isinstance(exc, FileNotFoundError | NotADirectoryError):
        raise exc


class FileArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def from_url(cls, url: str) -> FileArtifactStore:
        return cls(_root_from_url(url))

    def _path(self, name: str) -> Path:
        return self.root.joinpath(*check_name(name).split("/"))

    # --- blocking parts, each run in a worker thread ------------------------------------------

    def _put(self, name: str, path: Path, data: bytes) -> None:
        # Not mkstemp: its files are 0600; a blob gets the umask's mode, as open() would.
        temp = path.parent / f".{secrets.token_hex(8)}{_TEMP_SUFFIX}"
        for attempt in range(_PUT_ATTEMPTS):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError) as exc:
                raise InvalidArtifactNameError(
                    name, "a parent of this name is already a blob on this file store"
                ) from exc
            try:
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                break
            except FileNotFoundError:
                if attempt == _PUT_ATTEMPTS - 1:
                    raise
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            try:
                os.replace(temp, path)
            except IsADirectoryError as exc:
                raise InvalidArtifactNameError(
                    name, "this name is already a directory of blobs on this file store"
                ) from exc
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    @staticmethod
    def _get(name: str, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise ArtifactNotFoundError(name) from exc

    @staticmethod
    def _size(name: str, path: Path) -> int:
        try:
            info = path.stat()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ArtifactNotFoundError(name) from exc
        if not stat.S_ISREG(info.st_mode):
            raise ArtifactNotFoundError(name)
        return info.st_size

    def _delete(self, name: str, path: Path) -> None:
        try:
            if path.is_dir():
                raise ArtifactNotFoundError(name)
            path.unlink()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ArtifactNotFoundError(name) from exc
        # Remove the directories this leaves empty, up to (not including) the root.
        parent = path.parent
        while parent != self.root:
            try:
                parent.rmdir()
            except OSError:  # not empty (or already gone): stop climbing
                break
            parent = parent.parent

    def _list(self, prefix: str) -> list[str]:
        # Walk only below the deepest directory the prefix fixes: `models/v1/ck` -> models/v1.
        start = self.root.joinpath(*prefix.split("/")[:-1])
        names: list[str] = []
        for dirpath, _dirs, files in os.walk(start, onerror=_raise_unless_missing):
            relative = Path(dirpath).relative_to(self.root).as_posix()
            for file in files:
                name = file if relative == "." else f"{relative}/{file}"
                if name.startswith(prefix) and _is_name(name):
                    names.append(name)
        return sorted(names)

    # --- the ArtifactStore interface ----------------------------------------------------------

    async def _run(self, name: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                if fn == self._put:
                    raise InvalidArtifactNameError(
                        name, "a segment is too long for this file system"
                    ) from exc
                raise ArtifactNotFoundError(name) from exc
            raise ArtifactUnavailableError("file", str(exc)) from exc

    async def put(self, name: str, data: bytes) -> None:
        await self._run(name, self._put, name, self._path(name), bytes(data))

    async def get(self, name: str) -> bytes:
        return await self._run(name, self._get, name, self._path(name))

    async def size(self, name: str) -> int:
        return await self._run(name, self._size, name, self._path(name))

    async def delete(self, name: str) -> None:
        await self._run(name, self._delete, name, self._path(name))

    async def list(self, prefix: str = "") -> list[str]:
        return await self._run(prefix, self._list, check_prefix(prefix))

    async def close(self) -> None:
        """Nothing to release: every call opens and closes its own files."""
