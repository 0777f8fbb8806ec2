"""What the client raises: every one a `ClientError`.

An answer that is not a success is an `ApiError` carrying the API's error body (`{"detail",
"code", "errors"}`), as the subclass for its status where there is one; the same classes say
why the streamer refused a WebSocket (its close codes are 4000 plus the HTTP status). Not
reaching the service at all is an `ApiConnectionError`, which names the URL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from agentgym.contracts import TrainingStatus
from agentgym.state import SessionStatus

# A body that is not ours (a proxy's HTML page) is shown this far in `detail`.
MAX_FOREIGN_DETAIL = 200


class ClientError(Exception):
    """Anything the AgentGym client raises on purpose."""


class ApiConnectionError(ClientError, ConnectionError):
    """The service at `url` could not be reached, or did not answer in time (`reason`)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"could not reach the AgentGym service at {url}: {reason}")
        self.url = url
        self.reason = reason


class ApiError(ClientError):
    """A non-2xx answer: the HTTP `status`, the API's `code` and `detail` (a sentence saying
    what to change), the per-field `errors`, and the response `headers`."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors or []
        self.headers: Mapping[str, str] = httpx.Headers(headers or {})


class BadRequest(ApiError):
    """400: the body could not be read at all (not JSON, not a bundle)."""


class Unauthorized(ApiError):
    """401 (or WebSocket close 4401): missing or invalid credentials."""


class Forbidden(ApiError):
    """403: an origin or Host the service does not allow."""


class NotFound(ApiError):
    """404: no such thing, or another tenant's."""


class Conflict(ApiError):
    """409: not allowed in the current status, the id is taken, or over a quota."""


class PreconditionFailed(ApiError):
    """412: `If-Match` named settings that changed since they were read."""


class Invalid(ApiError):
    """422: a field is missing, of the wrong type or out of range (`errors` says which)."""


class RetryLater(ApiError):
    """An answer that may change if asked again later: `retry_after` is the seconds the
    server asked to wait (None when it did not say)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, code, detail, errors, headers)
        self.retry_after = retry_after(self.headers.get("retry-after"))


class RateLimited(RetryLater):
    """429 (or close 4429): the tenant's limit of active sessions or connections is reached."""


class Unavailable(RetryLater):
    """503: the store, NATS or the trainers are unreachable. The client has already retried
    it (`retries`) by the time it raises this."""


class SessionEndedError(ClientError):
    """`training.wait()`: the session ended in a status other than the ones waited for."""

    def __init__(self, status: TrainingStatus, wanted: Iterable[SessionStatus]) -> None:
        names = " or ".join(sorted(wanted))
        why = f" ({status.error})" if status.error else ""
        super().__init__(
            f"session {status.session_id} ended {status.status}{why} while waiting for {names}"
        )
        self.status = status


_CLASSES: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    422: Invalid,
    429: RateLimited,
    503: Unavailable,
}
# The codes the API gives these statuses, for refusals that carry no error body (a
# WebSocket's close, a handshake refused in plain text).
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    429: "too_many_requests",
    503: "unavailable",
}


def api_error(
    status: int,
    code: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> ApiError:
    """The ApiError (subclass) for `status`."""
    return _CLASSES.get(status, ApiError)(status, code, detail, errors, headers)


def from_response(status: int, body: bytes, headers: Mapping[str, str]) -> ApiError:
    """The error an answer of `status` stands for. A body in the API's shape is used as it is;
    any other (a load balancer's page) becomes the `detail`, cut short."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("detail"), str):
        errors = parsed.get("errors")
        return api_error(
            status,
            str(parsed.get("code") or _CODES.get(status, "error")),
            parsed["detail"],
            errors if isinstance(errors, list) else None,
            headers,
        )
    text = body.decode(errors="replace").strip()[:MAX_FOREIGN_DETAIL]
    detail = text or httpx.codes.get_reason_phrase(status) or f"HTTP {status}"
    return api_error(status, _CODES.get(status, "error"), detail, None, headers)


def from_close(code: int, reason: str) -> ApiError | None:
    """The refusal a WebSocket close code stands for (the streamer's 4400-4599 are 4000 plus
    an HTTP status), or None for a close that is not one (a dropped or restarting server)."""
    if not 4400 <= code < 4600:
        return None
    status = code - 4000
    return api_error(status, _CODES.get(status, f"closed_{code}"), reason or f"closed {code}")


def retry_after(value: str | None) -> float | None:
    """Seconds to wait, from a Retry-After header (seconds, or an HTTP date)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
