"""Logged episodes from what traces said, as it comes: each trace's pieces kept in the
key-value store until a snapshot makes them a scenario's `logs`. Pure: records in, records
and logs out (functions/traces.py does the I/O).

A trace's record (`Pending`) gathers every piece of it that exports brought, in any order and
any number of times (a call is one span, however often it is sent). An outcome sent before
or after its trace is joined to it by trace id; one naming only a `gen_ai.response.id` waits
in a record of its own until a snapshot finds the trace that answered it.

An episode is complete once its trace's root span has come (spans are exported when they
end) and nothing has come for `AGENTGYM_TRACE_IDLE_S` seconds: a snapshot takes the
complete ones; a span or outcome that comes for an episode already taken starts a record the
next snapshot counts as late and leaves out (the episode is in a version a model may have
trained on).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from agentgym.contracts import Schema
from agentgym.records import Record
from agentgym.traces.genai import Piece

_NOT_ID = re.compile(r"[^A-Za-z0-9_.:-]")  # what a log's id may not hold
MAX_CALLS = 256  # a trace's calls kept (agentgym.scenario's max_log_calls)
MAX_TEXT = 8192  # characters of its text kept (max_text_bytes, if every one took a byte)


class PendingCall(Schema):
    span_id: str
    start: int
    tool: str
    succeeded: bool = True
    probability: float | None = None


class Pending(Record):
    """A trace's episode as its exports have told it so far."""

    trace: str = ""  # "" for the outcomes of a response id, waiting for their trace
    conversation: str | None = None
    user: str | None = None
    calls: list[PendingCall] = Field(default_factory=list)
    text: str | None = None
    text_at: int | None = None
    tools: dict[str, str] = Field(default_factory=dict)
    rewards: dict[str, float] = Field(default_factory=dict)  # by the id of what said it
    responses: list[str] = Field(default_factory=list)
    root_ended: bool = False
    start: int = 0
    updated: float = 0.0  # unix seconds of the last piece
    dropped: int = 0  # calls past MAX_CALLS

    def merged(self, piece: Piece, now: float) -> Pending:
        """This record with `piece` added."""
        calls = {call.span_id: call for call in self.calls}
        for call in piece.calls:
            calls.setdefault(call.span_id, PendingCall.model_validate(dataclasses.asdict(call)))
        ordered = sorted(calls.values(), key=lambda c: (c.start, c.span_id))
        text, text_at = self.text, self.text_at
        if piece.text is not None and (text_at is None or piece.text[0] < text_at):
            text_at, text = piece.text[0], piece.text[1][:MAX_TEXT]
        starts = [s for s in (self.start, piece.start) if s]
        return Pending(
            trace=piece.trace,
            conversation=piece.conversation or self.conversation,
            user=piece.user or self.user,
            calls=ordered[:MAX_CALLS],
            text=text,
            text_at=text_at,
            tools={**self.tools, **piece.tools},
            rewards={**self.rewards, **piece.rewards},
            responses=sorted({*self.responses, *piece.responses}),
            root_ended=self.root_ended or piece.root_ended,
            start=min(starts) if starts else 0,
            updated=now,
            dropped=self.dropped + max(0, len(ordered) - MAX_CALLS),
        )

    def with_reward(self, said_by: str, reward: float, now: float) -> Pending:
        return self.model_copy(
            update={"rewards": {**self.rewards, said_by: reward}, "updated": now}
        )

    def complete(self, now: float, idle_s: float) -> bool:
        return self.root_ended and now - self.updated >= idle_s


def response_key(response_id: str) -> str:
    """A response id as a key's last part (it may hold anything)."""
    return hashlib.sha256(response_id.encode()).hexdigest()[:32]


def episode_id(trace: Pending) -> str:
    """The id of the logged episode a trace is (part of)."""
    return _NOT_ID.sub("-", trace.conversation or trace.trace)[:128]


def logs_of(
    traces: Sequence[Pending], by_response: Mapping[str, Pending]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The scenario file's logs of complete traces (a conversation's joined in one), in the
    order they began, and the tools they name with what they were said to do."""
    episodes: dict[str, list[Pending]] = defaultdict(list)
    for trace in traces:
        episodes[episode_id(trace)].append(trace)
    logs: list[dict[str, Any]] = []
    tools: dict[str, str] = {}
    for episode, parts in sorted(
        episodes.items(), key=lambda e: (min(p.start for p in e[1]), e[0])
    ):
        parts.sort(key=lambda p: p.start)
        rewards: dict[str, float] = {}
        for part in parts:
            rewards.update(part.rewards)
            for response in part.responses:
                waiting = by_response.get(response_key(response))
                if waiting is not None:
                    rewards.update(waiting.rewards)
        calls = [call for part in parts for call in part.calls][:MAX_CALLS]
        offered = {name: d for part in parts for name, d in part.tools.items()}
        for name, description in offered.items():
            tools.setdefault(name, description)
        for call in calls:
            tools.setdefault(call.tool, "")
        text = next((part.text for part in parts if part.text), "") or ""
        log: dict[str, Any] = {"id": episode, "text": text}
        if offered:
            log["tools"] = sorted({*offered, *(call.tool for call in calls)})
        log["calls"] = [
            {"tool": c.tool, "succeeded": c.succeeded}
            | ({} if c.probability is None else {"probability": c.probability})
            for c in calls
        ]
        if rewards:
            log["reward"] = max(-1.0, min(1.0, sum(rewards.values()) / len(rewards)))
        user = next((part.user for part in parts if part.user), None)
        if user:
            log["user"] = user
        if parts[0].start:
            moment = datetime.fromtimestamp(parts[0].start / 1e9, UTC)
            log["time"] = moment.isoformat().replace("+00:00", "Z")
        logs.append(log)
    return logs, tools
