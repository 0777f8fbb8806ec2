"""The adapters: a trained model's recommendation as OpenAI's `tool_choice`, and in a
LangChain agent's turn, with LangChain's own fake chat model (no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool

from agentgym.act import ActAnswer
from agentgym.adapters import Chooser, adapter_for, tool_choice
from agentgym.adapters.langchain import narrowed, recommend, request_and_calls
from agentgym.contracts import Framework
from trainer import scenarios
from trainer.run import Run
from trainer.training.loop import train

TEXT = "I was charged twice for my order, please refund the second charge"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = Run(scenarios.get("customer_support"), 0.05, seed=0, max_episodes=2000, encoder=None)
    train(run)
    path = tmp_path_factory.mktemp("bundle") / "cs.agm"
    path.write_bytes(run.bundle(Framework.LANGCHAIN)[1])
    return path


@pytest.fixture(scope="module")
def chooser(bundle: Path) -> Chooser:
    return Chooser.from_bundle(bundle)


@pytest.fixture(scope="module")
def tools() -> list[Any]:
    """LangChain tools named as the scenario's."""
    made = []
    for name in scenarios.get("customer_support").tools:

        def run(query: str) -> str:
            return "ok"

        run.__name__ = name
        run.__doc__ = f"{name.replace('_', ' ')} for the customer"
        made.append(tool(run))
    return made


SEEN: list[dict[str, Any]] = []  # what the fake chat model was called with, call by call


class Recording(GenericFakeChatModel):
    """LangChain's fake chat model, with tools bound as real chat models bind them (to its
    calls' keyword arguments), which it records."""

    def bind_tools(self, tools: Any, *, tool_choice: str | None = None, **kwargs: Any) -> Any:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], tool_choice=tool_choice)

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Any:  # type: ignore[override]
        SEEN.append(kwargs)
        return super()._generate(messages, stop, run_manager, **kwargs)


def test_tool_choice_names_the_tool_or_lets_the_chat_model_answer() -> None:
    answer = ActAnswer(
        next="issue_refund", probabilities={}, plan=["issue_refund"], confidence=0.9, in_scope=True
    )
    assert tool_choice(answer) == {"type": "function", "function": {"name": "issue_refund"}}
    assert tool_choice(answer.model_copy(update={"next": "finish", "plan": []})) == "none"
    assert tool_choice(answer.model_copy(update={"in_scope": False})) == "auto"
    assert tool_choice(answer.model_copy(update={"unsure": True})) == "auto"


def test_a_framework_names_the_adapter_that_serves_it() -> None:
    assert adapter_for(Framework.LANGCHAIN) == "agentgym.adapters.langchain"
    assert adapter_for(Framework.CREWAI) == "agentgym.adapters.tool_choice"


def test_the_conversation_gives_the_request_and_the_calls_so_far() -> None:
    conversation = [
        HumanMessage(TEXT),
        AIMessage("", tool_calls=[{"name": "lookup_order", "args": {}, "id": "1"}]),
        ToolMessage("timeout", tool_call_id="1", status="error"),
        AIMessage("", tool_calls=[{"name": "lookup_order", "args": {}, "id": "2"}]),
        ToolMessage("order 42", tool_call_id="2"),
    ]
    assert request_and_calls(conversation) == (
        TEXT,
        [("lookup_order", False), ("lookup_order", True)],
    )
    assert request_and_calls({"messages": conversation})[0] == TEXT


def test_the_recommendation_follows_the_model(chooser: Chooser, tools: list[Any]) -> None:
    expected = chooser.choose(TEXT)
    assert recommend(chooser, tools).invoke([HumanMessage(TEXT)]) == expected
    after = recommend(chooser).invoke({"messages": [
        HumanMessage(TEXT),
        AIMessage("", tool_calls=[{"name": expected.next, "args": {}, "id": "1"}]),
        ToolMessage("done", tool_call_id="1"),
    ]})  # fmt: skip
    assert after.plan == expected.plan[1:]


def test_the_chat_model_is_offered_the_recommended_tool_turn_by_turn(
    chooser: Chooser, tools: list[Any]
) -> None:
    plan = chooser.choose(TEXT).plan
    replies = [
        AIMessage("", tool_calls=[{"name": t, "args": {}, "id": str(i)}])
        for i, t in enumerate(plan)
    ]
    model = Recording(messages=iter([*replies, AIMessage("Refunded.")]))
    SEEN.clear()
    agent = narrowed(model, tools, chooser)
    conversation: list[BaseMessage] = [HumanMessage(TEXT)]
    while True:  # the agent's loop: call the chat model, run the tool it calls, repeat
        reply = agent.invoke(conversation)
        conversation.append(reply)
        if not isinstance(reply, AIMessage) or not reply.tool_calls:
            break
        call = reply.tool_calls[0]
        conversation.append(ToolMessage("ok", tool_call_id=call["id"]))
    assert reply.content == "Refunded."
    offered = [[t["function"]["name"] for t in seen.get("tools", [])] for seen in SEEN]
    assert offered == [[tool] for tool in plan] + [[]]  # one tool each turn, then none
    assert [seen.get("tool_choice") for seen in SEEN] == [*plan, None]


def test_an_off_topic_request_leaves_the_chat_model_every_tool(
    chooser: Chooser, tools: list[Any]
) -> None:
    model = Recording(messages=iter([AIMessage("I cannot tell the weather.")]))
    SEEN.clear()
    narrowed(model, tools, chooser).invoke([HumanMessage("What's the weather in Paris tomorrow?")])
    assert len(SEEN[0]["tools"]) == len(tools) and SEEN[0]["tool_choice"] is None
