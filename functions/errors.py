"""Every error the API answers, in one JSON shape: `{"detail", "code", "errors"}`.

`detail` is a sentence that says what to fix (the seed UI shows `error.detail`). Core errors
become HTTP statuses here, at the edge, and nowhere else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentgym.contracts import ErrorBody, FeedClose
from agentgym.errors import (
    AliasMovedError,
    AliasNotFoundError,
    AliasTargetMissingError,
    ArtifactNotFoundError,
    ArtifactUnavailableError,
    BundleError,
    BusUnavailableError,
    CorruptRecordError,
    InvalidAliasNameError,
    InvalidArtifactNameError,
    InvalidKeyError,
    KeyNotFoundError,
    ModelAliasedError,
    ModelNotFoundError,
    NoEarlierModelError,
    StoreUnavailableError,
    TooManyWritersError,
    ValueTooLargeError,
)
from agentgym.state import IllegalTransitionError

logger = logging.getLogger(__name__)

RETRY_AFTER_S = "1"
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    428: "precondition_required",
    429: "too_many_requests",
    503: "unavailable",
}


# What the OpenAPI schema says an /api route may answer besides success: every error is an
# ErrorBody (422 included, which FastAPI would otherwise document in its own shape). A reference,
# not `"model": ErrorBody`: FastAPI would build a validator per status per route (80 for the
# training function, ~30 ms of a Lambda cold start) that no response ever goes through.
DOCUMENTED: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for status, description in {
        400: "Malformed request (invalid JSON, a bundle that is not one)",
        401: "Missing or invalid credentials",
        403: "A web page from an origin not allowed (AGENTGYM_CORS_ORIGINS), or a Host not allowed",
        404: "Not found (or another tenant's)",
        409: "Not allowed in the current status, over a tenant's quota, a damaged record, or "
        "what an alias forbids (naming a missing model, deleting the model it names)",
        412: "If-Match names a stale revision",
        413: "Body too large",
        415: "Wrong Content-Type",
        422: "A field is missing, of the wrong type, or out of range",
        429: "Too many active sessions for the tenant",
        503: "The store, NATS or the trainers are unreachable: retry after Retry-After",
    }.items()
}


def _document_schemas(app: FastAPI) -> None:
    """Put the schemas no route's signature names into the app's OpenAPI components: ErrorBody
    (DOCUMENTED refers to it), and the live feed's frames and close codes (its WebSocket
    routes are not in the document; the dashboard's types are generated from it)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from agentgym.messages import FEED_FRAMES

            schemas = build().setdefault("components", {}).setdefault("schemas", {})
            schemas["ErrorBody"] = ErrorBody.model_json_schema()
            schemas["FeedClose"] = TypeAdapter(FeedClose).json_schema()
            _, frames = models_json_schema(
                [(frame, "serialization") for frame in FEED_FRAMES],
                ref_template="#/components/schemas/{model}",
            )
            for name, schema in frames.get("$defs", {}).items():
                schemas.setdefault(name, schema)  # a route's own schema of it stays
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


class HttpError(HTTPException):
    """An HTTP error with our code and optional details; raise it from handlers."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(status, detail, headers)
        self.code = code or _CODES.get(status, "error")
        self.errors = errors or []


def error_response(
    status: int,
    detail: str,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body = ErrorBody(detail=detail, code=code or _CODES.get(status, "error"), errors=errors or [])
    return JSONResponse(body.model_dump(mode="json"), status, headers=headers)


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation_response(exc: RequestValidationError, content_type: str) -> JSONResponse:
    errors = [
        {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}  # never echo the input
        for e in exc.errors()
    ]
    if any(e["type"] == "json_invalid" for e in errors):
        return error_response(
            400, "the request body is not valid JSON", "invalid_json", None, errors
        )
    detail = "; ".join(f"{_where(tuple(e['loc']))}: {e['msg']}" for e in errors)
    if "json" not in content_type and any(e["loc"] == ["body"] for e in errors):
        # `curl -d` sends a form: say what the body must be, not only that it is not a dict.
        detail = (
            f"the body must be a JSON object sent with Content-Type: application/json"
            f" (this one came as {content_type or 'no Content-Type'}); {detail}"
        )
    return error_response(422, detail, "invalid", None, errors)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into the one JSON shape."""

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = exc.code if isinstance(exc, HttpError) else None
        errors = exc.errors if isinstance(exc, HttpError) else None
        return error_response(
            exc.status_code, str(exc.detail), code, dict(exc.headers or {}), errors
        )

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _validation_response(exc, request.headers.get("content-type", ""))

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return error_response(404, str(exc))

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        logger.warning("%s %s: %s", request.method, request.url.path, exc)
        return error_response(
            503, f"{exc}; try again shortly", None, {"Retry-After": RETRY_AFTER_S}
        )

    async def conflict(request: Request, exc: Exception) -> JSONResponse:
        return error_response(409, str(exc))

    async def too_large(request: Request, exc: Exception) -> JSONResponse:
        return error_response(413, str(exc))

    async def stale(request: Request, exc: Exception) -> JSONResponse:
        return error_response(412, str(exc))

    async def bad_alias_name(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InvalidAliasNameError)
        where = ["path", "name"]  # the route's parameter: the only place a name is taken
        return error_response(
            422, str(exc), "invalid", None, [{"loc": where, "msg": exc.rule, "type": "value_error"}]
        )

    async def bad_bundle(request: Request, exc: Exception) -> JSONResponse:
        return error_response(400, str(exc), "invalid_bundle")

    async def internal(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("%s %s failed", request.method, request.url.path)
        return error_response(
            500, "internal error: the server failed to handle this request", "internal"
        )

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    for kind in (
        KeyNotFoundError,
        InvalidKeyError,
        ArtifactNotFoundError,
        InvalidArtifactNameError,
        ModelNotFoundError,
        AliasNotFoundError,
    ):
        app.add_exception_handler(kind, not_found)
    for down in (StoreUnavailableError, BusUnavailableError, ArtifactUnavailableError):
        app.add_exception_handler(down, unavailable)
    app.add_exception_handler(TooManyWritersError, unavailable)  # nothing written: retry
    app.add_exception_handler(IllegalTransitionError, conflict)
    app.add_exception_handler(CorruptRecordError, conflict)
    for refused in (AliasTargetMissingError, NoEarlierModelError, ModelAliasedError):
        app.add_exception_handler(refused, conflict)
    app.add_exception_handler(AliasMovedError, stale)  # an If-Match that lost
    app.add_exception_handler(InvalidAliasNameError, bad_alias_name)
    app.add_exception_handler(ValueTooLargeError, too_large)
    app.add_exception_handler(BundleError, bad_bundle)
    app.add_exception_handler(Exception, internal)
    _document_schemas(app)


class BodyLimit:
    """Refuse request bodies over a limit with 413, whether or not they declare a length.

    `limit_for(scope)` names each request's limit (a model import may be larger). A body that
    grows past it while being read raises HttpError(413), which FastAPI passes through to the
    error handlers like any HTTP error.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        message = f"the request body is larger than {limit} bytes; send less"
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
        if declared.isdigit() and int(declared) > limit:
            await error_response(413, message)(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            received = await receive()
            if received["type"] == "http.request":
                seen += len(received.get("body", b""))
                if seen > limit:
                    raise HttpError(413, message)
            return received

        await self.app(scope, counting_receive, send)
