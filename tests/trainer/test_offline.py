"""`agentgym train`: a whole run in a real process, its JSON and text reports, and its bundle."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentgym.bundle import unpack
from trainer import scenarios
from trainer.run import Run

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--scenario", "customer_support", "--episodes", "300", "--seed", "7"]


def agentgym_train(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentgym.cli", "train", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def report_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, f"expected one JSON line on stdout, got {result.stdout!r}"
    report: dict[str, Any] = json.loads(lines[0])
    return report


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return report_of(agentgym_train(*ARGS, "--json"))


def test_json_prints_one_object_with_the_runs_figures(report: dict[str, Any]) -> None:
    assert report["scenario_id"] == "customer_support"
    assert report["episodes"] == 300
    assert 0.0 <= report["accuracy"] <= 100.0
    assert 0.0 <= report["heldout_accuracy"] <= 100.0
    assert report["heldout_accuracy"] > 1.0  # percent, not a fraction: 300 episodes learn some
    assert report["episodes_per_second"] > 0
    assert 100 <= report["best_episode"] <= 300  # the model saved, and reported


def test_the_same_seed_prints_the_same_accuracies(report: dict[str, Any]) -> None:
    again = report_of(agentgym_train(*ARGS, "--json"))
    assert again["accuracy"] == report["accuracy"]
    assert again["heldout_accuracy"] == report["heldout_accuracy"]


def test_the_text_report_names_the_heldout_accuracy_and_save_writes_a_bundle(
    report: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "model.agm"
    result = agentgym_train(*ARGS, "--save", path)
    assert result.returncode == 0, result.stderr
    assert "held-out accuracy" in result.stdout
    assert f"{report['heldout_accuracy']:.1f}%" in result.stdout
    assert str(path) in result.stdout

    manifest, weights = unpack(path.read_bytes())
    assert manifest.scenario_id == "customer_support"
    assert manifest.metrics.episodes == 300
    assert manifest.hyperparameters.seed == 7
    assert manifest.weights_size == len(weights) > 0
    # What it reports is the model it saved, as loaded from its bundle.
    assert manifest.metrics.heldout_accuracy == report["heldout_accuracy"]
    loaded, _ = Run.from_bundle(path.read_bytes(), scenarios.get("customer_support"))
    assert loaded.evaluate().accuracy == report["heldout_accuracy"]


def test_an_unknown_scenario_exits_non_zero_naming_the_known_ones() -> None:
    result = agentgym_train("--scenario", "no_such_scenario", "--episodes", "10")
    assert result.returncode != 0
    assert "no_such_scenario" in result.stderr
    for scenario_id in scenarios.SCENARIOS:
        assert scenario_id in result.stderr
    assert result.stdout == ""
