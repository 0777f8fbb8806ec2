"""The team's own MCP servers behind the gateway: one long-lived client session each, over
streamable HTTP (a URL) or stdio (a command the gateway runs), kept connected, with the tools
each lists kept current (it says `notifications/tools/list_changed`: they are listed again).

Each upstream's session is owned by one task (`Upstream.run`): the SDK's sessions must be left
by the task that entered them, and a transport that fails cancels that task, which then
connects again after a pause that doubles up to `RECONNECT_S[1]` (without end: an upstream may
come back any time; a bounded retry library's loop would give up). Calls are made from any task over the shared session. A call an upstream cannot answer
(down, too slow, garbage) is an MCP error result naming it (`isError`), never a hung client.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2
import mcp_types as types
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

logger = logging.getLogger(__name__)

CALL_TIMEOUT_S = 30.0  # an upstream's answer to one call, at most
CONNECT_WAIT_S = 5.0  # how long a call waits for an upstream that is (re)connecting
RECONNECT_S = (0.2, 5.0)  # the pause before connecting again: first, and at most
# Reconnect on these (the session is gone), not on a call's own error or timeout.
GONE = {types.CONNECTION_CLOSED, types.INVALID_REQUEST}
SERVER_INFO = "io.modelcontextprotocol/serverInfo"  # the SDK stamps results with the server's


@dataclass(frozen=True)
class Target:
    """Where an upstream is: `name=` (optional) and a streamable HTTP URL or a command line."""

    name: str
    url: str | None = None
    command: tuple[str, ...] = ()

    @classmethod
    def parse(cls, given: str) -> Target:
        """`[NAME=]URL_OR_COMMAND`; ValueError saying what is wrong."""
        name, _, rest = given.partition("=")
        if not rest or not name.isidentifier():
            name, rest = "", given
        rest = rest.strip()
        if not rest:
            raise ValueError("an upstream is a streamable HTTP URL or a command to run")
        if rest.startswith(("http://", "https://")):
            return cls(name or (urlsplit(rest).hostname or "upstream"), url=rest)
        command = tuple(shlex.split(rest))
        base = command[-1] if len(command) > 1 else command[0]
        return cls(name or base.rsplit("/", 1)[-1].split(".", 1)[0], command=command)


def error_result(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


class Upstream:
    def __init__(
        self,
        target: Target,
        changed: Callable[[], Awaitable[None]],
        headers: dict[str, str] | None = None,
    ) -> None:
        self.target = target
        self.name = target.name
        self.tools: dict[str, types.Tool] = {}  # as it lists them, by name
        self._changed = changed  # called after its tools were listed anew
        self._headers = headers or {}
        self._client: Client | None = None
        self._ready = anyio.Event()
        self._reconnect = anyio.Event()
        self._stopped = False

    @property
    def connected(self) -> bool:
        return self._client is not None

    def _transport(self, http: httpx2.AsyncClient) -> Any:
        if self.target.url is not None:
            return streamable_http_client(self.target.url, http_client=http)
        command, *args = self.target.command
        return StdioServerParameters(command=command, args=args)

    async def run(self) -> None:
        """Keep the session: connect, list the tools, wait until it is gone, again."""
        pause = RECONNECT_S[0]
        while not self._stopped:
            try:
                async with (
                    httpx2.AsyncClient(headers=self._headers, timeout=CALL_TIMEOUT_S) as http,
                    Client(
                        self._transport(http),
                        mode="legacy",  # what today's servers speak; tools/list_changed arrives unasked
                        cache=None,
                        read_timeout_seconds=CALL_TIMEOUT_S,
                        message_handler=self._on_message,
                    ) as client,
                ):
                    self._client = client
                    await self._list()
                    self._ready.set()
                    pause = RECONNECT_S[0]
                    logger.info("upstream %s: connected, %d tools", self.name, len(self.tools))
                    await self._reconnect.wait()
            except Exception as exc:  # the transport failed: its task group ends up here
                logger.warning("upstream %s: %s", self.name, _short(exc))
            finally:
                self._client, self._ready, self._reconnect = None, anyio.Event(), anyio.Event()
            if not self._stopped:
                await anyio.sleep(pause)
                pause = min(pause * 2, RECONNECT_S[1])

    def stop(self) -> None:
        self._stopped = True
        self._reconnect.set()

    async def _list(self) -> None:
        assert self._client is not None
        tools: dict[str, types.Tool] = {}
        cursor: str | None = None
        while True:
            page = await self._client.list_tools(cursor=cursor)
            tools |= {tool.name: tool for tool in page.tools}
            cursor = page.next_cursor
            if not cursor:
                break
        self.tools = tools
        await self._changed()

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification) and self._client is not None:
            try:
                await self._list()
            except MCPError as exc:
                logger.warning("upstream %s: listing its tools again: %s", self.name, exc)

    async def call(self, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        """The upstream's result for tool `name`, unchanged; an error result naming the
        upstream where it cannot answer."""
        with anyio.move_on_after(CONNECT_WAIT_S):
            await self._ready.wait()
        client = self._client
        if client is None:
            return error_result(f"upstream {self.name} is not connected; try again shortly")
        request = types.CallToolRequest(
            params=types.CallToolRequestParams(name=name, arguments=arguments)
        )
        try:
            # The session's own request: no output-schema check, no listing first (the
            # upstream decides what is valid; the gateway passes it on).
            result = await client.session.send_request(request, types.CallToolResult)
        except MCPError as exc:
            if exc.code in GONE:
                self._reconnect.set()
            return error_result(f"upstream {self.name} failed to answer {name}: {exc}")
        except Exception as exc:  # a transport torn mid-call
            self._reconnect.set()
            return error_result(f"upstream {self.name} failed to answer {name}: {_short(exc)}")
        if result.meta and SERVER_INFO in result.meta:
            result.meta = {k: v for k, v in result.meta.items() if k != SERVER_INFO} or None
        return result


def _short(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_short(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"
