"""The four Lambda entry points, invoked as Lambda invokes them: Mangum over API Gateway events.

Each test gets a fresh "container": the AGENTGYM_* environment points at a temporary SQLite
store, file artifacts and the session's nats-server, and every
handler module gets new `Resources`, opened lazily on the first invocation. Mangum runs each
invocation on the thread's current event loop (`run_until_complete`), so these tests are
synchronous, as the Lambda runtime is.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs

import pytest

import functions.aliases
import functions.models
import functions.scenarios
import functions.settings
import functions.training
from agentgym import catalog
from agentgym.config import get_api_settings
from functions.resources import Resources

from .conftest import SCENARIO_IDS

HANDLERS: dict[str, ModuleType] = {
    "scenarios": functions.scenarios,
    "training": functions.training,
    "models": functions.models,
    "settings": functions.settings,
    "aliases": functions.aliases,
}
ORIGIN = "http://localhost:3000"  # the default AGENTGYM_CORS_ORIGINS
SEED_START = {
    "scenario_id": "customer_support",
    "framework": "LangChain",
    "max_episodes": 200,
    "learning_rate": 0.001,
}


class LambdaContext:
    """What the Python Lambda runtime passes as `context`."""

    def __init__(self, function_name: str = "agentgym-api", timeout_s: float = 30.0) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:eu-west-1:123456789012:function:{function_name}"
        )
        self.memory_limit_in_mb = "512"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "2024/01/01/[$LATEST]0123456789abcdef0123456789abcdef"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _body(body: str | bytes | None, base64_encoded: bool) -> tuple[str | None, dict[str, str]]:
    """The event's body field and the headers API Gateway adds for it."""
    if body is None:
        return None, {}
    raw = body.encode() if isinstance(body, str) else body
    headers = {"content-type": "application/json", "content-length": str(len(raw))}
    return (base64.b64encode(raw).decode() if base64_encoded else raw.decode()), headers


def http_api_event(
    method: str,
    path: str,
    *,
    body: str | bytes | None = None,
    base64_encoded: bool = False,
    headers: dict[str, str] | None = None,
    query: str = "",
) -> dict[str, Any]:
    """An HTTP API (payload format 2.0) event, `$default` stage, as API Gateway sends it."""
    text, body_headers = _body(body, base64_encoded)
    all_headers = {
        "accept": "application/json",
        "accept-encoding": "gzip, deflate, br",
        "host": "abc123.execute-api.eu-west-1.amazonaws.com",
        "origin": ORIGIN,
        "user-agent": "Mozilla/5.0",
        "x-amzn-trace-id": "Root=1-65a1b2c3-0123456789abcdef01234567",
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
        **body_headers,
        **(headers or {}),
    }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "Mozilla/5.0",
            },
            "requestId": "Ab1Cd2Ef3Gh=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/2024:12:00:00 +0000",
            "timeEpoch": 1704110400000,
        },
        "isBase64Encoded": base64_encoded,
    }
    if query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in parse_qs(query).items()}
    if text is not None:
        event["body"] = text
    return event


def rest_api_event(
    method: str,
    path: str,
    *,
    body: str | bytes | None = None,
    base64_encoded: bool = False,
    headers: dict[str, str] | None = None,
    query: str = "",
) -> dict[str, Any]:
    """A REST API (payload format 1.0) proxy event, `{proxy+}` resource on stage `prod`."""
    text, body_headers = _body(body, base64_encoded)
    all_headers = {
        "Accept": "application/json",
        "Accept-Encoding": "gzip, deflate, br",
        "Host": "abc123.execute-api.eu-west-1.amazonaws.com",
        "Origin": ORIGIN,
        "User-Agent": "Mozilla/5.0",
        "X-Amzn-Trace-Id": "Root=1-65a1b2c3-0123456789abcdef01234567",
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        **{k.title(): v for k, v in body_headers.items()},
        **(headers or {}),
    }
    params = parse_qs(query) if query else None
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in params.items()} if params else None,
        "multiValueQueryStringParameters": params,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "extendedRequestId": "Ab1Cd2Ef3Gh=",
            "httpMethod": method,
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "Mozilla/5.0"},
            "path": f"/prod{path}",
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTime": "01/Jan/2024:12:00:00 +0000",
            "requestTimeEpoch": 1704110400000,
            "resourceId": "abc123",
            "resourcePath": "/{proxy+}",
            "stage": "prod",
        },
        "body": text,
        "isBase64Encoded": base64_encoded,
    }


EventFactory = Callable[..., dict[str, Any]]
FORMATS = {"http-api-2.0": http_api_event, "rest-api-1.0": rest_api_event}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: Any  # the decoded JSON
    raw: dict[str, Any]  # what the handler returned to Lambda


def invoke(handler_name: str, event: dict[str, Any]) -> Reply:
    """Call the real Lambda handler, then check the response has the shape API Gateway wants."""
    raw = HANDLERS[handler_name].handler(event, LambdaContext(f"agentgym-{handler_name}"))
    assert isinstance(raw["statusCode"], int)
    assert raw["isBase64Encoded"] is False  # JSON goes back as text
    assert isinstance(raw["body"], str)
    headers = {k.lower(): v for k, v in raw["headers"].items()}
    if event.get("version") != "2.0":
        assert "multiValueHeaders" in raw
        for name, values in raw["multiValueHeaders"].items():
            headers[name.lower()] = ",".join(values)
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(raw["body"].encode())
    assert headers["access-control-allow-origin"] == ORIGIN
    return Reply(raw["statusCode"], headers, json.loads(raw["body"]), raw)


@pytest.fixture
def container(tmp_path: Path, nats_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh Lambda container for every handler: new settings, new lazily opened clients."""
    store_url = f"sqlite:///{tmp_path / 'agentgym.db'}"
    monkeypatch.setenv("AGENTGYM_STORE_URL", store_url)
    monkeypatch.setenv("AGENTGYM_NATS_URL", nats_url)
    monkeypatch.setenv("AGENTGYM_ARTIFACTS_URL", f"file://{tmp_path / 'artifacts'}")
    monkeypatch.setenv("AGENTGYM_DATA_DIR", str(tmp_path))
    get_api_settings.cache_clear()
    # The loop Mangum runs every invocation on (on Lambda, the one set up at import).
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    saved = {name: module.app.state.resources for name, module in HANDLERS.items()}
    for module in HANDLERS.values():
        module.app.state.resources = Resources()
    try:
        yield
    finally:
        try:
            for name, module in HANDLERS.items():
                loop.run_until_complete(module.app.state.resources.close())
                module.app.state.resources = saved[name]
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()
            asyncio.set_event_loop(None)
            get_api_settings.cache_clear()


@pytest.fixture(params=list(FORMATS))
def event(request: pytest.FixtureRequest) -> EventFactory:
    """Builds events in each payload format API Gateway sends to Lambda."""
    return FORMATS[request.param]


pytestmark = pytest.mark.usefixtures("container")


def test_list_scenarios_is_the_shipped_catalog(event: EventFactory) -> None:
    reply = invoke("scenarios", event("GET", "/api/scenarios"))
    assert reply.status == 200
    assert sorted(s["id"] for s in reply.body) == sorted(SCENARIO_IDS)
    by_id = {s["id"]: s for s in reply.body}
    assert by_id["code_review"] == catalog.builtin_entry("code_review").model_dump(mode="json")  # type: ignore[union-attr]


def test_get_one_scenario(event: EventFactory) -> None:
    reply = invoke("scenarios", event("GET", "/api/scenarios/customer_support"))
    assert reply.status == 200
    assert reply.body == catalog.builtin_entry("customer_support").model_dump(mode="json")  # type: ignore[union-attr]
    assert reply.body["name"] == "Customer Support"
    assert reply.body["hyperparameters"]["max_episodes"]["default"] == 2000


def test_unknown_scenario_is_404_naming_the_known_ones(event: EventFactory) -> None:
    reply = invoke("scenarios", event("GET", "/api/scenarios/poetry"))
    assert reply.status == 404
    assert reply.body["code"] == "not_found"
    assert "poetry" in reply.body["detail"] and "customer_support" in reply.body["detail"]


@pytest.mark.parametrize("base64_encoded", [False, True], ids=["text-body", "base64-body"])
def test_start_then_read_the_session_through_the_same_handler(
    event: EventFactory, base64_encoded: bool
) -> None:
    started = invoke(
        "training",
        event(
            "POST",
            "/api/training/start",
            body=json.dumps(SEED_START),
            base64_encoded=base64_encoded,
        ),
    )
    assert started.status == 200, started.body
    assert started.body["status"] == "started"
    session_id = started.body["session_id"]
    assert session_id.startswith("session_")

    status = invoke("training", event("GET", f"/api/training/{session_id}"))
    assert status.status == 200, status.body
    assert status.body["session_id"] == session_id
    assert status.body["status"] == "queued"
    assert (status.body["scenario_id"], status.body["framework"]) == (
        "customer_support",
        "LangChain",
    )
    assert (status.body["max_episodes"], status.body["learning_rate"]) == (200, 0.001)
    assert status.body["current_episode"] == 0 and status.body["elapsed_time"] == "0:00:00"

    listed = invoke("training", event("GET", "/api/training"))
    assert listed.status == 200
    assert [s["session_id"] for s in listed.body] == [session_id]


def test_the_container_keeps_its_clients_between_invocations(event: EventFactory) -> None:
    """Opened on the first invocation, reused by the next: what a warm Lambda does."""
    resources = functions.training.app.state.resources
    invoke("training", event("GET", "/api/training"))
    first = (resources._store, resources._bus)
    assert first[0] is not None
    invoke("training", event("POST", "/api/training/start", body=json.dumps(SEED_START)))
    invoke("training", event("GET", "/api/training"))
    assert resources._store is first[0]
    assert resources._bus is not None


def test_query_strings_reach_the_app(event: EventFactory) -> None:
    started = invoke("training", event("POST", "/api/training/start", body=json.dumps(SEED_START)))
    session_id = started.body["session_id"]
    metrics = invoke(
        "training", event("GET", f"/api/training/{session_id}/metrics", query="since=0&limit=5")
    )
    assert metrics.status == 200 and metrics.body == []
    refused = invoke(
        "training", event("GET", f"/api/training/{session_id}/metrics", query="since=-1")
    )
    assert refused.status == 422 and "since" in refused.body["detail"]


def test_models_are_an_empty_list_at_first(event: EventFactory) -> None:
    reply = invoke("models", event("GET", "/api/models"))
    assert reply.status == 200
    assert reply.body == []


def test_put_settings_then_get_shows_the_change(event: EventFactory) -> None:
    before = invoke("settings", event("GET", "/api/settings"))
    assert before.status == 200
    assert before.headers["etag"] == '"0"'
    assert before.body["maxEpisodes"] == 200 and before.body["framework"] == "LangChain"

    put = invoke("settings", event("PUT", "/api/settings", body=json.dumps({"maxEpisodes": 300})))
    assert put.status == 200, put.body
    assert put.body == before.body | {"maxEpisodes": 300}
    assert put.headers["etag"] != '"0"'

    after = invoke("settings", event("GET", "/api/settings"))
    assert after.status == 200
    assert after.body == put.body
    assert after.headers["etag"] == put.headers["etag"]


def test_unknown_session_is_404(event: EventFactory) -> None:
    reply = invoke("training", event("GET", "/api/training/session_nope"))
    assert reply.status == 404
    assert reply.body["code"] == "not_found"
    assert "session_nope" in reply.body["detail"]


@pytest.mark.parametrize(
    ("handler_name", "method", "path"),
    [
        ("training", "POST", "/api/training/start"),
        ("settings", "PUT", "/api/settings"),
    ],
)
@pytest.mark.parametrize("base64_encoded", [False, True], ids=["text-body", "base64-body"])
def test_malformed_json_is_400_with_a_detail(
    event: EventFactory, handler_name: str, method: str, path: str, base64_encoded: bool
) -> None:
    reply = invoke(
        handler_name,
        event(
            method, path, body='{"scenario_id": "customer_support",', base64_encoded=base64_encoded
        ),
    )
    assert reply.status == 400, reply.body
    assert isinstance(reply.body["detail"], str) and "JSON" in reply.body["detail"]
    assert reply.body["code"] == "invalid_json"


OWN_ROUTES = {
    "scenarios": ("GET", "/api/scenarios"),
    "training": ("GET", "/api/training"),
    "models": ("GET", "/api/models"),
    "settings": ("GET", "/api/settings"),
    "aliases": ("GET", "/api/aliases"),
}


@pytest.mark.parametrize("handler_name", list(HANDLERS))
def test_each_handler_serves_only_its_own_routes(handler_name: str, event: EventFactory) -> None:
    method, path = OWN_ROUTES[handler_name]
    assert invoke(handler_name, event(method, path)).status == 200
    for other, (other_method, other_path) in OWN_ROUTES.items():
        if other == handler_name:
            continue
        reply = invoke(handler_name, event(other_method, other_path))
        assert reply.status == 404, (handler_name, other_path)
        assert reply.body["code"] == "not_found"
    assert invoke(handler_name, event("GET", "/")).status == 404  # the index is the combined app's
    assert invoke(handler_name, event("GET", "/healthz")).body == {"status": "ok"}
