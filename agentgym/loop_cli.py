"""`agentgym loop set | show | run | stop SCENARIO`: a scenario's improvement loop (see
agentgym/loops.py), through the client. The API is `AGENTGYM_API_URL`, called with
`AGENTGYM_API_KEY`."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

import pydantic

from agentgym.config import ClientSettings
from agentgym.loops import Gate, Loop, LoopBody, LoopRun, Trial
from agentgym.scenario_cli import call_api


def _flag(field: str) -> str:
    """The option that sets a field of the loop: each field's own name, `--every-seconds`,
    `--margin` (gate.margin), since the options are named after the fields."""
    return "--" + field.replace("_", "-")


def body(args: argparse.Namespace) -> LoopBody | str:
    """The loop the options ask for, or what to fix in them: each field out of range named
    by its option, with the value given and the rule it breaks."""
    try:
        return LoopBody(
            alias=args.alias,
            every_decisions=args.every_decisions,
            every_seconds=args.every_seconds,
            gate=Gate(
                estimator=args.estimator,
                margin=args.margin,
                model_only=args.model_only,
                prospective=args.prospective,
            ),
            shadow=args.shadow,
            canary=args.canary,
            max_episodes=args.max_episodes,
        )
    except pydantic.ValidationError as exc:
        return "; ".join(
            f"{_flag(str(error['loc'][-1]))} {error['input']!r}: {error['msg']}"
            for error in exc.errors()
        )


def _schedule(loop: Loop) -> str:
    every = [
        *([f"every {loop.every_decisions} new decisions"] if loop.every_decisions else []),
        *([f"every {loop.every_seconds} s"] if loop.every_seconds else []),
    ]
    return " or ".join(every) if every else "only when asked (agentgym loop run)"


def _settings(loop: Loop) -> list[str]:
    gate = loop.gate
    model_only = "may promote" if gate.model_only else "never promote"
    episodes = (
        f"{loop.max_episodes} episodes"
        if loop.max_episodes is not None
        else "on each log and task twice (1,000 episodes at least)"
    )
    return [
        f"{loop.scenario_id}: alias {loop.alias}, runs {_schedule(loop)}",
        f"  gate: {gate.estimator}, promotes when the lower bound of candidate minus serving "
        f"exceeds {gate.margin:+g} reward; model-only estimates {model_only}"
        f"{'; tests each candidate on trial, on the decisions after' if gate.prospective else ''}",
        f"  candidates train {episodes}; shadow {'on' if loop.shadow else 'off'}, "
        f"canary {loop.canary:.0%}; {loop.tests} gate tests so far",
        *([_trial(loop.trial)] if loop.trial else []),
    ]


def _trial(trial: Trial) -> str:
    since = datetime.fromtimestamp(trial.since, UTC).isoformat(timespec="seconds")
    return (f"  on trial: {trial.model_id} since {since} (run {trial.run_id}); the next run "
            "tests it on the decisions logged since")  # fmt: skip


def _run_line(run: LoopRun) -> str:
    """When, how it ended (or where it is), why, and its candidate."""
    state = run.outcome or f"({run.step})"
    candidate = run.candidate_model_id or "-"
    return f"  {run.started_at}  {state:<10} {run.why or '-'}  candidate {candidate}"


def run(args: argparse.Namespace) -> int:
    """One `agentgym loop` command: 0 when the API did it, 1 when it refused (saying why),
    2 when the options are wrong or the API could not be reached."""
    settings = ClientSettings()
    command = f"loop {args.loop_command}"
    scenario_id: str = args.scenario
    if args.loop_command == "set":
        wanted = body(args)
        if isinstance(wanted, str):
            print(f"agentgym {command}: {wanted}", file=sys.stderr)
            return 2
        view = call_api(command, settings, lambda c: c.loops.set(scenario_id, wanted))
        if isinstance(view, int):
            return view
        print("\n".join(_settings(view)))
        return 0
    if args.loop_command == "run":
        asked = call_api(command, settings, lambda c: c.loops.run(scenario_id))
        if isinstance(asked, int):
            return asked
        print(f"{asked.run_id}: {asked.step} since {asked.started_at}; "
              f"`agentgym loop show {scenario_id}` tells how it ends")  # fmt: skip
        return 0
    if args.loop_command == "stop":
        stopped = call_api(command, settings, lambda c: c.loops.delete(scenario_id))
        if isinstance(stopped, int):
            return stopped
        print(f"stopped the loop of {scenario_id}: no more runs (its alias stays where it is)")
        return 0
    shown = call_api(command, settings, lambda c: c.loops.get(scenario_id))
    if isinstance(shown, int):
        return shown
    print("\n".join(_settings(shown)))
    if shown.running:
        print(f"  running: {shown.running}")
    print(f"runs ({len(shown.runs)}, newest first):" if shown.runs else "no runs yet")
    for each in shown.runs:
        print(_run_line(each))
    return 0
