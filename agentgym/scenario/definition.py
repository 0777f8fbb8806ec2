"""The normalized scenario definition: what every scenario is, built-in or brought.

A definition is complete (every default filled in, every task's id and split explicit) and
canonical: `dump()` writes the scenario file that reads back to the same definition, and
`version` is the hash of that content, so the same scenario has the same version wherever
it is read. How a file becomes one is agentgym.scenario.parse.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import Field

from agentgym.contracts import (
    Difficulty,
    FloatRange,
    Framework,
    Hyperparameters,
    IntRange,
    Schema,
    Split,
)

SCENARIO_ID = r"^[A-Za-z0-9_-]{1,64}$"
TOOL_NAME = r"^[A-Za-z0-9_.-]{1,64}$"  # OpenAI's rule for function names
TASK_ID = r"^[A-Za-z0-9_.:-]{1,128}$"
MAX_FAILURE_RATE = 0.9  # above that a tool is broken, not flaky: nothing can be learned
VERSION_HEX = 16

# The outer bounds of every scenario's hyperparameter ranges, and the ranges a scenario
# that gives none accepts: runs of up to a million episodes, learning rates around 0.001.
EPISODES_BOUNDS = (1, 1_000_000)
LEARNING_RATE_BOUNDS = (1e-5, 1.0)
DEFAULT_HYPERPARAMETERS = Hyperparameters(
    max_episodes=IntRange(min=1, max=1_000_000, default=2000),
    learning_rate=FloatRange(min=1e-5, max=1.0, default=0.001),
)


class Tool(Schema):
    name: str = Field(pattern=TOOL_NAME)
    description: str = ""  # at most limits.max_description_bytes in a file
    parameters: dict[str, Any] | None = None  # the JSON schema of its arguments, if given
    failure_rate: float = Field(default=0.0, ge=0.0, le=MAX_FAILURE_RATE)  # transient failures
    fallback: str | None = None  # the tool that stands in for it when it fails


class Task(Schema):
    id: str = Field(pattern=TASK_ID)
    text: str = Field(min_length=1)
    solution: list[str]  # tool names, in order; [] means finishing at once is right
    intent: str | None = Field(default=None, min_length=1, max_length=128)
    split: Split
    tools: list[str] | None = None  # the tools available in this task; None: every tool


class LogCall(Schema):
    """A call a logged episode made, as it happened."""

    tool: str = Field(pattern=TOOL_NAME)
    succeeded: bool = True
    # The probability the logging policy gave the tool when it served it, where known: what
    # off-policy learning weighs the call by.
    probability: float | None = Field(default=None, gt=0.0, le=1.0)
    reward: float | None = Field(default=None, ge=-1.0, le=1.0)  # the call's own, if any


class Log(Schema):
    """An episode as an agent played it (a trace, a conversation): no answer key, an outcome
    where one was given. Its text is empty where the trace kept no message content."""

    id: str = Field(pattern=TASK_ID)
    text: str = ""
    tools: list[str] | None = None  # on offer; None: every tool of the scenario
    calls: list[LogCall]
    reward: float | None = Field(default=None, ge=-1.0, le=1.0)  # the episode's outcome
    time: str | None = None  # when it began, ISO 8601 in UTC ("...Z")
    # Whose it was, to delete a person's episodes by: traces keep a hash of their user id.
    user: str | None = Field(default=None, min_length=1, max_length=128)
    split: Split


class Rewards(Schema):
    """What each event of an episode earns (trainer/env.py says why these defaults). Solving
    must pay and a cost must not: each weight has its sign and stays within 10 of zero."""

    solved: float = Field(default=1.0, gt=0.0, le=10.0)  # finishing with the solution done
    progress: float = Field(default=0.5, ge=0.0, le=10.0)  # each step of the solution done
    failed_call: float = Field(default=-0.02, ge=-10.0, le=0.0)  # a transient failure
    mistake: float = Field(default=-0.05, ge=-10.0, le=0.0)  # a tool that is not the next step
    unfinished: float = Field(default=-1.0, ge=-10.0, le=0.0)  # finishing early, or out of steps


class ScenarioDefinition(Schema):
    id: str = Field(pattern=SCENARIO_ID)
    name: str
    description: str
    difficulty: Difficulty
    duration: str
    rating: float = Field(ge=0.0, le=5.0)
    metrics: list[str]
    features: list[str]
    frameworks: list[Framework]
    tools: list[Tool]
    tasks: list[Task]
    logs: list[Log] = Field(default_factory=list)  # episodes agents played (ARCHITECTURE.md)
    hyperparameters: Hyperparameters
    rewards: Rewards
    version: str  # the hash of everything else: see compute_version

    def dump(self) -> bytes:
        """The scenario file (JSON, UTF-8) that reads back to this definition: the catalog
        fields one a line, then each tool and each task on a line of its own."""
        content = file_content(self)
        lists = {key: content.pop(key) for key in ("tools", "tasks", "logs") if key in content}
        head = json.dumps({**content, "version": self.version}, ensure_ascii=False, indent=1)
        parts = [head[: -len("\n}")]]
        for key, items in lists.items():
            lines = ",".join(f"\n  {_compact(item)}" for item in items)
            parts.append(f',\n "{key}": [{lines}\n ]' if items else f',\n "{key}": []')
        parts.append("\n}\n")
        return "".join(parts).encode()

    def counts(self) -> dict[str, int]:
        heldout = sum(task.split == "heldout" for task in self.tasks)
        return {
            "tools": len(self.tools),
            "tasks": len(self.tasks),
            "train": len(self.tasks) - heldout,
            "heldout": heldout,
            "logs": len(self.logs),
            "logs_heldout": sum(log.split == "heldout" for log in self.logs),
            "logs_without_text": sum(not log.text for log in self.logs),
            "logs_with_reward": sum(log.reward is not None for log in self.logs),
        }


def file_content(definition: ScenarioDefinition) -> dict[str, Any]:
    """The definition as its file holds it, without `version`: a tool's, task's or log's
    field that is at its default is left out (a file near the size limit stays under it), and
    `logs` where there are none (a scenario of tasks alone keeps the version it always had)."""
    content = definition.model_dump(mode="json", exclude={"version", "tools", "tasks", "logs"})
    content["tools"] = [_tool(tool) for tool in definition.tools]
    content["tasks"] = [_task(task) for task in definition.tasks]
    if definition.logs:
        content["logs"] = [_log(log) for log in definition.logs]
    return content


def _tool(tool: Tool) -> dict[str, Any]:
    item: dict[str, Any] = {"name": tool.name, "description": tool.description}
    if tool.parameters is not None:
        item["parameters"] = tool.parameters
    if tool.failure_rate:
        item["failure_rate"] = tool.failure_rate
    if tool.fallback is not None:
        item["fallback"] = tool.fallback
    return item


def _task(task: Task) -> dict[str, Any]:
    item: dict[str, Any] = {"id": task.id, "text": task.text, "solution": task.solution}
    if task.intent is not None:
        item["intent"] = task.intent
    item["split"] = task.split
    if task.tools is not None:
        item["tools"] = task.tools
    return item


def _log(log: Log) -> dict[str, Any]:
    item: dict[str, Any] = {"id": log.id, "text": log.text}
    if log.tools is not None:
        item["tools"] = log.tools
    item["calls"] = [
        {"tool": call.tool, **call.model_dump(exclude_defaults=True, exclude={"tool"})}
        for call in log.calls
    ]
    for key in ("reward", "time", "user"):
        if getattr(log, key) is not None:
            item[key] = getattr(log, key)
    item["split"] = log.split
    return item


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def canonical_json(definition: ScenarioDefinition) -> bytes:
    """The definition's content as canonical JSON: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        file_content(definition),
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    ).encode()


def compute_version(definition: ScenarioDefinition) -> str:
    """The version of `definition`: any change to the scenario, and only a change, gives
    another one."""
    return digest(canonical_json(definition))


def digest(content: bytes) -> str:
    """The version of a definition whose canonical_json is `content`: the first hex digits
    of its SHA-256."""
    return hashlib.sha256(content).hexdigest()[:VERSION_HEX]
