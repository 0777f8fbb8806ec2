"""Putting a trained model into an agent: its recommendation as the next tool to call.

A `Chooser` asks a model (`from_api`: through the API's act endpoint; `from_bundle`: a
downloaded bundle, in this process) which tool comes next, given the request and the calls
made so far. `tool_choice()` turns its answer into OpenAI's `tool_choice` value, which most
frameworks pass through to the chat model; `agentgym.adapters.langchain` (the `langchain`
extra) binds a LangChain chat model to the recommended tool.

    chooser = Chooser.from_api(Client(), "model_...")
    answer = chooser.choose("I was charged twice", calls=["lookup_order"])
    openai.chat.completions.create(..., tools=tools, tool_choice=tool_choice(answer))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentgym.act import ActAnswer
from agentgym.contracts import Framework

# The frameworks a session may name, and the adapter that serves a model of each.
ADAPTERS: dict[Framework, str] = {
    Framework.LANGCHAIN: "agentgym.adapters.langchain",
}
GENERIC = "agentgym.adapters.tool_choice"  # what serves any other framework

Call = tuple[str, bool] | str  # a tool called (it succeeded), or (tool, succeeded)
Decide = Callable[[str, Sequence[tuple[str, bool]], Sequence[str] | None], ActAnswer]


def adapter_for(framework: Framework) -> str:
    """The adapter that serves a model trained for `framework`."""
    return ADAPTERS.get(framework, GENERIC)


def missing_adapter(framework: Framework) -> str | None:
    """What to tell a user who trains for a framework with no adapter of its own (None: it
    has one)."""
    if framework in ADAPTERS:
        return None
    return (
        f"AgentGym has no {framework} adapter yet: the session trains all the same, and its "
        f"model serves {framework} agents through {GENERIC} (an OpenAI-style tool_choice) "
        "or POST /api/models/{id}/act"
    )


@dataclass(frozen=True)
class Chooser:
    """A trained model's choice of the next tool."""

    decide: Decide

    @classmethod
    def from_api(cls, client: Any, model_id: str) -> Chooser:
        """Ask the API (`agentgym.client.Client`): a trainer answers, the model stays there."""

        def decide(
            text: str, calls: Sequence[tuple[str, bool]], tools: Sequence[str] | None
        ) -> ActAnswer:
            answer: ActAnswer = client.models.act(model_id, text, calls, tools)
            return answer

        return cls(decide)

    @classmethod
    def from_bundle(cls, path: str | Path) -> Chooser:
        """Load a downloaded bundle (`.agm`) and decide in this process (needs numpy and the
        trainer's code, which `pip install agentgym` brings)."""
        from trainer.run import Run

        run, _ = Run.from_bundle(Path(path).read_bytes())

        return cls(run.act)

    def choose(
        self, text: str, calls: Iterable[Call] = (), tools: Sequence[str] | None = None
    ) -> ActAnswer:
        made = [(call, True) if isinstance(call, str) else call for call in calls]
        return self.decide(text, made, tools)


def tool_choice(answer: ActAnswer) -> str | dict[str, Any]:
    """OpenAI's `tool_choice` for the model's answer: the function it plans next; "none" when
    it would finish (its plan from here is empty: answer the user now); "auto" when the model
    is unsure (the request is unlike those it trained on, or one choice is not enough: the
    chat model decides, best among the tools of `answer.prediction_set`)."""
    if answer.unsure or not answer.in_scope:
        return "auto"
    if not answer.plan:
        return "none"
    return {"type": "function", "function": {"name": answer.plan[0]}}
