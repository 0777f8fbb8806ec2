"""The blocking client is derived from the async one, never edited by hand."""

from __future__ import annotations

from agentgym.client import _generate


def test_the_blocking_client_is_what_the_async_one_makes() -> None:
    assert _generate.TARGET.read_text() == _generate.generate(), "run `make client`"
