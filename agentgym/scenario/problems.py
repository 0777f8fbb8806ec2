"""What is wrong with a scenario file, where, and the errors that refuse one.

A problem's `loc` is the path to what is at fault, as pydantic writes it (`("tasks", 12,
"solution", 1)`), and `where` says it the way a person finds it in the file:
`tasks[12].solution[1]`, or `line 37: messages[2].tool_calls[0]` in JSONL (whose locations
start with `"line", 37`). The REST layer answers `ScenarioFileError.to_body()` with
`.status`; nothing here knows about HTTP beyond those two.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from agentgym.errors import AgentGymError

Loc = tuple[str | int, ...]
SHOWN_IN_DETAIL = 3  # problems spelled out in an error's `detail`; `errors` lists them all


def where(loc: Loc) -> str:
    """`("tasks", 12, "solution", 1)` as `tasks[12].solution[1]`; `("line", 37, "messages",
    2)` as `line 37: messages[2]`; the file itself as ""."""
    if len(loc) >= 2 and loc[0] == "line" and isinstance(loc[1], int):
        rest = _path(loc[2:])
        return f"line {loc[1]}: {rest}" if rest else f"line {loc[1]}"
    return _path(loc)


def _path(loc: Loc) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


@dataclass(frozen=True, slots=True)
class Problem:
    loc: Loc
    where: str
    msg: str

    @classmethod
    def at(cls, loc: Loc, msg: str) -> Problem:
        return cls(loc, where(loc), msg)

    def __str__(self) -> str:
        return f"{self.where}: {self.msg}" if self.where else self.msg

    def to_dict(self) -> dict[str, object]:
        """The item of the API's `errors` list."""
        return {"loc": list(self.loc), "where": self.where, "msg": self.msg}


@dataclass(slots=True)
class Report:
    """Errors refuse the file; warnings do not. Past Limits.max_problems of a kind, problems
    are counted in `*_omitted` instead of listed, so a file with a mistake on every line
    still answers a small report."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    errors_omitted: int = 0
    warnings_omitted: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "errors": [p.to_dict() for p in self.errors],
            "warnings": [p.to_dict() for p in self.warnings],
            "errors_omitted": self.errors_omitted,
            "warnings_omitted": self.warnings_omitted,
        }


Message = str | Callable[[], str]  # a callable is only called when the problem is kept


class Collector:
    """Fills a Report. `locate` turns a location in the normalized layout into one in the
    file as sent (JSONL lines); `cap` bounds what is kept."""

    def __init__(self, cap: int, locate: Callable[[Loc], Loc] | None = None) -> None:
        self.report = Report()
        self.cap = cap
        self.locate = locate

    def error(self, loc: Loc, msg: Message) -> None:
        if len(self.report.errors) >= self.cap:
            self.report.errors_omitted += 1
        else:
            self.report.errors.append(self._problem(loc, msg))

    def warn(self, loc: Loc, msg: Message) -> None:
        if len(self.report.warnings) >= self.cap:
            self.report.warnings_omitted += 1
        else:
            self.report.warnings.append(self._problem(loc, msg))

    @property
    def failed(self) -> bool:
        return bool(self.report.errors)

    def _problem(self, loc: Loc, msg: Message) -> Problem:
        if self.locate is not None:
            loc = self.locate(loc)
        return Problem.at(loc, msg if isinstance(msg, str) else msg())


def summary(problems: Sequence[Problem], omitted: int = 0) -> str:
    """The first few problems in one sentence, then how many more there are."""
    text = "; ".join(str(p) for p in problems[:SHOWN_IN_DETAIL])
    more = len(problems) - SHOWN_IN_DETAIL + omitted
    return f"{text} ... and {more} more" if more > 0 else text


# --- errors -----------------------------------------------------------------------------------


class ScenarioFileError(AgentGymError, ValueError):
    """A scenario file refused. `status` is the HTTP status the API answers, `problems` the
    API's `errors` list and the message its `detail`."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    report: Report | None = None  # the whole report (warnings too), once the file was read

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        self.message = message
        self.problems = list(problems)
        super().__init__(message)

    def to_body(self) -> dict[str, object]:
        """The API's error body: `{"detail", "code", "errors"}`."""
        return {
            "detail": self.message,
            "code": self.code,
            "errors": [p.to_dict() for p in self.problems],
        }


class MalformedScenarioError(ScenarioFileError):
    """Not JSON, YAML or JSONL that may be read (syntax, a tag, too deep, a duplicate key,
    NaN); `line` and `column` count from 1 and are None when unknown."""

    def __init__(self, msg: str, line: int | None = None, column: int | None = None) -> None:
        self.line = line
        self.column = column
        at = (
            ""
            if line is None
            else f"line {line}"
            if column is None
            else f"line {line}, column {column}"
        )
        problem = Problem(() if line is None else ("line", line), at, msg)
        super().__init__(str(problem), [problem])


class InvalidScenarioError(ScenarioFileError):
    """Read, but not a scenario that can be trained: `report` holds its errors and the
    warnings found alongside them."""

    status: ClassVar[int] = 422
    code: ClassVar[str] = "invalid"
    report: Report

    def __init__(self, report: Report) -> None:
        self.report = report
        super().__init__(summary(report.errors, report.errors_omitted), report.errors)


class ScenarioTooLargeError(ScenarioFileError):
    """A body over Limits.max_bytes."""

    status: ClassVar[int] = 413
    code: ClassVar[str] = "too_large"

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        msg = f"the scenario file is {size} bytes; the limit is {limit} (max_bytes)"
        super().__init__(msg, [Problem((), "", msg)])


class UnsupportedScenarioTypeError(ScenarioFileError):
    """A media type that is none of JSON, YAML and JSONL."""

    status: ClassVar[int] = 415
    code: ClassVar[str] = "unsupported_media_type"

    def __init__(self, media_type: str, accepted: Sequence[str]) -> None:
        self.media_type = media_type
        msg = f"a scenario file is one of {', '.join(accepted)}, not {media_type!r}"
        super().__init__(msg, [Problem((), "", msg)])
