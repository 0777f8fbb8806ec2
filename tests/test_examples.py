"""The example scenarios the README points to are valid, as `agentgym scenarios validate` sees them."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentgym.scenario.media import media_type
from agentgym.scenario.parse import parse_scenario

EXAMPLES = sorted((Path(__file__).parents[1] / "examples" / "scenarios").iterdir())


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_an_example_scenario_is_valid_and_warns_only_that_it_is_small(path: Path) -> None:
    definition, report = parse_scenario(path.read_bytes(), media_type(path), scenario_id=path.stem)
    assert len(report.warnings) == 1  # a few held-out tasks, as an example has
    assert "held-out tasks: an accuracy measured on them" in report.warnings[0].msg
    assert definition.counts()["heldout"] >= 1 and definition.counts()["train"] >= 1


def test_the_cli_validates_the_examples(capsys: pytest.CaptureFixture[str]) -> None:
    from agentgym.cli import main

    assert main(["scenarios", "validate", str(EXAMPLES[0]), "--id", EXAMPLES[0].stem]) == 0
    assert "valid scenario" in capsys.readouterr().out
