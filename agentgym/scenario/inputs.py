"""A scenario file's fields read and type-checked, each problem located in the file.

The input models are strict (a number written as text is an error, not converted) and
forbid unknown keys, so a misspelt field is named instead of silently dropped. Lists are
read item by item in effect: a bad task is reported and left out, and the good ones are
still checked against each other, so one report lists everything to fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from functools import cache, partial
from typing import Annotated, Any, TypeVar

from pydantic import ConfigDict, Field, Strict, TypeAdapter, ValidationError, field_validator

from agentgym.contracts import Difficulty, Framework, Schema, Split
from agentgym.scenario.definition import (
    EPISODES_BOUNDS,
    LEARNING_RATE_BOUNDS,
    SCENARIO_ID,
    TASK_ID,
    TOOL_NAME,
    Rewards,
    Tool,
)
from agentgym.scenario.problems import Collector, Loc
from agentgym.scenario.tool_shapes import KNOWN_KEYS, ToolEntry, read_tool

MAX_NAME = 128  # characters of a scenario's name
SUGGESTIONS = 20  # distinct names a closest match is searched for, per file
_FRAMEWORKS = {f.value.lower(): f.value for f in Framework}
_PATTERNS = {
    SCENARIO_ID: "should be 1-64 letters, digits, '_' or '-'",
    TOOL_NAME: "should be 1-64 letters, digits, '_', '-' or '.'",
    TASK_ID: "should be 1-128 letters, digits, '_', '-', '.' or ':'",
}
Label = Annotated[str, Field(min_length=1, max_length=128)]
T = TypeVar("T")


class _In(Schema):
    model_config = ConfigDict(strict=True, extra="forbid")


class ToolIn(Tool):
    model_config = ConfigDict(strict=True, extra="forbid")


class RewardsIn(Rewards):
    model_config = ConfigDict(strict=True, extra="forbid")


class TaskIn(_In):
    id: str | None = Field(default=None, pattern=TASK_ID)
    text: str
    solution: list[str]
    intent: str | None = Field(default=None, min_length=1, max_length=128)
    split: Split | None = None
    tools: list[str] | None = None


class LogCallIn(_In):
    tool: str
    succeeded: bool = True
    probability: float | None = Field(default=None, gt=0.0, le=1.0)
    reward: float | None = Field(default=None, ge=-1.0, le=1.0)


class LogIn(_In):
    id: str | None = Field(default=None, pattern=TASK_ID)
    text: str = ""
    tools: list[str] | None = None
    calls: list[LogCallIn]
    reward: float | None = Field(default=None, ge=-1.0, le=1.0)
    time: str | None = None
    user: str | None = Field(default=None, min_length=1, max_length=128)
    split: Split | None = None


class IntRangeIn(_In):
    min: int | None = Field(default=None, ge=EPISODES_BOUNDS[0], le=EPISODES_BOUNDS[1])
    max: int | None = Field(default=None, ge=EPISODES_BOUNDS[0], le=EPISODES_BOUNDS[1])
    default: int | None = Field(default=None, ge=EPISODES_BOUNDS[0], le=EPISODES_BOUNDS[1])


_LO, _HI = LEARNING_RATE_BOUNDS


class FloatRangeIn(_In):
    min: float | None = Field(default=None, ge=_LO, le=_HI)
    max: float | None = Field(default=None, ge=_LO, le=_HI)
    default: float | None = Field(default=None, ge=_LO, le=_HI)


class HyperparametersIn(_In):
    max_episodes: IntRangeIn | None = None
    learning_rate: FloatRangeIn | None = None


class CatalogIn(_In):
    """The top level: `tools` and `tasks` are only required to be lists here."""

    id: str | None = Field(default=None, pattern=SCENARIO_ID)
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    description: str = Field(default="", max_length=8192)
    difficulty: Difficulty = Field(default=Difficulty.INTERMEDIATE, strict=False)
    duration: str | None = Field(default=None, min_length=1, max_length=64)
    rating: float = Field(default=0.0, ge=0.0, le=5.0)
    metrics: list[Label] | None = Field(default=None, max_length=32)
    features: list[Label] | None = Field(default=None, max_length=32)
    frameworks: list[Annotated[Framework, Strict(False)]] | None = Field(default=None, min_length=1)
    hyperparameters: HyperparametersIn | None = None
    rewards: RewardsIn | None = None
    version: str | None = None  # a downloaded file's: read, and recomputed
    tools: list[Any]
    tasks: list[Any] = Field(default_factory=list)  # a scenario of logs alone has none
    logs: list[Any] = Field(default_factory=list)

    @field_validator("frameworks", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        """ "langchain" as well as "LangChain"."""
        if isinstance(value, list):
            return [_FRAMEWORKS.get(v.lower(), v) if isinstance(v, str) else v for v in value]
        return value


def _catalog_fields(loc: Loc) -> list[str]:
    """The fields of the part of the top level where `loc` is."""
    if loc[:1] == ("rewards",):
        return list(RewardsIn.model_fields)
    if loc[:1] == ("hyperparameters",):
        return list(HyperparametersIn.model_fields if len(loc) == 2 else IntRangeIn.model_fields)
    return list(CatalogIn.model_fields)


@cache
def _tools_adapter() -> TypeAdapter[list[ToolIn]]:
    return TypeAdapter(list[ToolIn])


@cache
def _tasks_adapter() -> TypeAdapter[list[TaskIn]]:
    return TypeAdapter(list[TaskIn])


@cache
def _logs_adapter() -> TypeAdapter[list[LogIn]]:
    return TypeAdapter(list[LogIn])


def did_you_mean(name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class Suggester:
    """did_you_mean for one file's unknown names: searched only for names reported, each
    once, and for at most SUGGESTIONS of them, so a file full of unknown names stays fast."""

    def __init__(self, known: Collection[str]) -> None:
        self.known = list(known)
        self.found: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        if name not in self.found:
            if len(self.found) >= SUGGESTIONS:
                return ""
            self.found[name] = did_you_mean(name, self.known)
        return self.found[name]


def report_validation(
    errors: list[Any], out: Collector, locate: Callable[[Loc], Loc], fields: Collection[str]
) -> None:
    """pydantic's errors (`ValidationError.errors()`) as problems, in the same words
    whatever the field; `fields` are those an unknown one may be a misspelling of."""
    for error in errors:
        out.error(locate(tuple(error["loc"])), partial(_message, error, fields))


def _message(error: Any, fields: Collection[str]) -> str:
    kind, value = error["type"], error.get("input")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return f"unknown field{did_you_mean(str(error['loc'][-1]), fields)}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return "should be an object (a mapping)"
    if kind == "string_pattern_mismatch":
        return f"{_PATTERNS.get(error['ctx']['pattern'], 'has characters not allowed')}, not {_short(value)}"
    msg = str(error["msg"]).removeprefix("Value error, ")
    for prefix in ("Input should", "String should", "List should", "Value should"):
        if msg.startswith(prefix):
            msg = "should" + msg[len(prefix) :]
    if isinstance(value, str | int | float | bool) or value is None:
        msg += f", not {_short(value)}"
    return msg


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --- the sections -----------------------------------------------------------------------------


@dataclass(slots=True)
class ToolRead:
    index: int
    entry: ToolEntry
    tool: ToolIn | None  # None: not valid (and reported)

    def loc(self, name: str) -> Loc:
        return ("tools", self.index, *self.entry.path(name))


def _same(loc: Loc) -> Loc:
    return loc


def read_catalog(data: dict[str, Any], out: Collector) -> CatalogIn | None:
    try:
        return CatalogIn.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            report_validation([error], out, _same, _catalog_fields(tuple(error["loc"])))
        return None


def read_tools(raw: object, out: Collector) -> list[ToolRead]:
    if not isinstance(raw, list):
        return []
    reads = [ToolRead(i, read_tool(item), None) for i, item in enumerate(raw)]
    for read in reads:
        for loc, msg in read.entry.problems:
            out.error(("tools", read.index, *loc), msg)
        for loc in read.entry.unknown:
            if read.entry.shape == "plain":
                out.error(
                    ("tools", read.index, *loc),
                    f"unknown field{did_you_mean(str(loc[-1]), KNOWN_KEYS)}",
                )
            else:  # a field of the pasted shape we have no use for
                out.warn(
                    ("tools", read.index, *loc),
                    f"ignored (not part of a {read.entry.shape} tool we read)",
                )
    readable = [r for r in reads if not r.entry.problems]
    items = [r.entry.fields if r.entry.fields is not None else raw[r.index] for r in readable]

    def locate(loc: Loc) -> Loc:
        read = readable[int(loc[0])]
        if len(loc) == 1:
            return ("tools", read.index)
        return (*read.loc(str(loc[1])), *loc[2:])

    for position, tool in _validate_items(_tools_adapter(), items, out, locate, KNOWN_KEYS):
        readable[position].tool = tool
    return reads


def read_tasks(raw: object, out: Collector) -> list[tuple[int, TaskIn]]:
    if not isinstance(raw, list):
        return []
    locate = partial(_prefixed, "tasks")
    return list(_validate_items(_tasks_adapter(), raw, out, locate, TaskIn.model_fields))


def read_logs(raw: object, out: Collector) -> list[tuple[int, LogIn]]:
    if not isinstance(raw, list):
        return []
    locate = partial(_prefixed, "logs")
    fields = {*LogIn.model_fields, *LogCallIn.model_fields}
    return list(_validate_items(_logs_adapter(), raw, out, locate, fields))


def _prefixed(prefix: str, loc: Loc) -> Loc:
    return (prefix, *loc)


def _validate_items(
    adapter: TypeAdapter[list[T]],
    items: list[Any],
    out: Collector,
    locate: Callable[[Loc], Loc],
    fields: Collection[str],
) -> Iterable[tuple[int, T]]:
    """(position, model) of each valid item; the invalid are reported. One validation of the
    whole list, as most files are valid; when some items are not, one more of the others."""
    try:
        return enumerate(adapter.validate_python(items))
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        report_validation(errors, out, locate, fields)
        bad = {error["loc"][0] for error in errors if error["loc"]}
    good = [i for i in range(len(items)) if i not in bad]
    return zip(good, adapter.validate_python([items[i] for i in good]), strict=True)
