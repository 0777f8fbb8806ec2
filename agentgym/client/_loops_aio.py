"""The clients' `loops`: a scenario's improvement loop. Written once, in _loops_aio.py, for
`AsyncClient`; _loops_sync.py, the blocking `Client`'s, is generated from it by `make client` as
sync.py is from aio.py (agentgym/client/_generate.py), so its docstrings are written for both.
A module of its own so that aio.py stays a size one reads (conventions: well under 500 lines)."""

from __future__ import annotations

from typing import Protocol, TypeVar

from agentgym.loops import Gate, LoopBody, LoopRun, LoopView

from . import _loop_calls as calls
from ._calls import Call

T = TypeVar("T")


class Sends(Protocol):
    """What a resource sends its calls through (the client's transport)."""

    async def send(self, call: Call[T]) -> T: ...


class Loops:
    """`/api/scenarios/{id}/loop`: a custom scenario's improvement loop. It serves the
    scenario's decisions under an alias and, when asked or on schedule, runs: snapshot the new
    logs, train a candidate on them, and move the alias to it only when the gate proves it
    better on held-out decisions. Trainers carry the runs out."""

    def __init__(self, transport: Sends) -> None:
        self._t = transport

    async def set(
        self,
        scenario_id: str,
        alias: str | LoopBody,
        *,
        every_decisions: int | None = None,
        every_seconds: int | None = None,
        gate: Gate | None = None,
        shadow: bool = False,
        canary: float = 0.0,
        max_episodes: int | None = None,
    ) -> LoopView:
        """Set the loop up, or change it: the whole of it, as given (what it did so far, its
        tests above all, is kept), from the arguments or a LoopBody in place of `alias`. With
        neither `every_decisions` nor `every_seconds` it runs only when asked (`run`). The
        arguments are checked here first: one out of range raises pydantic's ValidationError,
        naming its field, before anything is sent. NotFound when the scenario or the alias is
        not the caller's; Conflict for a built-in scenario."""
        body = calls.loop_body(
            alias, every_decisions, every_seconds, gate, shadow, canary, max_episodes
        )
        return await self._t.send(calls.set_loop(scenario_id, body))

    async def get(self, scenario_id: str) -> LoopView:
        """The loop as set, its runs (newest first) and the run under way (`running`)."""
        return await self._t.send(calls.get_loop(scenario_id))

    async def run(self, scenario_id: str) -> LoopRun:
        """One run now, queued for a trainer; where a run is under way already, that run (a
        loop never runs twice at once). Read how it ends with `get`."""
        return await self._t.send(calls.run_loop(scenario_id))

    async def delete(self, scenario_id: str) -> None:
        """Stop the loop: no run comes on schedule any more (its runs stay, to read)."""
        await self._t.send(calls.delete_loop(scenario_id))
