"""`agentgym train` refuses what the API refuses: episodes and learning rates outside the
scenario's published ranges, a seed outside the request's bounds, an unknown scenario."""

from __future__ import annotations

import json

import pytest

from trainer import scenarios

from .test_offline import agentgym_train

RANGES = scenarios.get("customer_support").hyperparameters


def assert_usage_error(args: list[str], flag: str, *expected: str) -> str:
    result = agentgym_train(*args)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "usage: agentgym train" in result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"agentgym train: error: argument {flag}: "), error
    for text in expected:
        assert text in error
    return error


@pytest.mark.parametrize("episodes", ["-5", "0", str(RANGES.max_episodes.max + 1)])
def test_episodes_outside_the_scenarios_range_exit_2_naming_the_flag_and_range(
    episodes: str,
) -> None:
    allowed = RANGES.max_episodes
    assert_usage_error(
        ["--scenario", "customer_support", "--episodes", episodes],
        "--episodes",
        f"between {allowed.min} and {allowed.max}",
        "customer_support",
        f"got {episodes}",
    )


@pytest.mark.parametrize("learning_rate", ["50", "0", "-0.1", "1e-9", "nan", "inf"])
def test_a_learning_rate_outside_the_scenarios_range_exits_2_naming_the_flag_and_range(
    learning_rate: str,
) -> None:
    allowed = RANGES.learning_rate
    assert_usage_error(
        ["--scenario", "customer_support", "--episodes", "1", "--learning-rate", learning_rate],
        "--learning-rate",
        f"between {allowed.min} and {allowed.max}",
    )


def test_a_negative_seed_exits_2_naming_the_flag() -> None:
    assert_usage_error(
        ["--scenario", "customer_support", "--episodes", "1", "--seed", "-1"], "--seed", "got -1"
    )


def test_an_unknown_scenario_exits_2_listing_the_known_ids() -> None:
    error = assert_usage_error(["--scenario", "no_such_scenario"], "--scenario")
    assert "no_such_scenario" in error
    for scenario_id in scenarios.SCENARIOS:
        assert scenario_id in error


def test_the_ends_of_the_ranges_are_accepted() -> None:
    result = agentgym_train(
        "--scenario",
        "customer_support",
        "--episodes",
        str(RANGES.max_episodes.min),
        "--learning-rate",
        str(RANGES.learning_rate.max),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["episodes"] == RANGES.max_episodes.min
    assert report["learning_rate"] == RANGES.learning_rate.max
