"""The gateway between a real MCP client and a team's real MCP servers (the SDK's, over stdio
and streamable HTTP), with a trained model in its process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import Context

from agentgym.nats_server import free_port
from gateway import ranking
from gateway.catalog import tokens
from gateway.decisions import FileSink, Recorder
from gateway.server import Gateway
from gateway.upstreams import Target
from trainer.serving import Served

from ..servers import serve_asgi
from .upstream import build, tools_of

STDIO = f"{sys.executable} -m tests.gateway.upstream stdio"


@pytest.fixture(scope="module")
def http_upstream() -> Iterator[str]:
    """A second team server over streamable HTTP, with a tool the first also has."""
    tools = [{"name": "search_kb", "description": "Search the wiki"}]
    tools += [{"name": "check_weather", "description": "The weather forecast for a city"}]
    with serve_asgi(build(tools, "wiki").streamable_http_app()) as url:
        yield f"{url}/mcp"


@asynccontextmanager
async def gateway(
    served: Served, targets: list[str], log: Path, key: str | None = None, **options: Any
) -> AsyncIterator[str]:
    made = Gateway(
        served, "model_cs", [Target.parse(t) for t in targets], Recorder(FileSink(log)), **options
    )
    with serve_asgi(made.http_app(key)) as url:
        for _ in range(200):  # until every upstream listed its tools
            health = httpx.get(f"{url}/healthz").json()
            if all(health["upstreams"].values()):
                break
            await asyncio.sleep(0.05)
        yield f"{url}/mcp"


@asynccontextmanager
async def client(url: str, key: str | None = None, **options: Any) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    transport = streamable_http_client  # mcp.Client's own options (a message handler) pass on
    async with (
        httpx2.AsyncClient(headers=headers) as http,
        Client(transport(url, http_client=http), mode="legacy", cache=None, **options) as opened,
    ):
        yield opened


def found(result: types.CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def decisions(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


async def test_search_ranks_the_upstream_tools_and_call_passes_any_through(
    served: Served, http_upstream: str, tmp_path: Path
) -> None:
    log = tmp_path / "decisions.jsonl"
    async with (
        gateway(served, [f"team={STDIO}", f"wiki={http_upstream}"], log) as url,
        client(url) as mcp,
    ):
        listed = await mcp.list_tools()
        assert [tool.name for tool in listed.tools] == [
            "search_tools",
            "call_tool",
            "report_outcome",
        ]
        text = "I was charged twice for my subscription this month"
        answer = found(await mcp.call_tool("search_tools", {"query": text, "limit": 3}))
        expected = served.act(text, (), None)
        first = answer["tools"][0]
        assert first["name"] == expected.next and first["probability"] > 0.5
        # As the upstream gave it: its description and input schema.
        assert (
            first["description"]
            == dict((t["name"], t["description"]) for t in tools_of("customer_support"))[
                first["name"]
            ]
        )
        assert first["inputSchema"]["properties"].keys() == {"order_id", "note"}
        assert len(answer["tools"]) == 3 and answer["next_cursor"] == "3"
        # Both upstreams list search_kb: each is prefixed with its upstream's name.
        names = {t["name"] for t in found(await mcp.call_tool(
            "search_tools", {"query": text, "limit": 50}))["tools"]}  # fmt: skip
        assert {"team__search_kb", "wiki__search_kb", "check_weather"} <= names
        # Any tool, served or not, is called, and its result comes back unchanged.
        called = await mcp.call_tool(
            "call_tool",
            {"name": "check_weather", "arguments": {"note": "Oslo"},
             "decision_id": answer["decision_id"]},
        )  # fmt: skip
        assert not called.is_error
        assert json.loads(called.content[0].text) == {  # type: ignore[union-attr]
            "tool": "check_weather",
            "order_id": "",
            "note": "Oslo",
        }
        refused = await mcp.call_tool(
            "call_tool", {"name": "team__refuse_all", "arguments": {"reason": "x"}}
        )
        # The upstream's own error result, as it made it (the SDK's server words it).
        assert refused.is_error and refused.content[0].text == "Error executing tool refuse_all"  # type: ignore[union-attr]
        unknown = await mcp.call_tool("call_tool", {"name": "refnd"})
        assert unknown.is_error and "'refnd'" in unknown.content[0].text  # type: ignore[union-attr]
        # The upstream's own argument check answers, not the gateway's.
        wrong = await mcp.call_tool(
            "call_tool", {"name": "wiki__strict", "arguments": {"count": "many"}}
        )
        assert wrong.is_error and "count" in wrong.content[0].text  # type: ignore[union-attr]
    logged = decisions(log)  # flushed as the gateway stopped
    searched = [d for d in logged if d["kind"] == "decision"]
    assert len(searched) == 2 and searched[0]["text"] == text
    assert searched[0]["served"] == [t["name"] for t in answer["tools"]]
    assert searched[0]["model_id"] == "model_cs" and len(searched[0]["tools_digest"]) == 64
    assert searched[0]["first_probability"] == 1.0  # no exploration
    calls = [d for d in logged if d["kind"] == "call"]
    assert calls[0]["decision_id"] == answer["decision_id"] and calls[0]["tool"] == "check_weather"
    assert [c["is_error"] for c in calls] == [False, True, True]  # the unknown one reached none


async def test_bad_searches_are_answered_saying_what_to_fix(served: Served, tmp_path: Path) -> None:
    async with gateway(served, [STDIO], tmp_path / "d.jsonl") as url, client(url) as mcp:
        for arguments, says in (
            ({"query": ""}, "needs a query"),
            ({"query": "x" * 100_000}, "at most 8,192"),
            ({"query": "refund", "limit": 0}, "limit"),
            ({"query": "refund", "cursor": "x"}, "cursor"),
        ):
            result = await mcp.call_tool("search_tools", arguments)
            assert result.is_error and says in result.content[0].text  # type: ignore[union-attr]


async def test_an_unsure_answer_is_a_set_within_a_token_budget_and_pages_on(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ranking, "TOKEN_BUDGET", 200)  # a few of the scenario's 14 tools
    async with (
        gateway(served, [STDIO], tmp_path / "d.jsonl", explore=0.5) as url,
        client(url) as mcp,
    ):
        query = "what is the capital of France"
        answer = found(await mcp.call_tool("search_tools", {"query": query}))
        assert answer["unsure"] and not answer["in_scope"] and answer["note"]
        assert answer["next_cursor"] is not None
        more = found(await mcp.call_tool(
            "search_tools", {"query": query, "cursor": answer["next_cursor"]}))  # fmt: skip
        seen = [t["name"] for t in answer["tools"]] + [t["name"] for t in more["tools"]]
        assert len(seen) == len(set(seen))  # each page new tools
        assert 1 < len(answer["tools"]) < 8
        costs = [tokens({k: t[k] for k in ("name", "description", "inputSchema")})
                 for t in answer["tools"]]  # fmt: skip
        assert sum(costs[:-1]) <= 200
    logged = decisions(tmp_path / "d.jsonl")
    explored = [d["first_probability"] for d in logged if d["kind"] == "decision"]
    assert all(0 < p < 1 for p in explored)  # epsilon 0.5: what the first tool's place was worth


async def test_every_tool_is_listed_by_name_with_expose_all(served: Served, tmp_path: Path) -> None:
    async with (
        gateway(served, [STDIO], tmp_path / "d.jsonl", expose="all") as url,
        client(url) as mcp,
    ):
        names = [tool.name for tool in (await mcp.list_tools()).tools]
        assert names[:3] == ["search_tools", "call_tool", "report_outcome"]
        assert {t["name"] for t in tools_of("customer_support")} <= set(names)
        direct = await mcp.call_tool("refund", {"order_id": "A1"})
        assert json.loads(direct.content[0].text)["order_id"] == "A1"  # type: ignore[union-attr]


async def test_a_key_is_needed_where_one_is_set(served: Served, tmp_path: Path) -> None:
    async with gateway(served, [STDIO], tmp_path / "d.jsonl", key="s3cret") as url:
        refused = httpx.post(url, json={}, headers={"Content-Type": "application/json"})
        assert refused.status_code == 401
        async with client(url, key="s3cret") as mcp:
            assert len((await mcp.list_tools()).tools) == 3


async def test_without_a_key_foreign_origins_are_refused(served: Served, tmp_path: Path) -> None:
    async with gateway(served, [STDIO], tmp_path / "d.jsonl") as url:
        body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        foreign = httpx.post(
            url, json=body, headers={"Origin": "http://evil.example", "Accept": "application/json"}
        )
        assert foreign.status_code == 403


def start_upstream(port: int, scenario: str = "customer_support") -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tests.gateway.upstream", "http", str(port)]
    command += ["--scenario", scenario]
    process = subprocess.Popen(command)
    for _ in range(200):
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=0.5)
            return process
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("the upstream did not start")


async def serving(port: int) -> str:
    """The MCP URL of a gateway process on `port`, once it serves and its upstream `team`
    connected."""
    url = f"http://127.0.0.1:{port}/mcp"
    for _ in range(400):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url.replace("/mcp", "/healthz")).json()["upstreams"]["team"]:
                return url
        await asyncio.sleep(0.05)
    raise AssertionError(f"no gateway serving on port {port}")


async def until_connected(url: str, connected: bool) -> None:
    for _ in range(400):
        if httpx.get(url.replace("/mcp", "/healthz")).json()["upstreams"]["team"] is connected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the upstream never became connected={connected}")


async def test_an_upstream_that_is_gone_answers_an_error_naming_it_and_comes_back(
    served: Served, tmp_path: Path
) -> None:
    port = free_port()
    upstream = start_upstream(port)
    try:
        target = f"team=http://127.0.0.1:{port}/mcp"
        async with gateway(served, [target], tmp_path / "d.jsonl") as url, client(url) as mcp:
            called = {"name": "refund", "arguments": {"order_id": "A1"}}
            assert not (await mcp.call_tool("call_tool", called)).is_error
            upstream.kill()  # kill -9
            upstream.wait()
            gone = await mcp.call_tool("call_tool", called)
            assert gone.is_error and "upstream team" in gone.content[0].text  # type: ignore[union-attr]
            # The gateway answers everything else meanwhile.
            answer = found(await mcp.call_tool("search_tools", {"query": "refund my order"}))
            assert answer["tools"]
            upstream = start_upstream(port)
            await until_connected(url, True)
            back = await mcp.call_tool("call_tool", called)
            assert not back.is_error, back.content
    finally:
        upstream.kill()
        upstream.wait()


async def test_clients_listing_every_tool_are_told_when_an_upstreams_tools_change(
    served: Served, tmp_path: Path
) -> None:
    """A team server that adds a tool and says so (tools/list_changed): the gateway lists it
    again, and tells its own clients, which list every tool (`--expose all`), in turn."""
    team = build([{"name": "search_kb", "description": "Search the wiki"}], "wiki", extras=False)

    async def grow(name: str, ctx: Context) -> str:
        """Adds a tool by that name."""
        team.add_tool(lambda: name, name=name, description=f"the {name} tool")
        await ctx.session.send_tool_list_changed()
        return "grown"

    team.add_tool(grow, structured_output=False)
    told = asyncio.Event()

    async def heard(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            told.set()

    with serve_asgi(team.streamable_http_app()) as upstream:
        async with (
            gateway(served, [f"{upstream}/mcp"], tmp_path / "d.jsonl", expose="all") as url,
            client(url, message_handler=heard) as mcp,
        ):
            assert "translate" not in {tool.name for tool in (await mcp.list_tools()).tools}
            grown = await mcp.call_tool(
                "call_tool", {"name": "grow", "arguments": {"name": "translate"}}
            )
            assert not grown.is_error, grown.content
            await asyncio.wait_for(told.wait(), timeout=10)
            assert "translate" in {tool.name for tool in (await mcp.list_tools()).tools}
            searched = found(await mcp.call_tool("search_tools", {"query": "translate this"}))
            assert searched["tools"]


async def test_agentgym_gateway_serves_a_bundle_as_a_real_process(
    served: Served, tmp_path: Path
) -> None:
    bundle = tmp_path / "support.agm"
    bundle.write_bytes(served.data)
    log = tmp_path / "decisions.jsonl"
    port = free_port()
    command = [sys.executable, "-m", "agentgym.cli", "gateway", "--model", str(bundle)]
    refused = subprocess.run(
        [*command, "--upstream", STDIO, "--host", "0.0.0.0"], capture_output=True, text=True
    )
    assert refused.returncode == 2 and "AGENTGYM_GATEWAY_KEY" in refused.stderr
    # Its model and upstreams from the environment, as a container gives them.
    env = os.environ | {"AGENTGYM_GATEWAY_MODEL": str(bundle),
                        "AGENTGYM_GATEWAY_UPSTREAMS": f"team={STDIO}"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "agentgym.cli", "gateway", "--port", str(port), "--decisions",
         str(log)], env=env,
    )  # fmt: skip
    try:
        url = await serving(port)
        async with client(url) as mcp:
            answer = found(await mcp.call_tool("search_tools", {"query": "reset my password"}))
            assert answer["tools"] and answer["decision_id"].startswith("dec_")
    finally:
        process.terminate()
        process.wait(10)
    assert [json.loads(line)["id"] for line in log.read_text().splitlines()] == [
        answer["decision_id"]
    ]


async def test_agentgym_up_runs_a_gateway_on_request(served: Served, tmp_path: Path) -> None:
    bundle = tmp_path / "support.agm"
    bundle.write_bytes(served.data)
    api, streamer, gateway_port = free_port(), free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "agentgym.cli", "up", "--data-dir", str(tmp_path / "data"),
         "--api-port", str(api), "--streamer-port", str(streamer),
         "--gateway-model", str(bundle), "--gateway-upstream", f"team={STDIO}",
         "--gateway-port", str(gateway_port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Ctrl-C stops everything" in line or process.poll() is not None:
                break
        said = "".join(lines)
        assert f"gateway    http://127.0.0.1:{gateway_port}/mcp" in said, said[-3000:]
        async with client(f"http://127.0.0.1:{gateway_port}/mcp") as mcp:
            answer = found(await mcp.call_tool("search_tools", {"query": "refund my order"}))
            assert answer["tools"]
        for _ in range(100):  # its decisions go to the API beside it, within a second or so
            logged = httpx.get(f"http://127.0.0.1:{api}/api/decisions").json()["items"]
            if logged:
                break
            await asyncio.sleep(0.1)
        assert [item["id"] for item in logged] == [answer["decision_id"]]
    finally:
        process.send_signal(signal.SIGINT)  # as Ctrl-C: everything stops
        process.communicate(timeout=60)


async def test_a_config_file_holds_the_options_and_flags_win_over_it(
    served: Served, tmp_path: Path
) -> None:
    bundle = tmp_path / "support.agm"
    bundle.write_bytes(served.data)
    log = tmp_path / "decisions.jsonl"
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'model = "{bundle}"\nupstream = ["team={STDIO}"]\nport = 1\nexpose = "all"\n'
        f'decisions = "{log}"\n'
    )
    command = [sys.executable, "-m", "agentgym.cli", "gateway", "--config", str(config)]
    for bad, says in (('explore = 2\n', "explore"), ("port = \n", "line 6"),
                      ('upstreams = ["x"]\n', "upstreams")):  # fmt: skip
        wrong = tmp_path / "wrong.toml"
        wrong.write_text(config.read_text() + bad)
        refused = subprocess.run(
            [*command[:-1], str(wrong)], capture_output=True, text=True, timeout=60
        )
        assert refused.returncode == 2 and says in refused.stderr and "wrong.toml" in refused.stderr
    port = free_port()
    process = subprocess.Popen([*command, "--port", str(port)])  # the flag over the file's 1
    try:
        url = await serving(port)
        async with client(url) as mcp:
            names = [tool.name for tool in (await mcp.list_tools()).tools]
            assert "refund" in names  # the file's expose = "all"
            found(await mcp.call_tool("search_tools", {"query": "refund my order"}))
    finally:
        process.terminate()
        process.wait(10)
    assert len(log.read_text().splitlines()) == 1  # to the file's decisions file
