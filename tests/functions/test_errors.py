"""Client mistakes get a 4xx in one JSON shape with a `detail` that says what to fix."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import pytest

SEED_START = {"scenario_id": "customer_support", "framework": "LangChain"}


def assert_error(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["detail"], str) and body["code"]
    for word in words:
        assert word in body["detail"], (word, body["detail"])


def test_malformed_json_is_400(api: httpx.Client) -> None:
    response = api.post(
        "/api/training/start",
        content=b'{"scenario_id": ',
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 400, "not valid JSON")


@pytest.mark.parametrize("path", ["/api/training/start", "/api/models/m/act"])
def test_a_form_instead_of_json_says_to_send_json(api: httpx.Client, path: str) -> None:
    """What `curl -d` sends without `-H 'Content-Type: application/json'`."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = api.post(path, content=b"scenario_id=customer_support", headers=form)
    assert_error(response, 422, "JSON object", "Content-Type: application/json")
    assert "application/x-www-form-urlencoded" in response.json()["detail"]


def test_a_wrong_type_is_422_naming_the_field(api: httpx.Client) -> None:
    response = api.post("/api/training/start", json=SEED_START | {"learning_rate": "fast"})
    assert_error(response, 422, "learning_rate")
    assert response.json()["errors"][0]["loc"] == ["body", "learning_rate"]


def test_a_missing_field_is_422_naming_it(api: httpx.Client) -> None:
    assert_error(
        api.post("/api/training/start", json={"framework": "LangChain"}), 422, "scenario_id"
    )


def test_a_body_that_is_not_an_object_is_422(api: httpx.Client) -> None:
    assert_error(api.post("/api/training/start", json=[1, 2]), 422)
    assert_error(api.put("/api/settings", json="text"), 422)


def test_an_oversized_body_is_413(api: httpx.Client) -> None:
    big = SEED_START | {"padding": "x" * (65 * 1024)}  # the test limit is 64 KiB
    assert_error(api.post("/api/training/start", json=big), 413, "larger than")


def test_an_oversized_body_without_a_length_is_413(base_url: str) -> None:
    """A chunked body declares no length; it is counted as it arrives."""
    parts = urlsplit(base_url)
    chunk = b"x" * 8192
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(
            b"POST /api/training/start HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        try:
            for _ in range(10):  # 80 KiB in all
                conn.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            conn.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may answer and close before all of it is sent
        reply = b""
        while b"larger than" not in reply:  # headers and body may arrive apart
            chunk = conn.recv(65536)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"larger than" in reply


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/nothing-here", 404),
        ("DELETE", "/api/training", 405),
        ("PATCH", "/api/settings", 405),
        ("GET", "/api/training/x/metrics?since=abc", 422),
    ],
)
def test_routing_mistakes_are_json_too(
    api: httpx.Client, method: str, path: str, status: int
) -> None:
    assert_error(api.request(method, path), status)


def test_cors_allows_the_seed_ui_origin(api: httpx.Client) -> None:
    response = api.options(
        "/api/training/start",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    other = api.get("/api/settings", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers
