"""`agentgym scenarios validate | push | list`: a scenario file checked here, pushed to the API,
and the API's catalog listed. The API is `AGENTGYM_API_URL`, called with `AGENTGYM_API_KEY`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentgym.config import ClientSettings
from agentgym.scenario_file import Problem, ScenarioFileError, parse_scenario

if TYPE_CHECKING:
    from agentgym.client import ApiError

# A file's media type by its suffix; anything else is read as a JSON or YAML scenario file.
SUFFIX_TYPES = {
    ".json": "application/json",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".jsonl": "application/x-ndjson",
    ".ndjson": "application/x-ndjson",
}


def media_type(path: Path) -> str:
    return SUFFIX_TYPES.get(path.suffix.lower(), "application/yaml")  # YAML reads JSON too


def _show(problems: list[Problem] | list[dict[str, Any]], kind: str) -> None:
    for problem in problems:
        where, msg = (
            (problem["where"], problem["msg"])
            if isinstance(problem, dict)
            else (problem.where, problem.msg)
        )
        print(f"  {kind}: {where}: {msg}", file=sys.stderr)


def validate(path: Path, scenario_id: str | None) -> int:
    """Check a scenario file or JSONL here, without the API: 0 when it is valid."""
    try:
        definition, report = parse_scenario(
            path.read_bytes(), media_type(path), scenario_id=scenario_id
        )
    except OSError as exc:
        print(f"agentgym scenarios validate: {exc}", file=sys.stderr)
        return 2
    except ScenarioFileError as exc:
        print(f"{path}: not valid: {exc.message}", file=sys.stderr)
        _show(exc.problems, "error")
        if exc.report is not None:
            _show(exc.report.warnings, "warning")
        return 1
    counts = definition.counts()
    print(
        f"{path}: valid scenario {definition.id!r} version {definition.version}: "
        f"{counts['tools']} tools, {counts['tasks']} tasks ({counts['heldout']} held out)"
    )
    _show(report.warnings, "warning")
    return 0


def _refused(command: str, error: ApiError) -> int:
    print(f"agentgym scenarios {command}: {error.status}: {error.detail}", file=sys.stderr)
    _show(error.errors, "error")
    return 1


def push(path: Path, scenario_id: str | None, settings: ClientSettings) -> int:
    """Check the file here, then create the scenario through the API, or store a new version
    of it when its id exists."""
    from agentgym.client import ApiConnectionError, ApiError, Client

    try:
        body = path.read_bytes()
        definition, _ = parse_scenario(body, media_type(path), scenario_id=scenario_id)
    except OSError as exc:
        print(f"agentgym scenarios push: {exc}", file=sys.stderr)
        return 2
    except ScenarioFileError as exc:
        print(f"{path}: not valid: {exc.message}", file=sys.stderr)
        _show(exc.problems, "error")
        return 1
    try:
        with Client(settings.api_url, settings.api_key or None) as client:
            entry = client.scenarios.push(body, id=definition.id, media_type=media_type(path))
    except ApiConnectionError as exc:
        print(f"agentgym scenarios push: {exc}", file=sys.stderr)
        return 2
    except ApiError as exc:
        return _refused("push", exc)
    verb = "created" if len(entry.versions) <= 1 else f"stored version {len(entry.versions)} of"
    print(
        f"{verb} scenario {entry.id!r}: version {entry.version}, "
        f"{entry.counts.tools} tools, {entry.counts.tasks} tasks"
    )
    _show(entry.warnings, "warning")
    return 0


def list_scenarios(settings: ClientSettings) -> int:
    from agentgym.client import ApiConnectionError, ApiError, Client

    try:
        with Client(settings.api_url, settings.api_key or None) as client:
            entries = client.scenarios.list()
    except ApiConnectionError as exc:
        print(f"agentgym scenarios list: {exc}", file=sys.stderr)
        return 2
    except ApiError as exc:
        return _refused("list", exc)
    for entry in entries:
        print(
            f"{entry.id:<28} {entry.source:<8} {entry.version:<18} {entry.counts.tools:>5} tools "
            f"{entry.tasks:>7} tasks  {entry.name}"
        )
    return 0
