"""The gateway: an MCP server (the official SDK's low-level `Server`) in front of the team's own
MCP servers, with a trained model in its process choosing among their tools.

Its tools:
- `search_tools` (`{"query", "limit"?, "cursor"?}`): the upstream tools the model ranks first
  for the request (gateway/ranking.py), each with its `name`, and its `description` and
  `inputSchema` exactly as the upstream gave them, and its `probability`; a `decision_id`.
- `call_tool` (`{"name", "arguments"?, "decision_id"?}`): calls **any** upstream tool by name,
  served or not, and answers the upstream's result unchanged: no tool is ever out of reach.
- with `expose="all"`, every upstream tool under its own name too (gateway/catalog.py).

Served over streamable HTTP at `/mcp` (stateful, JSON responses) or stdio. With a `key`, every
HTTP request needs `Authorization: Bearer <key>`; without one the gateway binds to loopback only
and refuses foreign `Host` and `Origin` headers (MCP's guidance for local servers).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import random
import re
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
import mcp_types as types
from anyio.abc import TaskGroup
from mcp.server import Server, ServerRequestContext
from mcp.server.connection import Connection
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from agentgym.decisions import DECISION_ID
from gateway import ranking
from gateway.catalog import Catalog, definition
from gateway.decisions import Recorder, new_id
from gateway.following import Following, Serving
from gateway.upstreams import Target, Upstream, error_result
from trainer.serving import Served

SEARCH, CALL, REPORT = "search_tools", "call_tool", "report_outcome"
MAX_QUERY = 8192  # characters of a search's query
LOOPBACK = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
SESSION_STATE = "agentgym.session"  # where a connection keeps its session's name

SEARCH_TOOL = types.Tool(
    name=SEARCH,
    description=(
        "Find the tools for a request among every tool available. Answers the best tools for "
        "it, most likely first, each with its name, description, inputSchema and probability of "
        "being the right one, and a decision_id to pass to call_tool. When unsure, it answers a "
        "set likely to hold the right tool and says so; next_cursor pages on."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "the user's request, in their words"},
            "limit": {"type": "integer", "minimum": 1, "maximum": ranking.MAX_LIMIT, "default": 5},
            "cursor": {"type": "string", "description": "a previous answer's next_cursor"},
        },
        "required": ["query"],
    },
)
CALL_TOOL = types.Tool(
    name=CALL,
    description=(
        "Call any available tool by name, whether or not search_tools returned it, with its "
        "arguments; answers the tool's result. Pass the decision_id of the search it came from."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "arguments": {"type": "object"},
            "decision_id": {"type": "string"},
        },
        "required": ["name"],
    },
)


REPORT_TOOL = types.Tool(
    name=REPORT,
    description=(
        "Say how a request you searched tools for turned out, from -1 (badly) to 1 (well), "
        "with the decision_id the search gave: what the tool chooser learns from."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "decision_id": {"type": "string"},
            "reward": {"type": "number", "minimum": -1, "maximum": 1},
            "comment": {"type": "string", "maxLength": 2000},
        },
        "required": ["decision_id", "reward"],
    },
)
OWN = (SEARCH_TOOL, CALL_TOOL, REPORT_TOOL)


class Gateway:
    def __init__(
        self,
        served: Served,
        model_id: str,
        targets: Sequence[Target],
        recorder: Recorder,
        expose: str = "search",
        explore: float = 0.0,
        following: Following | None = None,
    ) -> None:
        # One attribute, swapped whole when a followed alias moves: a search reads it once.
        self.serving = Serving(served, model_id)
        self.following = following
        self.recorder = recorder
        self.expose = expose
        self.explore = explore
        self.rng = random.Random()
        self.upstreams = {target.name: Upstream(target, self._refresh) for target in targets}
        self.catalog = Catalog({}, "")
        # The MCP connections served (while their clients keep them): whom to tell that the
        # tools changed. Each keeps in its own state the name its decisions and calls carry,
        # what joins a call that names no decision to the search before it
        # (agentgym/decisions.py).
        self.connections: weakref.WeakSet[Connection] = weakref.WeakSet()

    def _session(self, ctx: ServerRequestContext) -> str:
        """The name of the MCP session (the connection) `ctx` is a request of."""
        # The low-level context hands each request a ServerSession of its own over the
        # connection; SDK 2.3 offers the connection itself on no public attribute.
        connection: Connection = ctx.session._connection
        name = connection.state.get(SESSION_STATE)
        if name is None:
            name = connection.state[SESSION_STATE] = new_id("ses")
            self.connections.add(connection)
        return str(name)

    @property
    def served(self) -> Served:
        return self.serving.served

    @property
    def model_id(self) -> str:
        return self.serving.model_id

    def serve(self, serving: Serving) -> None:
        """Serve other models from the next search on (gateway/following.py)."""
        self.serving = serving

    async def _refresh(self) -> None:
        listed = {name: upstream.tools for name, upstream in self.upstreams.items()}
        before = self.catalog.digest
        self.catalog = Catalog.merge(listed, frozenset(tool.name for tool in OWN))
        if self.expose == "all" and self.catalog.digest != before:
            for connection in list(self.connections):  # clients listing every tool: list again
                with anyio.move_on_after(1.0):
                    await connection.send_tool_list_changed()  # best effort: it never raises

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[TaskGroup]:
        """The upstreams' sessions and the decisions' flushing, for as long as it is entered."""
        async with anyio.create_task_group() as group:
            for upstream in self.upstreams.values():
                group.start_soon(upstream.run)
            group.start_soon(self.recorder.run)
            if self.following is not None:
                group.start_soon(self.following.run, lambda: self.serving, self.serve)
            try:
                yield group
            finally:
                for upstream in self.upstreams.values():
                    upstream.stop()
                group.cancel_scope.cancel()

    # --- MCP handlers -----------------------------------------------------------------------

    async def list_tools(
        self, ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        self._session(ctx)
        tools = list(OWN)
        if self.expose == "all":
            for entry in self.catalog.entries.values():
                tools.append(entry.tool.model_copy(update={"name": entry.name}))
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        self, ctx: ServerRequestContext, params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        arguments = params.arguments or {}
        session = self._session(ctx)
        if params.name == SEARCH:
            return await self.search(arguments, session)
        if params.name == CALL:
            name = arguments.get("name")
            if not isinstance(name, str) or not name:
                return error_result(
                    'call_tool needs the tool\'s name: {"name": ..., "arguments": {...}}'
                )
            inner = arguments.get("arguments")
            if inner is not None and not isinstance(inner, dict):
                return error_result("call_tool's arguments are an object of the tool's arguments")
            decision = arguments.get("decision_id")
            decision_id = decision if isinstance(decision, str) else None
            return await self.call(name, inner, decision_id, session)
        if params.name == REPORT:
            return self.report(arguments)
        if self.expose == "all" and params.name in self.catalog.entries:
            return await self.call(params.name, arguments, None, session)
        return error_result(f"no tool {params.name!r} here: use {SEARCH} and {CALL}")

    async def search(self, arguments: dict[str, Any], session: str) -> types.CallToolResult:
        query, limit, cursor = (
            arguments.get("query"),
            arguments.get("limit", 5),
            arguments.get("cursor"),
        )
        if not isinstance(query, str) or not query.strip():
            return error_result("search_tools needs a query: the user's request, in their words")
        if len(query) > MAX_QUERY:
            return error_result(f"the query is {len(query):,} characters; at most {MAX_QUERY:,}")
        if not isinstance(limit, int) or not 1 <= limit <= ranking.MAX_LIMIT:
            return error_result(f"limit is a whole number from 1 to {ranking.MAX_LIMIT}")
        if cursor is not None and not (isinstance(cursor, str) and cursor.isdigit()):
            return error_result("cursor is a previous answer's next_cursor")
        catalog = self.catalog
        if not catalog.entries:
            return error_result("no upstream has listed any tools yet; try again shortly")
        serving = self.serving
        served, model_id = serving.pick(self.rng)  # the model that decides is the one recorded
        ranked = await anyio.to_thread.run_sync(ranking.rank, served, catalog, query)
        shadowed, shadow_id = None, None
        if serving.shadow is not None and cursor is None:  # scored and logged; it guides exploring
            shadow_model, shadow_id = serving.shadow
            shadowed = await anyio.to_thread.run_sync(ranking.rank, shadow_model, catalog, query)
        guide = None if shadowed is None else shadowed.order[0]
        page = ranking.page(ranked, catalog, limit, cursor, self.explore, self.rng, guide)
        shadow = None
        if shadowed is not None:
            shadow = {"model_id": shadow_id, "served": shadowed.order[: len(page.served)]}
        answer = ranked.answer
        decision_id = new_id("dec")
        tools = [
            definition(catalog.entries[name]) | {"probability": ranked.probabilities.get(name, 0.0)}
            for name in page.served
        ]
        note = None
        if not answer.in_scope:
            note = "the request is unlike those the model learned: a wide set, most likely first"
        elif answer.unsure:
            note = "the model is unsure: the set likely to hold the right tool, most likely first"
        found = {
            "tools": tools,
            "decision_id": decision_id,
            "unsure": answer.unsure,
            "in_scope": answer.in_scope,
            "next_cursor": page.next_cursor,
            "note": note,
        }
        manifest = served.manifest
        self.recorder.record(
            {
                "kind": "decision",
                "id": decision_id,
                "model_id": model_id,
                "scenario_id": manifest.scenario_id,
                "scenario_version": manifest.scenario_version,
                "tools_digest": catalog.digest,
                "text": query,
                "tools": list(catalog.entries),
                "served": page.served,
                "cursor": cursor,
                "probabilities": ranked.probabilities,
                "first_probability": page.first_probability,
                "explored": page.explored,
                "unsure": answer.unsure,
                "in_scope": answer.in_scope,
                "session": session,
                **({"shadow": shadow} if shadow else {}),
            }
        )
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(found))],
            structured_content=found,
        )

    def report(self, arguments: dict[str, Any]) -> types.CallToolResult:
        decision_id, reward = arguments.get("decision_id"), arguments.get("reward")
        comment = arguments.get("comment")
        if not isinstance(decision_id, str) or not re.fullmatch(DECISION_ID, decision_id):
            return error_result("report_outcome needs the decision_id a search_tools answered")
        if isinstance(reward, bool) or not isinstance(reward, int | float) or not -1 <= reward <= 1:
            return error_result("reward is a number from -1 (badly) to 1 (well)")
        if comment is not None and not (isinstance(comment, str) and len(comment) <= 2000):
            return error_result("comment is text of at most 2,000 characters")
        self.recorder.record(
            {
                "kind": "feedback",
                "decision_id": decision_id,
                "scenario_id": self.served.manifest.scenario_id,
                "reward": float(reward),
                "comment": comment,
            }
        )
        return types.CallToolResult(content=[types.TextContent(type="text", text="noted")])

    async def call(
        self, name: str, arguments: dict[str, Any] | None, decision_id: str | None, session: str
    ) -> types.CallToolResult:
        entry = self.catalog.entries.get(name)
        if entry is None:
            return error_result(f"no tool {name!r} in any upstream; {SEARCH} finds them")
        started = time.perf_counter()
        result = await self.upstreams[entry.upstream].call(entry.tool.name, arguments)
        self.recorder.record(
            {
                "kind": "call",
                "id": new_id("call"),
                "scenario_id": self.served.manifest.scenario_id,
                "decision_id": decision_id,
                "tool": name,
                "is_error": bool(result.is_error),
                "latency_ms": 1000 * (time.perf_counter() - started),
                "session": session,
            }
        )
        return result

    # --- transports -------------------------------------------------------------------------

    def mcp_server(self) -> Server:
        return Server(
            "agentgym-gateway",
            version="1.0.0",
            on_list_tools=self.list_tools,
            on_call_tool=self.call_tool,
        )

    def http_app(self, key: str | None) -> Starlette:
        """The streamable HTTP endpoint at /mcp (and /healthz), running the gateway with it."""
        manager = StreamableHTTPSessionManager(
            app=self.mcp_server(),
            json_response=True,
            security_settings=None
            if key
            else TransportSecuritySettings(
                enable_dns_rebinding_protection=True,
                allowed_hosts=LOOPBACK,
                allowed_origins=[f"http://{host}" for host in LOOPBACK],
            ),
        )

        async def health(request: Request) -> JSONResponse:
            connected = {name: u.connected for name, u in self.upstreams.items()}
            return JSONResponse({"upstreams": connected, "tools": len(self.catalog.entries)})

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            async with self.running(), manager.run():
                yield

        app = Starlette(
            routes=[
                Route("/healthz", health),
                Route(
                    "/mcp",
                    endpoint=StreamableHTTPASGIApp(manager),
                    methods=["GET", "POST", "DELETE"],
                ),
            ],
            lifespan=lifespan,
        )
        if key:
            app.add_middleware(BearerKey, key=key)
        return app

    async def serve_stdio(self) -> None:
        from mcp.server.stdio import stdio_server

        server = self.mcp_server()
        async with self.running(), stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())


class BearerKey:
    """Every request to /mcp needs `Authorization: Bearer <key>` (a plain ASGI middleware:
    Starlette's BaseHTTPMiddleware buffers streamed responses)."""

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app = app
        self.expected = f"Bearer {key}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/mcp"):
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                response = PlainTextResponse("a bearer key is needed", status_code=401)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
