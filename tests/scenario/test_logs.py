"""A scenario's `logs`: episodes agents played, read, checked, split by time and written back
(agentgym/scenario/logs.py)."""

from __future__ import annotations

from typing import Any

import pytest

from agentgym.scenario.parse import parse_scenario

from .test_parse import body, errors, parse, scenario


def logs(n: int = 10) -> list[dict[str, Any]]:
    """Logs of two kinds, a day apart each, in no order of time."""
    return [
        {
            "id": f"trace-{i:02d}",
            "text": f"Where is my order {1000 + i}?",
            "calls": [
                {"tool": "lookup_order", "probability": 0.5},
                {"tool": "refund", "succeeded": i % 3 != 0, "reward": -0.1},
            ],
            "reward": 1.0 if i % 2 else -0.5,
            "time": f"2026-11-{(7 * i) % n + 1:02d}T10:00:00Z",
        }
        for i in range(n)
    ]


def test_logs_are_read_counted_and_written_back_unchanged() -> None:
    definition, warnings = parse(scenario(logs=logs()))
    assert warnings == []
    first = definition.logs[0]
    assert first.calls[0].probability == 0.5 and first.calls[1].succeeded is False
    counts = definition.counts()
    assert (counts["logs"], counts["logs_heldout"], counts["logs_with_reward"]) == (10, 2, 10)
    again, _ = parse_scenario(definition.dump(), "application/json")
    assert again == definition and again.version == definition.version
    without = parse(scenario())[0]
    assert without.version != definition.version and "logs" not in without.dump().decode()


def test_the_newest_fifth_is_held_out_and_a_logs_own_split_kept() -> None:
    given = logs()
    given[0]["split"] = "heldout"  # the oldest, but said so
    definition, _ = parse(scenario(logs=given))
    heldout = sorted(log.time or "" for log in definition.logs if log.split == "heldout")
    timed = sorted(log.time or "" for log in definition.logs[1:])
    assert heldout == sorted([definition.logs[0].time or "", *timed[-2:]])


def test_times_are_read_in_any_zone_and_written_in_utc() -> None:
    given = logs(2)
    given[0]["time"] = "2026-12-02T11:30:00+01:00"
    definition, _ = parse(scenario(logs=given))
    assert definition.logs[0].time == "2026-12-02T10:30:00Z"


def test_a_log_without_text_or_tools_list_is_an_episode_still() -> None:
    definition, _ = parse(scenario(logs=[{"calls": [{"tool": "refund"}]}]))
    (log,) = definition.logs
    # A fifth of one, rounded up, as for tasks: what is learned from logs is measured on some.
    assert (log.id, log.text, log.tools, log.reward, log.split) == (
        "log-00001",
        "",
        None,
        None,
        "heldout",
    )
    assert definition.counts()["logs_without_text"] == 1


def test_a_scenario_of_logs_alone_is_one_and_of_neither_is_refused() -> None:
    definition, _ = parse({"id": "traced", "tools": scenario()["tools"], "logs": logs()})
    assert definition.tasks == [] and len(definition.logs) == 10
    assert errors({"id": "traced", "tools": scenario()["tools"]}) == [
        "tasks: is required: a scenario needs tasks to train on and to hold out, or logs"
    ]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"calls": [{"tool": "refnd"}]}, "logs[0].calls[0].tool: unknown tool 'refnd' (did you mean 'refund'?)"),
        ({"tools": ["lookup_order"], "calls": [{"tool": "refund"}]}, "logs[0].calls[0].tool: 'refund' is not among this log's tools"),
        ({"calls": [{"tool": "refund", "probability": 0}]}, "logs[0].calls[0].probability: should be greater than 0"),
        ({"calls": [{"tool": "refund", "probability": 1.5}]}, "logs[0].calls[0].probability: should be less than or equal to 1"),
        ({"reward": 2}, "logs[0].reward: should be less than or equal to 1"),
        ({"calls": [{"tool": "refund", "reward": -1.5}]}, "logs[0].calls[0].reward: should be greater than or equal to -1"),
        ({"time": "yesterday"}, "logs[0].time: should be an ISO 8601 time"),
        ({"time": "2026-12-03T09:00:00"}, "logs[0].time: '2026-12-03T09:00:00' says no time zone"),
        ({"calls": [{"tool": "refund", "ok": True}]}, "logs[0].calls[0].ok: unknown field"),
        ({"calls": [{"tool": "refund"}] * 257}, "logs[0].calls: 257 calls; the limit is 256"),
        ({"id": "trace-01"}, "logs[1].id: duplicate log id 'trace-01' (also logs[0])"),
    ],
)  # fmt: skip
def test_a_bad_log_is_refused_at_its_place(change: dict[str, Any], says: str) -> None:
    given = logs(3)
    given[0] = {**given[0], **change}
    found = errors(scenario(logs=given))
    assert any(error.startswith(says) for error in found), found


def test_too_many_logs_are_refused_before_any_is_read() -> None:
    from agentgym.scenario.limits import Limits
    from agentgym.scenario.problems import ScenarioFileError

    with pytest.raises(ScenarioFileError, match="max_logs"):
        parse_scenario(body(scenario(logs=logs(5))), "application/json", limits=Limits(max_logs=4))
