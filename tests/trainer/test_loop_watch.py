"""What watching a model a loop run put in service says (trainer/loop_watch.py), pure."""

from __future__ import annotations

import pytest

from agentgym.loops import Watch
from trainer.loop_watch import MIN_WATCHED, judged


def watched(canary: bool, n: int, mean: float) -> Watch:
    return Watch(model_id="model_new", previous_model_id="model_old", floor=0.5, run_id="run_1",
                 canary=canary, since=0.0, n=n, total=mean * n)  # fmt: skip


@pytest.mark.parametrize(
    ("canary", "n", "mean", "act", "starts"),
    [
        (True, MIN_WATCHED - 1, 0.0, None, f"{MIN_WATCHED - 1} decisions with an outcome"),
        (True, MIN_WATCHED, 0.5, "promote", "canary held: mean reward +0.500 over 100"),
        (True, MIN_WATCHED, 0.49, "drop", "canary dropped: mean reward +0.490"),
        (False, MIN_WATCHED, 0.49, "rollback", "rolled back automatically: mean reward +0.490"),
        (False, 5000, 0.7, None, "holding: mean reward +0.700 over 5,000"),
    ],
)
def test_a_watch_judges_only_with_enough_outcomes_and_says_why(
    canary: bool, n: int, mean: float, act: str | None, starts: str
) -> None:
    found = judged(watched(canary, n, mean))
    assert found.act == act and found.why.startswith(starts), found
    if act is not None:
        assert found.why.endswith("against +0.500, the lower bound of model_old")
