"""Custom scenarios through the API: pushed as a scenario file (JSON or YAML) or as OpenAI chat
JSONL, validated with errors that say where, versioned, listed beside the built-ins,
downloaded as a file that pushes back unchanged, and deleted (no trainer runs here)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import yaml

from agentgym.config import ApiSettings
from agentgym.store import KeyValueStore

TOOLS = [
    {"type": "function", "function": {"name": "lookup_order", "description": "Find an order "
     "by its number", "parameters": {"type": "object", "properties": {}}}},
    {"name": "issue_refund", "description": "Refund an order to the card", "inputSchema": {
        "type": "object"}, "failure_rate": 0.1, "fallback": "escalate"},
    {"name": "escalate", "description": "Hand the case to a human"},
]  # fmt: skip


def tasks(n: int = 20) -> list[dict[str, Any]]:
    kinds = [
        ("where is my order {i}", ["lookup_order"], "status"),
        ("please refund order {i}, it arrived broken", ["lookup_order", "issue_refund"], "refund"),
        ("I want to talk to a person about {i}", ["escalate"], "human"),
        ("thanks, that is all {i}", [], "done"),
    ]
    return [
        {"text": text.format(i=i), "solution": solution, "intent": intent}
        for i in range(n)
        for text, solution, intent in [kinds[i % len(kinds)]]
    ]


def scenario_file(scenario_id: str = "shop_support", **extra: Any) -> dict[str, Any]:
    return {"id": scenario_id, "name": "Shop support", "tools": TOOLS, "tasks": tasks()} | extra


def post(api: httpx.Client, body: Any, path: str = "/api/scenarios", **params: str) -> Any:
    return api.post(path, content=json.dumps(body), params=params,
                    headers={"Content-Type": "application/json"})  # fmt: skip


def jsonl_lines(n: int = 20) -> str:
    lines = []
    for i, task in enumerate(tasks(n)):
        calls = [
            {"id": f"c{j}", "type": "function", "function": {"name": name, "arguments": "{}"}}
            for j, name in enumerate(task["solution"])
        ]
        messages = [
            {"role": "system", "content": "You are a shop assistant."},
            {"role": "user", "content": task["text"]},
            {"role": "assistant", "tool_calls": calls} if calls else
            {"role": "assistant", "content": "Glad to help."},
        ]  # fmt: skip
        lines.append(json.dumps({"id": f"chat-{i}", "messages": messages, "tools": TOOLS[:1]
                                 + [{"type": "function", "function": {"name": t["name"],
                                    "description": t["description"]}} for t in TOOLS[1:]]}))  # fmt: skip
    return "\n".join(lines) + "\n"


def test_a_scenario_file_becomes_a_scenario_listed_beside_the_built_ins(
    api: httpx.Client,
) -> None:
    created = post(api, scenario_file())
    assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["id"] == "shop_support" and entry["source"] == "custom"
    assert entry["counts"]["tools"] == 3 and entry["counts"]["tasks"] == 20
    assert entry["counts"]["heldout"] >= 4  # at least a fifth held out
    assert entry["tasks"] == 20 and entry["version"]
    listed = {s["id"]: s for s in api.get("/api/scenarios").json()}
    assert listed["shop_support"] == entry
    assert listed["customer_support"]["source"] == "builtin"
    assert api.get("/api/scenarios/shop_support").json() == entry


def test_the_same_file_in_yaml_is_the_same_version(api: httpx.Client) -> None:
    as_json = post(api, scenario_file("one")).json()
    body = yaml.safe_dump(scenario_file("two"))
    as_yaml = api.post("/api/scenarios", content=body, headers={"Content-Type": "application/yaml"})
    assert as_yaml.status_code == 201, as_yaml.text
    assert as_yaml.json()["counts"] == as_json["counts"]


def test_openai_chat_jsonl_imports_with_its_id(api: httpx.Client) -> None:
    body = jsonl_lines()
    without_id = api.post(
        "/api/scenarios", content=body, headers={"Content-Type": "application/x-ndjson"}
    )
    assert without_id.status_code == 422 and "id" in without_id.json()["detail"]
    created = api.post(
        "/api/scenarios", content=body, params={"id": "from_chats", "name": "From chats"},
        headers={"Content-Type": "application/x-ndjson"},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "From chats"
    counts = created.json()["counts"]
    assert counts["tools"] == 3 and counts["tasks"] == 20 and counts["heldout"] >= 4


def test_an_id_taken_or_built_in_is_a_conflict(api: httpx.Client) -> None:
    assert post(api, scenario_file()).status_code == 201
    again = post(api, scenario_file())
    assert again.status_code == 409 and "PUT" in again.json()["detail"]
    builtin = post(api, scenario_file("customer_support"))
    assert builtin.status_code == 409 and "built-in" in builtin.json()["detail"]
    for method in ("PUT", "DELETE"):
        response = api.request(method, "/api/scenarios/customer_support",
                               content=json.dumps(scenario_file("customer_support")),
                               headers={"Content-Type": "application/json"})  # fmt: skip
        assert response.status_code == 409 and "built-in" in response.json()["detail"]


def test_errors_say_where_and_what(api: httpx.Client) -> None:
    bad = scenario_file()
    bad["tasks"][12]["solution"] = ["lookup_order", "issue_refnd"]
    response = post(api, bad)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid"
    where = [e["where"] for e in body["errors"]]
    assert "tasks[12].solution[1]" in where
    assert "issue_refund" in body["detail"]  # the closest known name
    assert api.get("/api/scenarios/shop_support").status_code == 404  # nothing stored


def test_malformed_files_are_a_400_with_the_line(api: httpx.Client) -> None:
    response = api.post("/api/scenarios", content='{\n  "id": "x",\n  "tools": [,]\n}',
                        headers={"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 400
    assert "line 3" in response.json()["detail"]
    lines = jsonl_lines(5).splitlines()
    lines[3] = "{not json"
    response = api.post("/api/scenarios", content="\n".join(lines), params={"id": "x"},
                        headers={"Content-Type": "application/x-ndjson"})  # fmt: skip
    assert response.status_code == 400 and "line 4" in response.json()["detail"]


def test_wrong_content_type_and_too_large_bodies_are_refused(
    api: httpx.Client, settings: ApiSettings
) -> None:
    response = api.post("/api/scenarios", content=b"<xml/>", headers={"Content-Type": "text/xml"})
    assert response.status_code == 415
    huge = scenario_file(description="x" * (settings.max_scenario_bytes + 1))
    response = post(api, huge)
    assert response.status_code == 413
    assert api.get("/api/scenarios/shop_support").status_code == 404


def test_validate_reports_without_storing(api: httpx.Client) -> None:
    report = post(api, scenario_file(), "/api/scenarios/validate").json()
    assert report["valid"] is True and report["errors"] == [] and report["version"]
    unused = scenario_file(tools=[*TOOLS, {"name": "never_used", "description": "Nothing"}])
    warned = post(api, unused, "/api/scenarios/validate").json()
    assert warned["valid"] is True
    assert any("never_used" in w["msg"] for w in warned["warnings"])
    bad = scenario_file()
    bad["tasks"][0]["text"] = ""
    invalid = post(api, bad, "/api/scenarios/validate")
    assert invalid.status_code == 200 and invalid.json()["valid"] is False
    assert [e["where"] for e in invalid.json()["errors"]] == ["tasks[0].text"]
    assert api.get("/api/scenarios/shop_support").status_code == 404


def test_versions_pin_and_downloads_push_back_unchanged(api: httpx.Client) -> None:
    first = post(api, scenario_file()).json()
    downloaded = api.get("/api/scenarios/shop_support/download")
    assert downloaded.status_code == 200
    assert "attachment" in downloaded.headers["content-disposition"]
    unchanged = api.put("/api/scenarios/shop_support", content=downloaded.content,
                        headers={"Content-Type": "application/json"})  # fmt: skip
    assert unchanged.status_code == 200 and unchanged.json()["version"] == first["version"]

    changed = scenario_file(description="Now with a description")
    second = api.put("/api/scenarios/shop_support", content=json.dumps(changed),
                     headers={"Content-Type": "application/json"})  # fmt: skip
    assert second.status_code == 200, second.text
    assert second.json()["version"] != first["version"]
    assert second.json()["versions"] == [first["version"], second.json()["version"]]
    old = api.get("/api/scenarios/shop_support/download", params={"version": first["version"]})
    assert old.content == downloaded.content
    assert (
        api.get("/api/scenarios/shop_support/download", params={"version": "nope"}).status_code
        == 404
    )


def test_a_built_in_downloads_as_a_scenario_file(api: httpx.Client) -> None:
    downloaded = api.get("/api/scenarios/customer_support/download")
    assert downloaded.status_code == 200
    definition = downloaded.json()
    assert definition["id"] == "customer_support" and len(definition["tasks"]) >= 300
    assert all(task["split"] in ("train", "heldout") for task in definition["tasks"])


async def test_a_session_pins_its_version_and_blocks_a_delete(
    api: httpx.Client, store: KeyValueStore
) -> None:
    created = post(api, scenario_file()).json()
    started = api.post("/api/training/start", json={"scenario_id": "shop_support"})
    assert started.status_code == 200, started.text
    session_id = started.json()["session_id"]
    status = api.get(f"/api/training/{session_id}").json()
    assert status["scenario_version"] == created["version"]
    blocked = api.delete("/api/scenarios/shop_support")
    assert blocked.status_code == 409 and session_id in blocked.json()["detail"]
    assert api.post(f"/api/training/{session_id}/stop").status_code == 200
    # No trainer runs here: the stop of a queued session waits for one; the scenario stays.
    assert api.get("/api/scenarios/shop_support").status_code == 200


def test_delete_removes_the_scenario_and_its_versions(api: httpx.Client) -> None:
    post(api, scenario_file())
    deleted = api.delete("/api/scenarios/shop_support")
    assert deleted.status_code == 200
    assert api.get("/api/scenarios/shop_support").status_code == 404
    assert api.get("/api/scenarios/shop_support/download").status_code == 404
    assert api.delete("/api/scenarios/shop_support").status_code == 404
    assert post(api, scenario_file()).status_code == 201  # the id is free again


def logs(n: int = 10) -> list[dict[str, Any]]:
    return [
        {
            "id": f"trace-{i}",
            "text": f"where is my order {i}",
            "calls": [{"tool": "lookup_order", "probability": 0.8}],
            "reward": 1.0,
            "time": f"2026-11-{i + 1:02d}T09:00:00Z",
        }
        for i in range(n)
    ]


def test_logged_episodes_are_counted_and_download_with_their_scenario(api: httpx.Client) -> None:
    created = post(api, scenario_file(logs=logs())).json()
    counts = api.get("/api/scenarios/shop_support").json()["counts"]
    assert (counts["logs"], counts["logs_heldout"], counts["logs_with_reward"]) == (10, 2, 10)
    downloaded = api.get("/api/scenarios/shop_support/download")
    assert [log["id"] for log in downloaded.json()["logs"]] == [f"trace-{i}" for i in range(10)]
    again = api.put("/api/scenarios/shop_support", content=downloaded.content,
                    headers={"Content-Type": "application/json"})  # fmt: skip
    assert again.status_code == 200 and again.json()["version"] == created["version"]
    wrong = post(api, scenario_file("other", logs=[{"calls": [{"tool": "refnd"}]}]))
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["loc"] == ["logs", 0, "calls", 0, "tool"]


def test_a_scenario_of_logs_alone_is_trained_on_where_they_have_an_outcome(
    api: httpx.Client,
) -> None:
    alone = {"id": "traced", "tools": TOOLS, "logs": logs()}
    assert post(api, alone).status_code == 201
    started = api.post("/api/training/start", json={"scenario_id": "traced"})
    assert started.status_code == 200, started.text
    unrated = [{k: v for k, v in log.items() if k != "reward"} for log in logs()]
    assert post(api, {"id": "unrated", "tools": TOOLS, "logs": unrated}).status_code == 201
    refused = api.post("/api/training/start", json={"scenario_id": "unrated"})
    assert refused.status_code == 422
    assert "neither training tasks nor logs with an outcome" in refused.json()["detail"]
