"""The `artifacts` fixture: every artifact backend, each over a real directory or server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentgym.artifacts import ArtifactStore, open_artifacts

BACKENDS = ["file", "s3"]


def _url(backend: str, request: pytest.FixtureRequest, tmp_path: Path, unique: str) -> str:
    if backend == "file":
        return f"file://{tmp_path / 'artifacts'}"
    if backend == "s3":
        endpoint = request.getfixturevalue("aws_endpoint")
        return f"s3://{unique.lower()}/runs?region=us-east-1&endpoint_url={endpoint}"
    raise AssertionError(backend)


@pytest.fixture(params=BACKENDS)
async def artifacts(
    request: pytest.FixtureRequest, tmp_path: Path, unique: str
) -> AsyncIterator[ArtifactStore]:
    opened = open_artifacts(_url(request.param, request, tmp_path, unique))
    try:
        yield opened
    finally:
        await opened.close()
