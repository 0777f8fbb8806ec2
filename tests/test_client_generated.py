"""The blocking client is derived from the async one, never edited by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentgym.client import _generate


@pytest.mark.parametrize("source", list(_generate.PAIRS), ids=lambda path: path.name)
def test_the_blocking_client_is_what_the_async_one_makes(source: Path) -> None:
    assert _generate.PAIRS[source].read_text() == _generate.generate(source), "run `make client`"
