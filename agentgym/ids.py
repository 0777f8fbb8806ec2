"""The shape of a session id that arrives from outside, checked before it names anything; and
what every model id starts with.

A session id becomes a store key segment, a NATS subject token (`agentgym.metrics.<id>`) and
part of messages and WebSocket close reasons (at most 123 bytes). The API makes ids of the
form `session_<24 hex>`; holding every id a client sends to one short, plain shape up front
means none of those uses has to cope with a `.`, a wildcard or 10,000 characters.
"""

from __future__ import annotations

import re

SESSION_ID_MAX = 64
SESSION_ID_RULE = f"a session id is 1-{SESSION_ID_MAX} letters, digits, '_' or '-'"
_SESSION_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{SESSION_ID_MAX}}}")


def is_session_id(text: str) -> bool:
    """Whether `text` has the shape of a session id (whether one exists is the store's say)."""
    return _SESSION_ID.fullmatch(text) is not None


# Every model id starts so: a trained one is `model_<its session's>` (trainer/session.py), an
# imported one `model_<16 hex of its weights and scenario version>` (functions/models.py). An
# alias may not (agentgym/aliases.py), so that the two can never be mistaken for each other.
MODEL_ID_PREFIX = "model_"
