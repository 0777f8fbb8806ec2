"""Keep credentials out of the server log: query parameters that carry keys are redacted.

A browser cannot set headers on a WebSocket, so it may pass its key as `?token=` (see
`agentgym.auth`), and uvicorn logs every request's path *with* its query: HTTP requests on
`uvicorn.access`, WebSocket handshakes on `uvicorn.error`. `RedactCredentials` rewrites the
values of `token`, `api_key`, `key` and `access_token` (names compared case-blind and
percent-decoded, as a query parser would read them) to `[redacted]` in those records' message
and arguments, before any handler formats them; the request line stays readable.

`agentgym api` installs it through uvicorn's `log_config` (`uvicorn_log_config()`): uvicorn
applies its logging configuration with `logging.config.dictConfig` when it starts, so a filter
added beforehand by hand is not guaranteed to survive. With plain uvicorn, write that
configuration to a file and pass it:

    python -c 'import json, agentgym.redact as r; print(json.dumps(r.uvicorn_log_config()))' \\
        > log.json
    uvicorn functions.app:app --log-config log.json ...
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any
from urllib.parse import unquote_plus

SECRET_PARAMETERS = frozenset({"token", "api_key", "key", "access_token"})
REDACTED = "[redacted]"
LOGGERS = ("uvicorn.access", "uvicorn.error")

# `?name=value` or `&name=value`; a value ends where a URL or a quoted log field does.
_PARAMETER = re.compile(r"(?P<lead>[?&](?P<name>[^=&#\s\"'?]+)=)(?P<value>[^&#\s\"']*)")


def redact(text: str) -> str:
    """`text` with the values of credential-carrying query parameters replaced."""
    if "=" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        name = unquote_plus(match["name"]).lower()
        return match["lead"] + REDACTED if name in SECRET_PARAMETERS else match[0]

    return _PARAMETER.sub(replace, text)


def _redacted(value: object) -> object:
    return redact(value) if isinstance(value, str) else value


class RedactCredentials(logging.Filter):
    """Rewrites a record's message and string arguments in place; never drops a record.

    On a logger, it runs once per record, before the record reaches any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {name: _redacted(arg) for name, arg in record.args.items()}
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration, with `RedactCredentials` on its loggers."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_credentials"] = {
        "()": "agentgym.redact.RedactCredentials"
    }
    for name in LOGGERS:
        config["loggers"].setdefault(name, {}).setdefault("filters", []).append(
            "redact_credentials"
        )
    return config
