"""The client's `loops` against the real API (uvicorn, SQLite, nats-server; no trainer runs
here, so a run asked for stays queued), with `Client` and with `AsyncClient` alike."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from agentgym.client import Conflict, NotFound
from agentgym.loops import Gate, LoopBody, LoopRun, LoopView

from .test_custom_scenarios import scenario_file
from .test_models import make_bundle


async def served(client: Any, scenario_id: str = "shop_support") -> str:
    """A custom scenario with a model named `production`: what a loop needs. Its alias."""
    await client.scenarios.push(scenario_file(scenario_id))
    model = await client.models.import_(make_bundle())
    await client.aliases.set("production", model.id)
    return "production"


async def test_a_loop_is_set_read_changed_and_stopped(client: Any) -> None:
    alias = await served(client)
    made = await client.loops.set("shop_support", alias, every_decisions=500, max_episodes=600)
    assert isinstance(made, LoopView)
    assert (made.scenario_id, made.alias, made.every_decisions) == ("shop_support", alias, 500)
    assert (made.every_seconds, made.gate, made.max_episodes) == (None, Gate(), 600)
    assert (made.tests, made.runs, made.running) == (0, [], None)
    # A set is the whole loop: what it leaves out goes back to its default.
    strict = Gate(estimator="ips", margin=0.02, model_only=True)
    changed = await client.loops.set("shop_support", alias, every_seconds=3600, gate=strict)
    assert (changed.every_decisions, changed.every_seconds, changed.max_episodes) == (
        None,
        3600,
        None,
    )
    assert changed.gate == strict and changed.created_at == made.created_at
    assert await client.loops.get("shop_support") == changed
    given = LoopBody(alias=alias, every_seconds=60, canary=0.1)  # the body itself, as the CLI does
    assert (await client.loops.set("shop_support", given)).canary == 0.1
    with pytest.raises(TypeError):
        await client.loops.set("shop_support", given, every_seconds=120)
    await client.loops.delete("shop_support")
    with pytest.raises(NotFound) as gone:
        await client.loops.get("shop_support")
    assert "PUT /api/scenarios/shop_support/loop" in gone.value.detail  # what to do instead


async def test_a_run_is_queued_once_and_shown_as_the_loops_run(client: Any) -> None:
    await client.loops.set("shop_support", await served(client))
    run = await client.loops.run("shop_support")
    assert isinstance(run, LoopRun)
    assert (run.scenario_id, run.trigger, run.step, run.outcome) == (
        "shop_support",
        "asked",
        "queued",
        None,
    )
    again = await client.loops.run("shop_support")  # no trainer takes it: it is under way still
    assert again.run_id == run.run_id
    view = await client.loops.get("shop_support")
    assert view.running == run.run_id and [r.run_id for r in view.runs] == [run.run_id]


async def test_what_a_loop_refuses_says_what_to_fix(client: Any) -> None:
    alias = await served(client)
    with pytest.raises(Conflict) as builtin:
        await client.loops.set("customer_support", alias)
    assert "built-in" in builtin.value.detail
    with pytest.raises(NotFound) as no_scenario:
        await client.loops.set("nowhere", alias)
    assert "nowhere" in no_scenario.value.detail
    with pytest.raises(NotFound) as no_alias:
        await client.loops.set("shop_support", "staging")
    assert "staging" in no_alias.value.detail
    with pytest.raises(NotFound):  # no loop to run or stop
        await client.loops.run("shop_support")
    with pytest.raises(NotFound):
        await client.loops.delete("shop_support")
    # Checked before anything is sent: the field named.
    with pytest.raises(pydantic.ValidationError) as too_often:
        await client.loops.set("shop_support", alias, every_seconds=5)
    assert "every_seconds" in str(too_often.value)
    with pytest.raises(pydantic.ValidationError):
        await client.loops.set("shop_support", alias, canary=0.9)
