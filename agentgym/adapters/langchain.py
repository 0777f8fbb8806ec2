"""A trained model in a LangChain agent: the tool it recommends next, and a chat model bound
to that tool alone (`pip install 'agentgym[langchain]'`, which brings `langchain-core`).

- `recommend(chooser)`: a runnable from the conversation so far (a list of messages, or a
  dict with `messages`, as LangGraph's state is) to the model's `ActAnswer`: the request is
  the first human message; the calls so far are the AI messages' tool calls, a call whose
  ToolMessage has `status="error"` counting as failed.
- `narrowed(chat_model, tools, chooser)`: a runnable that answers like `chat_model` but, at
  each turn, offers it only the recommended tool, forced (`tool_choice`); when the model would
  finish (its plan from here is empty), no tool (the chat model answers the user); when the request is unlike those the
  model trained on, every tool, the chat model choosing alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.utils.function_calling import convert_to_openai_tool

from agentgym.act import ActAnswer
from agentgym.adapters import Chooser

Conversation = Sequence[BaseMessage] | dict[str, Any]


def _messages(conversation: Conversation) -> Sequence[BaseMessage]:
    return conversation["messages"] if isinstance(conversation, dict) else conversation


def request_and_calls(
    conversation: Conversation,
) -> tuple[str, list[tuple[str, bool]]]:
    """The request (the first human message's text) and the tool calls made so far, in
    order, each with whether it succeeded (a ToolMessage with status "error" says not)."""
    messages = _messages(conversation)
    text = next((m.text for m in messages if isinstance(m, HumanMessage)), "")
    failed = {
        m.tool_call_id for m in messages if isinstance(m, ToolMessage) and m.status == "error"
    }
    calls = [
        (call["name"], call.get("id") not in failed)
        for m in messages
        if isinstance(m, AIMessage)
        for call in m.tool_calls
    ]
    return text, calls


def tool_names(tools: Sequence[Any]) -> list[str]:
    """The names of LangChain tools, functions or OpenAI tool dicts."""
    return [convert_to_openai_tool(tool)["function"]["name"] for tool in tools]


def recommend(
    chooser: Chooser, tools: Sequence[Any] | None = None
) -> Runnable[Conversation, ActAnswer]:
    """A runnable: the conversation so far to the model's recommendation (among `tools`, if
    given: those the agent has)."""
    names = None if tools is None else tool_names(tools)

    def choose(conversation: Conversation) -> ActAnswer:
        text, calls = request_and_calls(conversation)
        return chooser.choose(text, calls, names)

    return RunnableLambda(choose, name="agentgym_recommend")


def narrowed(
    chat_model: BaseChatModel, tools: Sequence[Any], chooser: Chooser
) -> Runnable[Conversation, BaseMessage]:
    """`chat_model`, offered at each turn only the tool the trained model recommends; where the
    model is unsure, the tools of its prediction set, to choose among (or answer); for a
    request out of its scope, every tool."""
    by_name = dict(zip(tool_names(tools), tools, strict=True))
    ask = recommend(chooser, tools)

    def answer(conversation: Conversation) -> BaseMessage:
        advice = ask.invoke(conversation)
        messages = list(_messages(conversation))
        if not advice.in_scope:
            bound: Runnable[Any, BaseMessage] = chat_model.bind_tools(tools)
        elif advice.unsure:
            among = [by_name[name] for name in advice.prediction_set if name in by_name]
            bound = chat_model.bind_tools(among) if among else chat_model
        elif not advice.plan:  # it would finish (or only repeat itself): the chat model answers
            bound = chat_model
        else:
            bound = chat_model.bind_tools([by_name[advice.next]], tool_choice=advice.next)
        return bound.invoke(messages)

    return RunnableLambda(answer, name="agentgym_narrowed")
