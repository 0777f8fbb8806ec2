"""A team's own MCP server, as the gateway's tests and benchmarks put one behind it: the
official SDK's `MCPServer` with a scenario's tools (each answers what it was called with), and
a few that fail, stall or check their arguments.

    python -m tests.gateway.upstream stdio [--scenario customer_support | --scenario-file F]
    python -m tests.gateway.upstream http PORT [...]
"""

from __future__ import annotations

import argparse
import json
from importlib import resources
from pathlib import Path
from typing import Any

import anyio
from mcp.server import MCPServer


def tools_of(scenario_id: str, path: Path | None = None) -> list[dict[str, str]]:
    """A scenario's tools (name, description): a built-in's, or a scenario file's (JSON)."""
    if path is not None:
        text = path.read_text()
    else:
        text = (
            resources.files("agentgym.scenario.builtin").joinpath(f"{scenario_id}.json").read_text()
        )
    return [
        {"name": tool["name"], "description": tool.get("description", "")}
        for tool in json.loads(text)["tools"]
    ]


def build(tools: list[dict[str, str]], name: str = "team-tools", extras: bool = True) -> MCPServer:
    server = MCPServer(name, log_level="WARNING")

    def answering(tool: str) -> Any:
        def answer(order_id: str = "", note: str = "") -> str:
            return json.dumps({"tool": tool, "order_id": order_id, "note": note})

        return answer

    for tool in tools:
        server.add_tool(
            answering(tool["name"]),
            name=tool["name"],
            description=tool["description"],
            structured_output=False,
        )

    def refuse_all(reason: str = "") -> str:
        """Always fails: the upstream's own error, to be passed on unchanged."""
        raise ValueError(f"refused: {reason or 'no reason'}")

    def stall(seconds: float = 60.0) -> str:
        """Takes its time."""
        import time

        time.sleep(seconds)
        return "done"

    def strict(count: int) -> str:
        """Needs a whole number."""
        return str(count * 2)

    for extra in (refuse_all, stall, strict) if extras else ():
        server.add_tool(extra, structured_output=False)
    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio", "http"])
    parser.add_argument("port", type=int, nargs="?", default=0)
    parser.add_argument("--scenario", default="customer_support")
    parser.add_argument("--scenario-file", type=Path, default=None)
    parser.add_argument("--no-extras", action="store_true", help="the scenario's tools alone")
    args = parser.parse_args()
    server = build(tools_of(args.scenario, args.scenario_file), extras=not args.no_extras)
    if args.transport == "stdio":
        anyio.run(server.run_stdio_async)
    else:
        import uvicorn

        uvicorn.run(
            server.streamable_http_app(), host="127.0.0.1", port=args.port, log_level="warning"
        )


if __name__ == "__main__":
    main()
