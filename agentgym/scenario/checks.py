"""What a scenario's fields must agree on, once each is valid by itself.

Errors: names that do not resolve (with the closest known one), duplicates, fallbacks that
go nowhere or round in a circle, a solution that needs a tool its task does not offer (its
fallback being offered does not count: a fallback stands in for a tool that fails now and
then, not for one that is missing; a solution names the tools the task offers), sizes over
the Limits, and a split with nothing to train on or nothing to evaluate on.

Warnings: a tool no solution (or fallback) uses, a held-out task that needs a tool no
training task teaches, and the same text asked with different solutions.

Each pass is linear in the file; closest names are only searched for what is reported.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from agentgym.contracts import Split
from agentgym.scenario.inputs import LogIn, Suggester, TaskIn, ToolIn, ToolRead
from agentgym.scenario.limits import Limits
from agentgym.scenario.problems import Collector, Loc, where
from agentgym.scenario.split import HELDOUT_SHARE

TaskRead = tuple[int, TaskIn]  # (index in the file, the task)
GENERATED_ID = "task-{:05d}"  # the id of a task that has none: its 1-based position


@dataclass(slots=True)
class Checking:
    out: Collector
    limits: Limits
    known: set[str]  # every tool name given, valid entry or not (so no error cascades)
    suggest: Suggester

    def name(self, loc: Loc) -> str:
        """How a problem's message refers to another place in the file."""
        return where(self.out.locate(loc) if self.out.locate else loc)

    def unknown(self, loc: Loc, name: str) -> None:
        self.out.error(loc, lambda: f"unknown tool {name!r}{self.suggest(name)}")


def check_tools(reads: Sequence[ToolRead], ctx: Checking) -> None:
    first: dict[str, ToolRead] = {}
    for read in reads:
        tool = read.tool
        if tool is None:
            continue
        if tool.name in first:
            other = ctx.name(first[tool.name].loc("name"))
            ctx.out.error(read.loc("name"), f"duplicate tool name {tool.name!r} (also {other})")
        first.setdefault(tool.name, read)
        _sizes(read, tool, ctx)
        if tool.fallback == tool.name:
            ctx.out.error(read.loc("fallback"), "a tool cannot be its own fallback")
        elif tool.fallback is not None and tool.fallback not in ctx.known:
            ctx.unknown(read.loc("fallback"), tool.fallback)
    _cycles(first, ctx)


def _sizes(read: ToolRead, tool: ToolIn, ctx: Checking) -> None:
    limits = ctx.limits
    size = len(tool.description.encode())
    if size > limits.max_description_bytes:
        ctx.out.error(
            read.loc("description"),
            f"{size} bytes; the limit is {limits.max_description_bytes} (max_description_bytes)",
        )
    if tool.parameters is None:
        return
    if tool.parameters.get("type", "object") != "object":
        ctx.out.error(read.loc("parameters"), 'should be a JSON schema of "type": "object"')
    try:
        size = len(json.dumps(tool.parameters, allow_nan=False, separators=(",", ":")).encode())
    except (TypeError, ValueError, RecursionError):  # built in Python, not read from a file
        ctx.out.error(read.loc("parameters"), "should be JSON (no NaN, no infinity)")
        return
    if size > limits.max_parameters_bytes:
        ctx.out.error(
            read.loc("parameters"),
            f"{size} bytes as JSON; the limit is {limits.max_parameters_bytes} (max_parameters_bytes)",
        )


def _cycles(tools: dict[str, ToolRead], ctx: Checking) -> None:
    """Fallbacks that lead back to where they started (each tool has at most one fallback,
    so following them from every tool once finds every cycle)."""
    step = {
        name: read.tool.fallback
        for name, read in tools.items()
        if read.tool and read.tool.fallback in tools and read.tool.fallback != name
    }
    done: set[str] = set()
    for start in step:
        path: list[str] = []
        on_path: dict[str, int] = {}
        node: str | None = start
        while node in step and node not in done and node not in on_path:
            on_path[node] = len(path)
            path.append(node)
            node = step[node]
        if node is not None and node in on_path:
            cycle = path[on_path[node] :]
            shown = " -> ".join([*cycle, cycle[0]])
            ctx.out.error(tools[cycle[0]].loc("fallback"), f"fallback cycle: {shown}")
        done.update(path)


def assign_ids(
    items: Sequence[tuple[int, TaskIn | LogIn]],
    ctx: Checking,
    section: str = "tasks",
    generated: str = GENERATED_ID,
) -> list[str]:
    """Each task's (or log's) id: its own, or `generated` by its position. A duplicate is an
    error."""
    noun = section.removesuffix("s")
    ids = [item.id or generated.format(index + 1) for index, item in items]
    first: dict[str, int] = {}
    for (index, item), item_id in zip(items, ids, strict=True):
        if item_id in first:
            other = ctx.name((section, first[item_id]))
            if item.id is None:
                msg = f"its generated id {item_id!r} is also the id of {other}: give it an id"
                ctx.out.error((section, index), msg)
            else:
                ctx.out.error(
                    (section, index, "id"), f"duplicate {noun} id {item_id!r} (also {other})"
                )
        else:
            first[item_id] = index
    return ids


def check_tasks(tasks: Sequence[TaskRead], ctx: Checking) -> None:
    limits, out = ctx.limits, ctx.out
    for index, task in tasks:
        loc: Loc = ("tasks", index)
        if not task.text.strip():
            out.error((*loc, "text"), "is empty: say what the user asks")
        else:
            check_text_size((*loc, "text"), task.text, ctx)
        if len(task.solution) > limits.max_steps:
            msg = f"{len(task.solution)} steps; the limit is {limits.max_steps} (max_steps)"
            out.error((*loc, "solution"), msg)
        steps = [((*loc, "solution", step), name) for step, name in enumerate(task.solution)]
        check_called(loc, steps, task.tools, ctx)


def check_called(
    loc: Loc, called: Sequence[tuple[Loc, str]], offered: list[str] | None, ctx: Checking
) -> None:
    """The tools a task's solution or a log's calls name (each at its place): each one the
    scenario has, and one the task or log offers."""
    available = None if offered is None else _available(loc, offered, ctx)
    what = loc[0].removesuffix("s") if loc and isinstance(loc[0], str) else "task"
    for place, name in called:
        if name not in ctx.known:
            ctx.unknown(place, name)
        elif available is not None and name not in available:
            tools_at = ctx.name((*loc, "tools"))
            ctx.out.error(place, f"{name!r} is not among this {what}'s tools: add it to {tools_at}")


def check_text_size(loc: Loc, text: str, ctx: Checking) -> None:
    """A request's text over Limits.max_text_bytes (counted only when it could be)."""
    limit = ctx.limits.max_text_bytes
    if len(text) * 4 > limit and len(text.encode()) > limit:
        ctx.out.error(loc, f"{len(text.encode())} bytes; the limit is {limit} (max_text_bytes)")


def _available(loc: Loc, tools: list[str], ctx: Checking) -> set[str]:
    """The tools a task or log offers (each known, none twice)."""
    seen: set[str] = set()
    for position, name in enumerate(tools):
        if name not in ctx.known:
            ctx.unknown((*loc, "tools", position), name)
        elif name in seen:
            ctx.out.error((*loc, "tools", position), f"{name!r} is listed twice")
        seen.add(name)
    return seen


def check_splits(
    tasks: Sequence[TaskRead],
    splits: Sequence[Split],
    ctx: Checking,
    learned_from_logs: bool = False,
) -> None:
    """A training task and a held-out one at least (`tasks` are the valid ones, not none); or
    held-out ones alone, where training logs with an outcome are what a session learns from."""
    out = ctx.out
    heldout = sum(split == "heldout" for split in splits)
    if heldout == 0:
        out.error(
            ("tasks",), 'no held-out task: leave some tasks\' "split" out, or set it to "heldout"'
        )
    elif heldout == len(tasks) and learned_from_logs:
        return
    elif heldout == len(tasks):
        out.error(
            ("tasks",), 'no training task: leave some tasks\' "split" out, or set it to "train"'
        )
    elif heldout * HELDOUT_SHARE < len(tasks):
        share = 100 // HELDOUT_SHARE
        out.warn(
            ("tasks",),
            f"only {heldout} of {len(tasks)} tasks are held out; at least {share}% is usual",
        )


def warn_unused(
    reads: Sequence[ToolRead],
    tasks: Sequence[TaskRead],
    ctx: Checking,
    called: Collection[str] = (),
) -> None:
    """A tool neither a solution, a fallback nor a logged call uses: it can only ever be a
    mistake."""
    used = {name for _, task in tasks for name in task.solution} | set(called)
    fallbacks = {read.tool.fallback for read in reads if read.tool}
    for read in reads:
        if read.tool and read.tool.name not in used and read.tool.name not in fallbacks:
            what = "no task's solution or logged call" if called else "no task's solution"
            ctx.out.warn(read.loc("name"), f"{what} uses {read.tool.name!r}")


def warn_untaught(
    tasks: Sequence[TaskRead],
    splits: Sequence[Split],
    ctx: Checking,
    logged: Collection[str] = (),
) -> None:
    """A held-out task that needs a tool no training task (nor training log, `logged`) calls:
    evaluating it measures what training could not teach (one warning a tool, at its first
    such task)."""
    taught = set(logged) | {
        name
        for (_, task), split in zip(tasks, splits, strict=True)
        if split == "train"
        for name in task.solution
    }
    untaught: dict[str, tuple[Loc, int]] = {}  # tool -> (first place, held-out tasks needing it)
    for (index, task), split in zip(tasks, splits, strict=True):
        if split != "heldout":
            continue
        counted: set[str] = set()
        for step, name in enumerate(task.solution):
            if name not in taught and name in ctx.known and name not in counted:
                counted.add(name)
                place, count = untaught.get(name, (("tasks", index, "solution", step), 0))
                untaught[name] = (place, count + 1)
    for name, (place, count) in untaught.items():
        others = f" (and {count - 1} more held-out tasks)" if count > 1 else ""
        ctx.out.warn(
            place,
            f"no training task uses {name!r}, so it cannot be learned for this held-out task{others}",
        )


# Fewer held-out tasks than this measure an accuracy too loosely to go by: 30 give about +-18
# points at 95% where the model solves half of them.
FEW_HELDOUT = 30


def warn_small_heldout(tasks: Sequence[TaskRead], splits: Sequence[Split], ctx: Checking) -> None:
    """Too few held-out tasks to say much, and an intent none of whose tasks is trained on."""
    heldout = splits.count("heldout")
    if 0 < heldout < FEW_HELDOUT:
        margin = 100 * 1.96 * (0.25 / heldout) ** 0.5
        ctx.out.warn(
            ("tasks",),
            f"{heldout} held-out tasks: an accuracy measured on them is uncertain by about "
            f"+-{min(margin, 50):.0f} points; add tasks ({FEW_HELDOUT} or more held out, a fifth "
            'of all) or start training with "evaluation": "kfold" (every task then measured)',
        )
    by_intent: dict[str, list[tuple[int, Split]]] = {}
    for (index, task), split in zip(tasks, splits, strict=True):
        if task.intent:
            by_intent.setdefault(task.intent, []).append((index, split))
    for intent, members in by_intent.items():
        if all(split == "heldout" for _, split in members):
            count = (
                "its only task is" if len(members) == 1 else f"all {len(members)} of its tasks are"
            )
            ctx.out.warn(
                ("tasks", members[0][0], "intent"),
                f"intent {intent!r}: {count} held out, so nothing of its kind is trained on; "
                'say "split": "train" on one',
            )


def warn_ambiguous(tasks: Sequence[TaskRead], ctx: Checking) -> None:
    """The same text asked with different solutions: no agent can tell which is meant."""
    first: dict[str, TaskRead] = {}
    for index, task in tasks:
        key = task.text.strip()
        seen = first.setdefault(key, (index, task))
        if seen[1].solution != task.solution:
            other = ctx.name(("tasks", seen[0]))
            ctx.out.warn(
                ("tasks", index, "text"), f"the same text as {other}, with another solution"
            )
