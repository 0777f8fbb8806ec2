"""Reading a ZIP member without trusting what the archive says about it.

A ZIP's central directory claims each member's size, and `zipfile` reads a whole member in
one step: a small deflated member may inflate to a gigabyte before zipfile cuts it to the
claimed size. Here a member is inflated in bounded chunks and counted, and reading stops as
soon as it passes its claimed size or the caller's limit.
"""

from __future__ import annotations

import zipfile
import zlib

from agentgym.errors import BundleError

CHUNK = 64 * 1024  # at most this much is inflated at a time


def read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, where: str, keep: bool = True
) -> bytes:
    """A member's bytes (or b"" with `keep=False`, having read and checked them all), or
    BundleError when it is larger than it claims or than `limit`, or damaged."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise BundleError(f"{where} is compressed with method {info.compress_type}; use deflate")
    if info.flag_bits & 0x1:
        raise BundleError(f"{where} is encrypted")
    if info.file_size > limit:
        raise BundleError(f"{where} unpacks to {info.file_size} bytes; the limit is {limit}")
    parts: list[bytes] = []
    seen = 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(CHUNK):
                seen += len(chunk)
                if seen > info.file_size or seen > limit:
                    raise BundleError(f"{where} unpacks to more than it claims")
                if keep:
                    parts.append(chunk)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        # A CRC mismatch (what a member that lies about its size ends in), truncation, or
        # an unsupported compression method.
        raise BundleError(f"{where} is damaged: {exc}") from None
    if seen != info.file_size:
        raise BundleError(f"{where} holds {seen} bytes; the archive claims {info.file_size}")
    return b"".join(parts)
