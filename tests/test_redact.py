"""`agentgym.redact`: which query values count as credentials (the process test is in
tests/functions/test_http_limits.py)."""

from __future__ import annotations

import logging

import pytest

from agentgym.redact import RedactCredentials, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/ws/training?token=agk_s", "/ws/training?token=[redacted]"),
        ("/a?x=1&api_key=s&y=2", "/a?x=1&api_key=[redacted]&y=2"),
        ("/a?Access_Token=s", "/a?Access_Token=[redacted]"),
        ("/a?%74oken=s", "/a?%74oken=[redacted]"),  # a query parser decodes the name
        ("/a?key=s#frag", "/a?key=[redacted]#frag"),
        ('"GET /a?token=s HTTP/1.1" 200', '"GET /a?token=[redacted] HTTP/1.1" 200'),
        ("/a?monkey=1&tokens=2", "/a?monkey=1&tokens=2"),
        ("no query here", "no query here"),
    ],
)
def test_only_credential_values_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_the_filter_rewrites_arguments_and_keeps_their_types() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s" %d',
        ("127.0.0.1:1", "GET", "/a?token=s", 200), None,
    )  # fmt: skip
    assert RedactCredentials().filter(record)
    assert record.getMessage() == '127.0.0.1:1 - "GET /a?token=[redacted]" 200'
