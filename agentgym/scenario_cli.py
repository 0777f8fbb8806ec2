"""`agentgym scenarios validate | push | list`: a scenario file checked here, pushed to the API,
and the API's catalog listed. The API is `AGENTGYM_API_URL`, called with `AGENTGYM_API_KEY`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from agentgym.config import ClientSettings
from agentgym.scenario.media import FORMATS, media_type
from agentgym.scenario.parse import (
    Problem,
    Report,
    ScenarioDefinition,
    ScenarioFileError,
    parse_scenario,
)

if TYPE_CHECKING:  # the client (httpx) is imported by the commands that call the API
    from agentgym.client import Client

T = TypeVar("T")


def _show(problems: list[dict[str, Any]], kind: str) -> None:
    for problem in problems:  # a scenario's problems say `where`; a request's, `loc`
        where = problem.get("where") or ".".join(map(str, problem.get("loc", ())))
        print(f"  {kind}: {where}: {problem.get('msg', '')}", file=sys.stderr)


def _dicts(problems: list[Problem]) -> list[dict[str, Any]]:
    return [problem.to_dict() for problem in problems]


def _read(
    path: Path, scenario_id: str | None, command: str
) -> tuple[bytes, ScenarioDefinition, Report] | int:
    """(the file's bytes, its definition, its report), or the exit status after saying why
    it could not be read (2) or is not valid (1)."""
    kind = media_type(path)
    if scenario_id is None and FORMATS[kind] == "jsonl":  # chat logs name no scenario
        print(f"agentgym scenarios {command}: {path} is chat JSONL, which names no scenario:"
              " give its id with --id ID", file=sys.stderr)  # fmt: skip
        return 2
    try:
        body = path.read_bytes()
        definition, report = parse_scenario(body, kind, scenario_id=scenario_id)
    except OSError as exc:
        print(f"agentgym scenarios {command}: {exc}", file=sys.stderr)
        return 2
    except ScenarioFileError as exc:
        # Each error once: listed where there is a list, else the message alone.
        problems = _dicts(exc.problems)
        print(f"{path}: not valid" + (":" if problems else f": {exc.message}"), file=sys.stderr)
        _show(problems, "error")
        if exc.report is not None:
            _show(_dicts(exc.report.warnings), "warning")
        return 1
    return body, definition, report


def validate(path: Path, scenario_id: str | None) -> int:
    """Check a scenario file or JSONL here, without the API: 0 when it is valid."""
    read = _read(path, scenario_id, "validate")
    if isinstance(read, int):
        return read
    _, definition, report = read
    counts = definition.counts()
    print(
        f"{path}: valid scenario {definition.id!r} version {definition.version}: "
        f"{counts['tools']} tools, {counts['tasks']} tasks ({counts['heldout']} held out)"
        + (
            f", {counts['logs']} logged episodes ({counts['logs_heldout']} held out)"
            if counts["logs"]
            else ""
        )
    )
    _show(_dicts(report.warnings), "warning")
    return 0


def call_api(command: str, settings: ClientSettings, call: Callable[[Client], T]) -> T | int:
    """`call` with a client of the API, or the exit status after saying why it failed: the
    API unreachable (2), or refusing (1, with its errors). `command`: `scenarios push`, ..."""
    from agentgym.client import ApiConnectionError, ApiError, Client

    try:
        with Client(settings.api_url, settings.api_key or None) as client:
            return call(client)
    except ApiConnectionError as exc:
        print(f"agentgym {command}: {exc}", file=sys.stderr)
        return 2
    except ApiError as exc:
        print(f"agentgym {command}: {exc.status}: {exc.detail}", file=sys.stderr)
        _show(exc.errors, "error")
        return 1


def push(path: Path, scenario_id: str | None, settings: ClientSettings) -> int:
    """Check the file here, then create the scenario through the API, or store a new version
    of it when its id exists."""
    read = _read(path, scenario_id, "push")
    if isinstance(read, int):
        return read
    body, definition, _ = read
    entry = call_api(
        "scenarios push",
        settings,
        lambda client: client.scenarios.push(body, id=definition.id, media_type=media_type(path)),
    )
    if isinstance(entry, int):
        return entry
    verb = "created" if len(entry.versions) <= 1 else f"stored version {len(entry.versions)} of"
    print(
        f"{verb} scenario {entry.id!r}: version {entry.version}, "
        f"{entry.counts.tools} tools, {entry.counts.tasks} tasks"
    )
    _show(entry.warnings, "warning")
    return 0


def list_scenarios(settings: ClientSettings) -> int:
    entries = call_api("scenarios list", settings, lambda client: client.scenarios.list())
    if isinstance(entries, int):
        return entries
    for entry in entries:
        print(
            f"{entry.id:<28} {entry.source:<8} {entry.version:<18} {entry.counts.tools:>5} tools "
            f"{entry.tasks:>7} tasks  {entry.name}"
        )
    return 0
