"""What `POST /api/training/start` asks, checked against the scenario and the settings: the
queued session it makes, or a 422 saying what to change."""

from __future__ import annotations

import secrets

from agentgym.contracts import SOURCES, TrainingStartRequest, utc_now
from agentgym.records import ScenarioRecord, SessionRecord, SettingsRecord
from agentgym.state import SessionStatus
from functions.errors import HttpError


def new_session(
    body: TrainingStartRequest, scenario: ScenarioRecord, defaults: SettingsRecord, session_id: str
) -> SessionRecord:
    """The queued session a start request asks for, or HttpError(422) saying what to change."""
    check_data(body, scenario)
    framework = body.framework or defaults.framework
    if framework not in scenario.frameworks:
        raise HttpError(
            422, f"framework {framework} is not offered by {scenario.id}; use one of "
            f"{', '.join(scenario.frameworks)}",
        )  # fmt: skip
    ranges = scenario.hyperparameters
    max_episodes = body.max_episodes if body.max_episodes is not None else defaults.maxEpisodes
    learning_rate = body.learning_rate if body.learning_rate is not None else defaults.learningRate
    for name, value, allowed in (
        ("max_episodes", max_episodes, ranges.max_episodes),
        ("learning_rate", learning_rate, ranges.learning_rate),
    ):
        if not allowed.min <= value <= allowed.max:
            source = "" if getattr(body, name) is not None else " (from the settings)"
            raise HttpError(
                422, f"{name}{source} must be between {allowed.min} and {allowed.max} for "
                f"{scenario.id}; got {value}",
            )  # fmt: skip
    return SessionRecord(
        session_id=session_id,
        scenario_id=scenario.id,
        framework=framework,
        status=SessionStatus.QUEUED,
        max_episodes=max_episodes,
        learning_rate=learning_rate,
        seed=body.seed if body.seed is not None else secrets.randbelow(2**32),
        start_time=utc_now(),
        scenario_version=scenario.version,  # trains on this one whatever is pushed later
        sources=None if body.sources is None else sorted(set(body.sources), key=SOURCES.index),
        evaluation=body.evaluation or "holdout",
        warm_start=body.warm_start,  # a model id: functions/training.py resolves an alias
    )


def check_data(body: TrainingStartRequest, scenario: ScenarioRecord) -> None:
    """HttpError(422) where the scenario has no data for what the start asks: training tasks (a
    request and its right tool sequence) for demonstrations, the simulator and k-fold
    evaluation; logs with an outcome for learning from logs."""
    counts = scenario.counts
    tasks, logs = "training tasks", "logs with an outcome"
    has = {tasks: counts.tasks > counts.heldout, logs: counts.logs_with_reward > 0}
    if not any(has.values()):
        raise HttpError(
            422, f"{scenario.id} has neither {tasks} nor {logs}: add tasks (a request and its "
            "right tool sequence), or logged episodes with a reward, to train on",
        )  # fmt: skip
    needs: dict[str, str] = {
        source: logs if source == "logs" else tasks for source in body.sources or ()
    }
    if body.evaluation == "kfold":
        needs["evaluation kfold"] = tasks
    for asked, data in needs.items():
        if not has[data]:
            raise HttpError(
                422, f"{asked} needs {data}, and {scenario.id} has none: leave it out, or add "
                "them to the scenario",
            )  # fmt: skip
