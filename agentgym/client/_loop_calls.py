"""The improvement loop's calls (`/api/scenarios/{id}/loop`, agentgym/loops.py) as data, with no
I/O, as every other call is (_calls.py): kept apart so that neither module grows past reading."""

from __future__ import annotations

from agentgym.loops import LoopBody, LoopRun, LoopView

from ._calls import Call, _id, _nothing, _one


def _path(scenario_id: str) -> str:
    return f"/api/scenarios/{_id(scenario_id)}/loop"


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
