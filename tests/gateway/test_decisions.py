"""Decisions from a gateway to the API and JetStream, and read back (`/api/decisions`)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentgym.config import ApiSettings
from functions.app import build
from functions.resources import Resources
from gateway.decisions import ApiSink, Recorder
from gateway.server import Gateway
from gateway.upstreams import Target
from trainer.serving import Served

from ..functions.test_custom_scenarios import scenario_file
from ..servers import serve_asgi
from .test_gateway import STDIO, client, found


@pytest.fixture
async def api(urls: dict[str, str], tmp_path: Path) -> AsyncIterator[str]:
    settings = ApiSettings(data_dir=tmp_path, **urls)
    with serve_asgi(build(Resources(settings))) as url:
        yield url


def decision(**changes: Any) -> dict[str, Any]:
    return {
        "kind": "decision",
        "id": f"dec_{uuid.uuid4().hex}",
        "time": 1.0,
        "model_id": "m",
        "scenario_id": "customer_support",
        "scenario_version": "1",
        "tools_digest": "0" * 64,
        "text": "refund order 1182 for anna@example.com",
        "tools": ["refund", "lookup_user"],
        "served": ["refund"],
        "probabilities": {"refund": 0.9},
        "first_probability": 1.0,
    } | changes


async def test_a_gateways_decisions_and_calls_reach_the_log(api: str, served: Served) -> None:
    made = Gateway(served, "model_cs", [Target.parse(STDIO)], Recorder(ApiSink(api, None)))
    with serve_asgi(made.http_app(None)) as base:
        url = f"{base}/mcp"
        for _ in range(200):
            if all(httpx.get(f"{base}/healthz").json()["upstreams"].values()):
                break
            await asyncio.sleep(0.05)
        async with client(url) as mcp:
            text = "Please refund order 1182, email me at anna@example.com"
            answer = found(await mcp.call_tool("search_tools", {"query": text}))
            await mcp.call_tool(
                "call_tool",
                {"name": "refund", "arguments": {}, "decision_id": answer["decision_id"]},
            )
            outcome = {"decision_id": answer["decision_id"], "reward": 0.5, "comment": "ok"}
            assert not (await mcp.call_tool("report_outcome", outcome)).is_error
            bad = await mcp.call_tool("report_outcome", outcome | {"reward": 3})
            assert bad.is_error and "-1" in bad.content[0].text  # type: ignore[union-attr]
        for _ in range(100):  # flushed within a second
            page = httpx.get(f"{api}/api/decisions", params={"scenario": "customer_support"})
            if len(page.json()["items"]) == 2:
                break
            await asyncio.sleep(0.1)
    items = page.json()["items"]
    assert [item["kind"] for item in items] == ["decision", "call"]
    assert items[0]["id"] == answer["decision_id"] and items[1]["decision_id"] == items[0]["id"]
    assert "anna@example.com" not in items[0]["text"] and "[email]" in items[0]["text"]
    assert items[0]["served"] == [tool["name"] for tool in answer["tools"]]
    one = httpx.get(f"{api}/api/decisions/{answer['decision_id']}").json()
    assert one["decision"]["id"] == answer["decision_id"]
    assert [call["tool"] for call in one["calls"]] == ["refund"]
    assert one["feedback"]["reward"] == 0.5 and one["feedback"]["comment"] == "ok"
    again = httpx.post(f"{api}/api/decisions/{answer['decision_id']}/feedback", json={"reward": -1})
    assert again.status_code == 200
    one = httpx.get(f"{api}/api/decisions/{answer['decision_id']}").json()
    assert one["feedback"]["reward"] == -1 and one["feedback"]["comment"] is None  # the later
    after = page.json()["next_after"]
    later = httpx.get(f"{api}/api/decisions", params={"after": after}).json()
    assert later["items"] == [] and later["next_after"] == after


async def test_bad_batches_are_refused_saying_what_and_a_retry_is_stored_once(api: str) -> None:
    one = decision()
    for _ in range(2):  # a gateway's retry
        sent = httpx.post(f"{api}/api/decisions", json={"items": [one]})
        assert sent.status_code == 200 and sent.json() == {"accepted": 1}
    assert len(httpx.get(f"{api}/api/decisions").json()["items"]) == 1
    unknown = httpx.post(f"{api}/api/decisions", json={"items": [decision(scenario_id="nowhere")]})
    assert unknown.status_code == 404 and "nowhere" in unknown.text
    bad = httpx.post(f"{api}/api/decisions", json={"items": [decision(first_probability=0)]})
    assert bad.status_code == 422 and "first_probability" in bad.text
    assert httpx.post(f"{api}/api/decisions", json={"items": []}).status_code == 422
    unknown_id = f"dec_{uuid.uuid4().hex}"
    missing = httpx.post(f"{api}/api/decisions/{unknown_id}/feedback", json={"reward": 1})
    assert missing.status_code == 404 and unknown_id in missing.text
    assert httpx.get(f"{api}/api/decisions/{unknown_id}").status_code == 404
    wrong = httpx.post(f"{api}/api/decisions/{one['id']}/feedback", json={"reward": 2})
    assert wrong.status_code == 422 and "reward" in wrong.text
    many = {"items": [decision() for _ in range(1001)]}
    assert httpx.post(f"{api}/api/decisions", content=json.dumps(many)).status_code in (413, 422)


def test_a_snapshot_takes_settled_decisions_in_as_logged_episodes(api: str) -> None:
    scenario = scenario_file("shop_gw")
    pushed = httpx.post(f"{api}/api/scenarios", content=json.dumps(scenario),
                        headers={"Content-Type": "application/json"})  # fmt: skip
    assert pushed.status_code == 201, pushed.text
    old, now = time.time() - 3600, time.time()
    served = decision(scenario_id="shop_gw", time=old, served=["lookup_order", "refund"],
                      first_probability=0.9, text="where is order 7?")  # fmt: skip
    other = decision(scenario_id="shop_gw", time=old + 1, served=["refund"])
    silent = decision(scenario_id="shop_gw", time=old + 2)  # no call followed it
    recent = decision(scenario_id="shop_gw", time=now)  # not settled yet

    def call(made: dict[str, Any], tool: str, at: float, error: bool = False) -> dict[str, Any]:
        return {"kind": "call", "id": f"call_{uuid.uuid4().hex}", "time": at,
                "scenario_id": "shop_gw", "decision_id": made["id"], "tool": tool,
                "is_error": error, "latency_ms": 3.0}  # fmt: skip

    items = [served, call(served, "lookup_order", old + 0.1), other, silent,
             call(other, "lookup_order", old + 1.1, error=True), call(other, "refund", old + 1.2),
             {"kind": "feedback", "decision_id": served["id"], "scenario_id": "shop_gw",
              "reward": 1.0, "time": old + 5}, recent, call(recent, "refund", now)]  # fmt: skip
    assert httpx.post(f"{api}/api/decisions", json={"items": items}).status_code == 200
    made = httpx.post(f"{api}/api/scenarios/shop_gw/snapshot").json()
    assert made["decisions_added"] == 2, made
    logs = {
        log["id"]: log for log in httpx.get(f"{api}/api/scenarios/shop_gw/download").json()["logs"]
    }
    first, second = logs[served["id"]], logs[other["id"]]
    assert first["calls"] == [
        {"tool": "lookup_order", "probability": 0.9}
    ]  # succeeded: the default
    assert first["reward"] == 1.0 and first["text"] == "where is order 7?"
    # Not the tool served first: the agent's own choice, with no probability; no feedback.
    assert [c.get("probability") for c in second["calls"]] == [None, None]
    assert [c.get("succeeded", True) for c in second["calls"]] == [False, True]
    assert "reward" not in second
    assert silent["id"] not in logs and recent["id"] not in logs
    again = httpx.post(f"{api}/api/scenarios/shop_gw/snapshot").json()
    assert again["decisions_added"] == 0  # each is taken once
    counts = httpx.get(f"{api}/api/scenarios/shop_gw/traces").json()
    assert counts["decisions"] == 2 and counts["decisions_without_calls"] == 1


async def test_calls_without_a_decision_id_join_their_sessions_search(
    api: str, served: Served
) -> None:
    """An agent that searched, searched again, then called without passing a decision_id:
    the call joins the second search by the MCP session, and the first was searched again."""
    made = Gateway(served, "model_cs", [Target.parse(STDIO)], Recorder(ApiSink(api, None)))
    with serve_asgi(made.http_app(None)) as base:
        for _ in range(200):
            if all(httpx.get(f"{base}/healthz").json()["upstreams"].values()):
                break
            await asyncio.sleep(0.05)
        async with client(f"{base}/mcp") as mcp:
            first = found(await mcp.call_tool("search_tools", {"query": "track my parcel"}))
            second = found(await mcp.call_tool("search_tools", {"query": "refund order 7"}))
            served_second = [tool["name"] for tool in second["tools"]]
            await mcp.call_tool("call_tool", {"name": served_second[0], "arguments": {}})
        async with client(f"{base}/mcp") as other:  # another session: joins nothing of these
            await other.call_tool("call_tool", {"name": "refund", "arguments": {}})
        for _ in range(100):
            items = httpx.get(f"{api}/api/decisions").json()["items"]
            if len(items) == 4:
                break
            await asyncio.sleep(0.1)
    sessions = {item["session"] for item in items}
    assert len(sessions) == 2  # one per MCP session
    page = {item["id"]: item for item in items}
    assert page[first["decision_id"]]["searched_again"] is True
    assert page[second["decision_id"]]["searched_again"] is False
    calls = [item for item in items if item["kind"] == "call"]
    joined = [c for c in calls if c.get("joined_to")]
    assert len(joined) == 1 and joined[0]["joined_to"] == second["decision_id"]
    assert joined[0]["joined"] == "session" and joined[0]["rank"] == 0
    one = httpx.get(f"{api}/api/decisions/{second['decision_id']}").json()
    assert [(c["tool"], c["joined"], c["rank"]) for c in one["calls"]] == [
        (served_second[0], "session", 0)
    ]
    assert one["searched_again"] is False
    assert httpx.get(f"{api}/api/decisions/{first['decision_id']}").json()["searched_again"]
    # Filters: by model (the calls with the decisions they joined) and by time.
    assert len(httpx.get(f"{api}/api/decisions", params={"model": "model_cs"}).json()["items"]) == 3
    assert httpx.get(f"{api}/api/decisions", params={"model": "other"}).json()["items"] == []
    later = httpx.get(f"{api}/api/decisions", params={"since": time.time() + 60}).json()
    assert later["items"] == [] and later["next_after"] == 4


async def test_a_snapshot_says_how_many_decisions_the_cap_dropped_unread(
    urls: dict[str, str], tmp_path: Path
) -> None:
    """The decisions stream made with a cap of 10 a scenario (500,000 in earnest): 25 sent,
    15 dropped before any snapshot read them; the next snapshot, after 3 more, drops none."""
    import dataclasses

    import nats

    from agentgym import subjects

    connection = await nats.connect(urls["nats_url"])
    capped = dataclasses.replace(subjects.decisions_stream(), max_msgs_per_subject=10)
    await connection.jetstream().add_stream(capped)  # there first: the API leaves it so
    await connection.close()
    with serve_asgi(build(Resources(ApiSettings(data_dir=tmp_path, **urls)))) as api:
        pushed = httpx.post(f"{api}/api/scenarios", content=json.dumps(scenario_file("shop_cap")),
                            headers={"Content-Type": "application/json"})  # fmt: skip
        assert pushed.status_code == 201, pushed.text
        old = time.time() - 3600

        def send(count: int) -> None:
            items = [decision(scenario_id="shop_cap", time=old) for _ in range(count)]
            assert httpx.post(f"{api}/api/decisions", json={"items": items}).status_code == 200

        send(25)
        first = httpx.post(f"{api}/api/scenarios/shop_cap/snapshot").json()
        assert first["decisions_lost"] == 15, first
        send(3)
        second = httpx.post(f"{api}/api/scenarios/shop_cap/snapshot").json()
        assert second["decisions_lost"] == 0, second
        counts = httpx.get(f"{api}/api/scenarios/shop_cap/traces").json()
        assert counts["decisions_lost"] == 15 and counts["decisions_without_calls"] == 13


async def test_a_page_asked_with_feedback_gives_each_decision_its_reward(api: str) -> None:
    rated, unrated = decision(), decision()
    call = {"kind": "call", "id": f"call_{uuid.uuid4().hex}", "time": 1.1,
            "scenario_id": "customer_support", "decision_id": rated["id"], "tool": "refund",
            "is_error": False, "latency_ms": 3.0}  # fmt: skip
    items = [rated, unrated, call,
             {"kind": "feedback", "decision_id": rated["id"], "scenario_id": "customer_support",
              "reward": 0.5, "time": 2.0}]  # fmt: skip
    assert httpx.post(f"{api}/api/decisions", json={"items": items}).status_code == 200
    page = httpx.get(f"{api}/api/decisions", params={"feedback": "true"}).json()["items"]
    rewards = {item["id"]: item.get("reward", "absent") for item in page}
    assert rewards == {rated["id"]: 0.5, unrated["id"]: None, call["id"]: "absent"}
    plain = httpx.get(f"{api}/api/decisions").json()["items"]
    assert all("reward" not in item for item in plain)  # read only when asked: a read each
