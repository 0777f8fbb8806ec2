"""OTLP/HTTP request bodies read into OpenTelemetry's own messages (the `opentelemetry-proto`
package): binary protobuf (`application/x-protobuf`) or OTLP JSON (`application/json`), plain
or gzip, as the standard exporters send them to `/v1/traces` and `/v1/logs`.

OTLP JSON is protobuf's JSON mapping but for two things, which are undone before protobuf
reads it: trace and span ids are hex, not base64, and keys may be lowerCamelCase or as in the
.proto (protobuf reads both). A gzip body is inflated in bounded steps: a small body that
inflates past the limit is refused as too large, without being held whole.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from agentgym.errors import AgentGymError

ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})
_CHUNK = 1 << 20


class OtlpError(AgentGymError, ValueError):
    """A body that is not an OTLP export this receiver reads: 400, 413 or 415."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


def body_of(data: bytes, encoding: str | None, limit: int) -> bytes:
    """The body as sent, inflated where it is gzip; OtlpError(413) past `limit` bytes."""
    coding = (encoding or "identity").strip().lower()
    if coding == "identity":
        if len(data) > limit:
            raise OtlpError(413, f"the body is {len(data)} bytes; the limit is {limit}")
        return data
    if coding != "gzip":
        raise OtlpError(415, f"Content-Encoding {coding!r}: send gzip or none")
    inflate = zlib.decompressobj(wbits=31)
    out = bytearray()
    try:
        pending = data
        while pending:
            out += inflate.decompress(pending, _CHUNK)
            pending = inflate.unconsumed_tail
            if len(out) > limit:
                raise OtlpError(413, f"the body inflates past the limit of {limit} bytes")
        out += inflate.flush()
    except zlib.error as exc:
        raise OtlpError(400, f"the body is not gzip: {exc}") from None
    if len(out) > limit:
        raise OtlpError(413, f"the body inflates past the limit of {limit} bytes")
    return bytes(out)


def read_request(data: bytes, content_type: str, message: type[Any]) -> Any:
    """`message` (ExportTraceServiceRequest or ExportLogsServiceRequest) read from a body."""
    from google.protobuf.message import DecodeError

    kind = content_type.split(";", 1)[0].strip().lower()
    what = message.DESCRIPTOR.name
    if kind == "application/x-protobuf":
        try:
            return message.FromString(data)
        except (DecodeError, RecursionError) as exc:
            raise OtlpError(400, f"not an OTLP protobuf {what}: {exc}") from None
    if kind == "application/json":
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise OtlpError(400, f"not JSON: {exc}") from None
        return message_of_json(parsed, message)
    raise OtlpError(
        415, f"Content-Type {content_type!r}: send application/x-protobuf or application/json"
    )


def message_of_json(document: Any, message: type[Any]) -> Any:
    """`message` read from an OTLP JSON document (already parsed); OtlpError(400) saying why
    it is not one."""
    from google.protobuf import json_format

    try:
        return json_format.ParseDict(
            _ids_as_base64(document), message(), ignore_unknown_fields=True
        )
    except (json_format.ParseError, RecursionError, TypeError, ValueError) as exc:
        raise OtlpError(400, f"not an OTLP JSON {message.DESCRIPTOR.name}: {exc}") from None


def _ids_as_base64(node: Any) -> Any:
    """OTLP JSON's hex ids as protobuf's JSON mapping has bytes: base64."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in ID_KEYS and isinstance(value, str):
                    try:
                        item[key] = base64.b64encode(bytes.fromhex(value)).decode()
                    except ValueError:
                        raise OtlpError(400, f"{key} {value[:40]!r} is not hex") from None
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return node
