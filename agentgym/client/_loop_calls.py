"""The improvement loop's calls (`/api/scenarios/{id}/loop`, agentgym/loops.py) as data, with no
I/O, as every other call is (_calls.py): kept apart so that neither module grows past reading."""

from __future__ import annotations

from agentgym.loops import Gate, LoopBody, LoopRun, LoopView

from ._calls import Call, _id, _nothing, _one


def _path(scenario_id: str) -> str:
    return f"/api/scenarios/{_id(scenario_id)}/loop"


def loop_body(
    alias: str | LoopBody,
    every_decisions: int | None,
    every_seconds: int | None,
    gate: Gate | None,
    shadow: bool,
    canary: float,
    max_episodes: int | None,
) -> LoopBody:
    """The loop asked for: a LoopBody as it is, or one of the arguments (validated here, so a
    value out of range fails, naming its field, before anything is sent)."""
    if isinstance(alias, LoopBody):
        given = (every_decisions, every_seconds, gate, max_episodes)
        if any(value is not None for value in given) or shadow or canary:
            raise TypeError("pass a LoopBody or keyword arguments, not both")
        return alias
    return LoopBody(
        alias=alias,
        every_decisions=every_decisions,
        every_seconds=every_seconds,
        gate=gate or Gate(),
        shadow=shadow,
        canary=canary,
        max_episodes=max_episodes,
    )


def get_loop(scenario_id: str) -> Call[LoopView]:
    return Call("GET", _path(scenario_id), _one(LoopView))


def set_loop(scenario_id: str, body: LoopBody) -> Call[LoopView]:
    # The body is the whole loop (PUT): what is None is left out, and takes the API's default.
    return Call(
        "PUT",
        _path(scenario_id),
        _one(LoopView),
        json=body.model_dump(mode="json", exclude_none=True),
    )


def run_loop(scenario_id: str) -> Call[LoopRun]:
    return Call("POST", f"{_path(scenario_id)}/run", _one(LoopRun))


def delete_loop(scenario_id: str) -> Call[None]:
    return Call("DELETE", _path(scenario_id), _nothing)
