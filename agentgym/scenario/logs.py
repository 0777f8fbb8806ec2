"""A scenario's `logs`, once each is valid by itself: episodes agents played, checked against
the scenario's tools, timed and split (ARCHITECTURE.md, "Learning from what agents did").

Errors, each at its place: a tool on offer or called that the scenario does not have (with the
closest name), a call of a tool the log does not offer, a time that is not ISO 8601, and the
Limits' sizes. An empty text is no error: a trace that kept no message content is still an
episode (counted as one without text).

Times are written back in UTC (`2026-12-01T10:00:00Z`), so a download reads back the same. The
split: a log's own; else, of the logs that give a time, the newest fifth is held out (what is
learned from the past must hold on what came after), and of those without one, a fifth by the
hash of their ids, as tasks are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

from agentgym.contracts import Split
from agentgym.scenario.checks import Checking, check_called, check_text_size
from agentgym.scenario.inputs import LogIn
from agentgym.scenario.split import HELDOUT_SHARE, assign_splits

LogRead = tuple[int, LogIn]  # (index in the file, the log)
GENERATED_LOG_ID = "log-{:05d}"


def check_logs(logs: Sequence[LogRead], ctx: Checking) -> list[str | None]:
    """Check each log; returns each one's time in UTC (None: none given, or not readable)."""
    limits, out = ctx.limits, ctx.out
    times: list[str | None] = []
    for index, log in logs:
        loc = ("logs", index)
        check_text_size((*loc, "text"), log.text, ctx)
        if len(log.calls) > limits.max_log_calls:
            msg = f"{len(log.calls)} calls; the limit is {limits.max_log_calls} (max_log_calls)"
            out.error((*loc, "calls"), msg)
        calls = [((*loc, "calls", k, "tool"), call.tool) for k, call in enumerate(log.calls)]
        check_called(loc, calls, log.tools, ctx)
        times.append(None if log.time is None else _utc(log.time, (*loc, "time"), ctx))
    return times


def _utc(text: str, loc: tuple[str | int, ...], ctx: Checking) -> str | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        ctx.out.error(
            loc, f"should be an ISO 8601 time such as 2026-12-01T10:00:00Z, not {text[:40]!r}"
        )
        return None
    if moment.tzinfo is None:
        ctx.out.error(
            loc, f"{text[:40]!r} says no time zone: add one (2026-12-01T10:00:00Z is UTC)"
        )
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def split_logs(
    ids: Sequence[str], logs: Sequence[LogRead], times: Sequence[str | None]
) -> list[Split]:
    """Each log's split: its own; the newest fifth of the timed; a fifth of the rest by id."""
    splits: list[Split | None] = [log.split for _, log in logs]
    timed = [i for i, time in enumerate(times) if time is not None and splits[i] is None]
    timed.sort(key=lambda i: (times[i], ids[i]))
    newest = math.ceil(len(timed) / HELDOUT_SHARE)
    for rank, i in enumerate(timed):
        splits[i] = "heldout" if rank >= len(timed) - newest else "train"
    rest = [i for i, split in enumerate(splits) if split is None]
    by_id = assign_splits([ids[i] for i in rest], [None] * len(rest), [None] * len(rest))
    for i, split in zip(rest, by_id, strict=True):
        splits[i] = split
    return [split or "train" for split in splits]
