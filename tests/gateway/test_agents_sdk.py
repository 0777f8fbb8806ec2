"""An OpenAI Agents SDK agent using the gateway through the SDK's own MCP adapter
(`MCPServerStreamableHttp`), run by its Runner; its model is scripted (nothing calls out): it
searches the tools for the request, calls the first one served with the decision's id, and
says how it went."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trainer.serving import Served

from .test_gateway import STDIO, decisions, gateway


async def test_an_agents_sdk_agent_searches_calls_and_reports_through_the_gateway(
    served: Served, tmp_path: Path
) -> None:
    from agents import Agent, Runner
    from agents.items import ModelResponse
    from agents.mcp import MCPServerStreamableHttp
    from agents.models.interface import Model
    from agents.usage import Usage
    from openai.types.responses import (
        ResponseFunctionToolCall,
        ResponseOutputMessage,
        ResponseOutputText,
    )

    seen: dict[str, Any] = {}

    def text_of(output: Any) -> str:
        """A tool's output as the SDK hands it back: text, or content items."""
        if isinstance(output, str):
            return output
        return "".join(item.get("text", "") for item in output)

    def tool_call(name: str, arguments: dict[str, Any]) -> ResponseFunctionToolCall:
        return ResponseFunctionToolCall(
            type="function_call", call_id=name, name=name, arguments=json.dumps(arguments),
            status="completed",
        )  # fmt: skip

    class Scripted(Model):
        """What an LLM would do with the gateway's three tools, in three turns."""

        async def get_response(
            self, system_instructions: Any, input: Any, model_settings: Any, tools: Any,
            *args: Any, **kwargs: Any,
        ) -> ModelResponse:  # fmt: skip
            seen.setdefault("tools", [tool.name for tool in tools])
            outputs = [item for item in input if isinstance(item, dict)
                       and item.get("type") == "function_call_output"]  # fmt: skip
            if not outputs:
                request = input if isinstance(input, str) else input[0]["content"]
                output: list[Any] = [tool_call("search_tools", {"query": request, "limit": 3})]
            elif len(outputs) == 1:
                found = json.loads(text_of(outputs[0]["output"]))
                seen["found"] = found
                first = found["tools"][0]["name"]
                output = [tool_call("call_tool", {"name": first, "arguments": {"order_id": "A7"},
                                                  "decision_id": found["decision_id"]})]  # fmt: skip
            elif len(outputs) == 2:
                seen["called"] = text_of(outputs[1]["output"])
                decision = seen["found"]["decision_id"]
                output = [tool_call("report_outcome", {"decision_id": decision, "reward": 1})]
            else:
                text = ResponseOutputText(type="output_text", text="Done.", annotations=[])
                output = [ResponseOutputMessage(id="m", type="message", role="assistant",
                                                status="completed", content=[text])]  # fmt: skip
            return ModelResponse(output=output, usage=Usage(), response_id=None)

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

    log = tmp_path / "decisions.jsonl"
    async with (
        gateway(served, [f"team={STDIO}"], log) as url,
        MCPServerStreamableHttp(params={"url": url}, name="tools") as tools,
    ):
        agent = Agent(name="support", mcp_servers=[tools], model=Scripted())
        result = await Runner.run(agent, "I was charged twice, please refund order A7")
    assert result.final_output == "Done."
    assert seen["tools"] == ["search_tools", "call_tool", "report_outcome"]
    assert (
        seen["found"]["tools"][0]["name"]
        == served.act("I was charged twice, please refund order A7", (), None).next
    )
    assert json.loads(seen["called"])["order_id"] == "A7"  # the upstream's answer, unchanged
    kinds = [item["kind"] for item in decisions(log)]
    assert kinds == ["decision", "call", "feedback"]
