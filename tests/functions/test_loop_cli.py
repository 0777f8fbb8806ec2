"""`agentgym loop set | show | run | stop` against the real API (uvicorn, SQLite, nats-server;
no trainer runs here, so a run asked for stays queued)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from agentgym import cli, loops
from agentgym.loops import LoopRecord, LoopRunRecord, Trial, Verdict
from agentgym.records import Keys, modify
from agentgym.store import KeyValueStore

from .test_custom_scenarios import post, scenario_file
from .test_models import make_bundle, post_bundle


@pytest.fixture
def shop(api: httpx.Client, base_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A custom scenario with a model named `production`, and the CLI pointed at the API."""
    monkeypatch.setenv("AGENTGYM_API_URL", base_url)
    assert post(api, scenario_file("shop")).status_code == 201
    model_id = post_bundle(api, make_bundle()).json()["id"]
    assert api.put("/api/aliases/production", json={"model_id": model_id}).is_success
    return "shop"


def test_set_then_show_says_the_loop_as_set(api: httpx.Client, shop: str, capsys: Any) -> None:
    assert cli.main(["loop", "set", shop, "--alias", "production", "--every-decisions", "500",
                     "--every-seconds", "3600", "--margin", "0.02", "--estimator", "ips",
                     "--model-only", "--prospective", "--max-episodes", "600"]) == 0  # fmt: skip
    said = capsys.readouterr().out
    assert "shop: alias production, runs every 500 new decisions or every 3600 s" in said
    assert "ips" in said and "+0.02" in said and "may promote" in said and "600 episodes" in said
    assert "tests each candidate on trial, on the decisions after" in said
    loop = api.get(f"/api/scenarios/{shop}/loop").json()
    assert (loop["every_decisions"], loop["every_seconds"], loop["max_episodes"]) == (
        500,
        3600,
        600,
    )
    assert loop["gate"] == {
        "estimator": "ips",
        "margin": 0.02,
        "model_only": True,
        "prospective": True,
    }
    # Set again: the whole loop, what is not given back to its default.
    assert cli.main(["loop", "set", shop, "--alias", "production"]) == 0
    assert "runs only when asked" in capsys.readouterr().out
    loop = api.get(f"/api/scenarios/{shop}/loop").json()
    assert (loop["every_decisions"], loop["every_seconds"], loop["gate"]["estimator"]) == (
        None,
        None,
        "dr",
    )
    assert cli.main(["loop", "show", shop]) == 0
    shown = capsys.readouterr().out
    assert (
        shown.splitlines()[0] == "shop: alias production, runs only when asked (agentgym loop run)"
    )
    assert shown.splitlines()[-1] == "no runs yet"


async def test_show_gives_each_run_a_line_when_outcome_why_candidate(
    api: httpx.Client, store: KeyValueStore, shop: str, capsys: Any
) -> None:
    assert cli.main(["loop", "set", shop, "--alias", "production"]) == 0
    # An ended run, as a trainer records it (tests/trainer/test_loop_runs.py makes real ones).
    why = "promoted: +4.1 points [+1.2, +7.0], n_eff 1,840"
    verdict = Verdict(test=1, difference=0.041, lower=0.012, upper=0.07, alpha=0.025, n=220,
                      ess=1840.0, promote=True)  # fmt: skip
    ended = LoopRunRecord(
        run_id=loops.new_run_id(time.time() - 3600), scenario_id=shop, trigger="schedule", step="done",
        outcome="promoted", why=why, candidate_model_id="model_cand", verdict=verdict,
        started_at="2026-12-07T20:00:00+00:00",
    )  # fmt: skip
    await loops.save_run(store, Keys(), ended)
    trial = Trial(model_id="model_trial", since=1796500000.0, run_id=ended.run_id)
    await modify(store, Keys().loop(shop), LoopRecord,
                 lambda loop: loop.model_copy(update={"trial": trial}))  # fmt: skip
    capsys.readouterr()
    assert cli.main(["loop", "run", shop]) == 0
    asked = capsys.readouterr().out
    run_id = asked.split(":")[0]
    assert run_id.startswith("run_") and ": queued since " in asked
    assert cli.main(["loop", "run", shop]) == 0  # under way still (no trainer): the same run
    assert capsys.readouterr().out.split(":")[0] == run_id
    assert cli.main(["loop", "show", shop]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"  running: {run_id}" in lines
    assert (
        f"  on trial: model_trial since 2026-12-05T19:46:40+00:00 (run {ended.run_id}); "
        "the next run tests it on the decisions logged since"
    ) in lines
    runs = lines[lines.index("runs (2, newest first):") + 1 :]
    assert "(queued)" in runs[0] and runs[0].endswith("candidate -")
    assert runs[1] == f"  2026-12-07T20:00:00+00:00  promoted   {why}  candidate model_cand"


def test_stop_ends_the_loop_and_show_then_says_how_to_set_one(shop: str, capsys: Any) -> None:
    assert cli.main(["loop", "set", shop, "--alias", "production", "--every-seconds", "60"]) == 0
    assert cli.main(["loop", "stop", shop]) == 0
    assert "stopped the loop of shop" in capsys.readouterr().out
    assert cli.main(["loop", "show", shop]) == 1
    assert "404" in (err := capsys.readouterr().err) and "PUT /api/scenarios/shop/loop" in err
    assert cli.main(["loop", "stop", shop]) == 1  # none to stop


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (
            ["--every-seconds", "5"],
            "--every-seconds 5: Input should be greater than or equal to 10",
        ),
        (
            ["--every-decisions", "0"],
            "--every-decisions 0: Input should be greater than or equal to 1",
        ),
        (["--margin", "3"], "--margin 3.0: Input should be less than or equal to 2"),
        (["--margin", "nan"], "--margin nan: Input should be a finite number"),
        (["--canary", "0.9"], "--canary 0.9: Input should be less than or equal to 0.5"),
    ],
)
def test_an_option_out_of_range_is_named_with_its_rule(
    shop: str, capsys: Any, options: list[str], says: str
) -> None:
    assert cli.main(["loop", "set", shop, "--alias", "production", *options]) == 2
    assert says in capsys.readouterr().err


def test_what_the_api_refuses_is_said_and_is_1(shop: str, capsys: Any) -> None:
    assert cli.main(["loop", "set", "customer_support", "--alias", "production"]) == 1
    assert "409" in (err := capsys.readouterr().err) and "built-in" in err
    assert cli.main(["loop", "set", shop, "--alias", "staging"]) == 1
    assert "404" in (err := capsys.readouterr().err) and "staging" in err
    assert cli.main(["loop", "set", shop, "--alias", "Bad"]) == 1
    assert "422" in (err := capsys.readouterr().err) and "lowercase" in err
    assert cli.main(["loop", "run", shop]) == 1  # no loop yet
    assert "has no loop" in capsys.readouterr().err


def test_an_unknown_estimator_is_refused_by_the_parser(capsys: Any) -> None:
    with pytest.raises(SystemExit) as refused:
        cli.main(["loop", "set", "shop", "--alias", "production", "--estimator", "snips"])
    assert refused.value.code == 2 and "invalid choice: 'snips'" in capsys.readouterr().err
