"""ETags of the records that count their own writes (settings, aliases), and `If-Match`.

The tag is the record's `version`, not the store's revision: a revision may be global to the
store, and would tell a tenant how often others write."""

from __future__ import annotations

from functions.errors import HttpError


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None, read_from: str) -> int | None:
    """The version an `If-Match` header names (None: no header); 412 for one that is no ETag
    of ours, saying where to read one (`read_from`, e.g. `GET /api/settings`)."""
    if if_match is None:
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise HttpError(412, f"If-Match must be an ETag from {read_from}, like {etag(3)}")
    return int(tag)
