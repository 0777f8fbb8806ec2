"""`agentgym aliases list | show | set | rollback`: the API's aliases of models (see
agentgym/aliases.py), through the client. The API is `AGENTGYM_API_URL`, called with
`AGENTGYM_API_KEY`."""

from __future__ import annotations

import argparse

from agentgym.aliases import Alias, AliasChange
from agentgym.config import ClientSettings
from agentgym.scenario_cli import call_api


def _change(change: AliasChange) -> str:
    verb = "rolled back to" if change.rollback else "set to"
    why = f": {change.why}" if change.why else ""
    return f"  {change.at}  {verb} {change.model_id} by {change.by}{why}"


def _line(alias: Alias) -> str:
    return f"{alias.name:<24} {alias.model_id:<32} v{alias.version:<4} {alias.updated_at}"


def run(args: argparse.Namespace) -> int:
    """One `agentgym aliases` command: 0 when the API did it, 1 when it refused (saying why),
    2 when it could not be reached."""
    settings = ClientSettings()
    command = f"aliases {args.aliases_command}"
    if args.aliases_command == "list":
        found = call_api(command, settings, lambda client: client.aliases.list())
        if isinstance(found, int):
            return found
        for alias in found:
            print(_line(alias))
        return 0
    if args.aliases_command == "set":
        done = call_api(
            command, settings, lambda client: client.aliases.set(args.name, args.model, args.why)
        )
    elif args.aliases_command == "rollback":
        done = call_api(
            command, settings, lambda client: client.aliases.rollback(args.name, args.why)
        )
    else:
        done = call_api(command, settings, lambda client: client.aliases.get(args.name))
    if isinstance(done, int):
        return done
    print(_line(done))
    changes = done.history if args.aliases_command == "show" else done.history[-1:]
    for change in changes:
        print(_change(change))
    return 0
