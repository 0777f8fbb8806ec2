"""`agentgym scenarios validate | push | list`: a scenario file checked here, pushed to the API,
and the API's catalog listed. The API is `AGENTGYM_API_URL`, called with `AGENTGYM_API_KEY`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from agentgym.config import ClientSettings
from agentgym.scenario_file import Problem, ScenarioFileError, parse_scenario

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


def _client(settings: ClientSettings) -> Any:
    import httpx

    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    return httpx.Client(base_url=settings.api_url, headers=headers, timeout=120)


def _failed(command: str, response: Any) -> int:
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text}
    print(
        f"agentgym scenarios {command}: {response.status_code}: {body.get('detail')}",
        file=sys.stderr,
    )
    _show(body.get("errors", []), "error")
    return 1


def push(path: Path, scenario_id: str | None, settings: ClientSettings) -> int:
    """Check the file here, then create the scenario through the API, or store a new version
    of it when its id exists."""
    import httpx

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
    headers = {"Content-Type": media_type(path)}
    try:
        with _client(settings) as api:
            response = api.post(
                "/api/scenarios", content=body, headers=headers, params={"id": definition.id}
            )
            if response.status_code == 409:  # it exists: this is its next version
                response = api.put(f"/api/scenarios/{definition.id}", content=body, headers=headers)
    except httpx.HTTPError as exc:
        print(f"agentgym scenarios push: {settings.api_url}: {exc}", file=sys.stderr)
        return 2
    if response.status_code not in (200, 201):
        return _failed("push", response)
    entry = response.json()
    verb = "created" if response.status_code == 201 else "stored"
    print(
        f"{verb} scenario {entry['id']!r} version {entry['version']}: "
        f"{entry['counts']['tools']} tools, {entry['counts']['tasks']} tasks"
    )
    _show(entry.get("warnings", []), "warning")
    return 0


def list_scenarios(settings: ClientSettings) -> int:
    import httpx

    try:
        with _client(settings) as api:
            response = api.get("/api/scenarios")
    except httpx.HTTPError as exc:
        print(f"agentgym scenarios list: {settings.api_url}: {exc}", file=sys.stderr)
        return 2
    if response.status_code != 200:
        return _failed("list", response)
    for entry in response.json():
        counts = entry.get("counts", {})
        print(
            f"{entry['id']:<28} {entry.get('source', 'builtin'):<8} {entry['version']:<18} "
            f"{counts.get('tools', len(entry.get('tools', []))):>5} tools "
            f"{entry['tasks']:>7} tasks  {entry['name']}"
        )
    return 0
