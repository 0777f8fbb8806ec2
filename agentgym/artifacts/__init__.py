"""Artifact stores (named blobs: model bundles, checkpoints), chosen by URL.

| URL | backend |
|---|---|
| `file:///absolute/dir`, `file://relative/dir` | files under a directory (local default) |
| `s3://bucket[/prefix][?region=eu-west-1&endpoint_url=http://...]` | S3 (bucket made if missing) |
"""

from __future__ import annotations

from urllib.parse import urlsplit

from agentgym.artifacts.base import MAX_NAME_LENGTH, ArtifactStore, check_name
from agentgym.errors import InvalidURLError

__all__ = ["MAX_NAME_LENGTH", "ArtifactStore", "check_name", "open_artifacts"]

SCHEMES = ("file", "s3")


def open_artifacts(url: str) -> ArtifactStore:
    """Open the artifact store a URL names. Backends are imported only when used."""
    scheme = urlsplit(url).scheme
    if scheme == "file":
        from agentgym.artifacts.file import FileArtifactStore

        return FileArtifactStore.from_url(url)
    if scheme == "s3":
        from agentgym.artifacts.s3 import S3ArtifactStore

        return S3ArtifactStore.from_url(url)
    raise InvalidURLError(url, f"unknown artifact scheme; use one of {', '.join(SCHEMES)}")
