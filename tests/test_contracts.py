"""The seed's field names and shapes, and the messages that cross NATS."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from agentgym.contracts import (
    ModelInfo,
    Settings,
    SettingsUpdate,
    TrainingStartRequest,
    TrainingStartResponse,
    TrainingStatus,
    format_elapsed,
)
from agentgym.messages import ControlMessage, StatusEvent, TrainCommand, TrainingUpdate
from agentgym.records import Keys, ModelRecord, SessionRecord, SettingsRecord
from agentgym.state import SessionStatus
from agentgym.store import check_key

SEED_STATUS_FIELDS = [
    "session_id", "scenario_id", "framework", "status", "current_episode", "max_episodes",
    "accuracy", "avg_reward", "loss", "start_time", "elapsed_time",
]  # fmt: skip
SEED_MODEL_FIELDS = [
    "id", "name", "scenario", "framework", "accuracy", "episodes", "created_at", "size_mb",
]  # fmt: skip
SEED_SETTINGS_FIELDS = [
    "framework", "llmProvider", "maxEpisodes", "learningRate", "autoSave", "openaiKey",
    "anthropicKey",
]  # fmt: skip


def new_session(**overrides: object) -> SessionRecord:
    fields: dict[str, object] = {
        "session_id": "session_1",
        "scenario_id": "customer_support",
        "framework": "LangChain",
        "status": "queued",
        "max_episodes": 200,
        "learning_rate": 0.001,
        "seed": 7,
    }
    return SessionRecord.model_validate(fields | overrides)


def test_seed_start_example_body_is_accepted() -> None:
    body = {
        "scenario_id": "customer_support",
        "framework": "LangChain",
        "max_episodes": 200,
        "learning_rate": 0.001,
    }
    request = TrainingStartRequest.model_validate(body)
    assert request.framework == "LangChain" and request.max_episodes == 200


def test_start_accepts_nulls_that_the_seed_ui_sends_for_cleared_fields() -> None:
    request = TrainingStartRequest.model_validate(
        {"scenario_id": "code_review", "framework": None, "max_episodes": None}
    )
    assert request.max_episodes is None and request.learning_rate is None


@pytest.mark.parametrize(
    "body",
    [
        {"scenario_id": "x", "framework": "Haystack"},
        {"scenario_id": "x", "max_episodes": 0},
        {"scenario_id": "x", "learning_rate": -1},
        {"scenario_id": "x", "max_episodes": "many"},
        {"scenario_id": "x", "unknown_field": 1},
        {"framework": "LangChain"},
    ],
)
def test_bad_start_bodies_are_rejected(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        TrainingStartRequest.model_validate(body)


def test_start_response_is_the_seeds_then_ours() -> None:
    dumped = TrainingStartResponse(session_id="s").model_dump()
    assert list(dumped.items())[:2] == [("session_id", "s"), ("status", "started")]
    assert list(dumped)[2:] == ["adapter", "notice"]  # which adapter serves its framework


def test_status_has_the_seed_fields_in_order_and_numbers_from_the_start() -> None:
    status = new_session().status_view()
    dumped = status.model_dump(mode="json")
    assert list(dumped)[: len(SEED_STATUS_FIELDS)] == SEED_STATUS_FIELDS
    for field in ("current_episode", "accuracy", "avg_reward", "loss", "heldout_accuracy"):
        assert isinstance(dumped[field], int | float), field
    assert dumped["elapsed_time"] == "0:00:00"
    assert dumped["status"] == "queued"


def test_status_view_leaves_out_what_only_processes_need() -> None:
    record = new_session(pending="pause", idempotency_key="k", last_seq=3)
    view = record.status_view().model_dump()
    assert view["pending"] == "pause"  # shown: a pause answered before the trainer acts on it
    assert "idempotency_key" not in view and "last_seq" not in view and "owner" not in view
    assert set(view) == set(TrainingStatus.model_fields) | set(TrainingStatus.model_computed_fields)
    assert view["actions"] == ["stop"] and view["deletable"] is False  # a pause is pending


def test_records_round_trip_through_bytes() -> None:
    record = new_session(status="running", current_episode=12, accuracy=55.5)
    assert SessionRecord.load(record.dump()) == record
    settings = SettingsRecord(openaiKey="sk-secret")
    assert SettingsRecord.load(settings.dump()).openaiKey == "sk-secret"


def test_model_info_has_the_seed_fields() -> None:
    record = ModelRecord(
        id="model_1", name="customer_support_langchain", scenario="customer_support",
        framework="LangChain", accuracy=89.2, episodes=200, created_at="2024-01-15T10:30:00",
        size_mb=0.2, session_id="session_1", bundle="models/model_1.agm", sha256="0" * 64,
        learning_rate=0.001, seed=7,
    )  # fmt: skip
    assert list(record.info().model_dump()) == SEED_MODEL_FIELDS
    assert isinstance(ModelInfo.model_validate(record.info().model_dump()), ModelInfo)


def test_settings_defaults_are_the_seeds() -> None:
    assert Settings().model_dump(mode="json") == {
        "framework": "LangChain",
        "llmProvider": "OpenAI",
        "maxEpisodes": 200,
        "learningRate": 0.001,
        "autoSave": True,
        "openaiKey": "",
        "anthropicKey": "",
    }
    assert list(Settings.model_fields) == SEED_SETTINGS_FIELDS


def test_settings_update_keeps_only_given_fields() -> None:
    update = SettingsUpdate.model_validate({"maxEpisodes": 500})
    assert update.model_dump(exclude_unset=True) == {"maxEpisodes": 500}
    with pytest.raises(ValidationError):
        SettingsUpdate.model_validate({"learningRate": 0})


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0:00:00"), (59.9, "0:00:59"), (61, "0:01:01"), (3723, "1:02:03")]
)
def test_elapsed_time_is_the_seeds_h_mm_ss(seconds: float, text: str) -> None:
    assert format_elapsed(seconds) == text


def test_training_update_is_the_architectures_shape() -> None:
    update = TrainingUpdate(session_id="session_1", seq=3, data=new_session().status_view())
    decoded = json.loads(update.encode())
    assert list(decoded) == ["type", "session_id", "seq", "data"]
    assert decoded["type"] == "training_update" and decoded["seq"] == 3
    assert TrainingUpdate.decode(update.encode()) == update


def test_commands_and_events_round_trip() -> None:
    command = TrainCommand(session_id="session_1", action="resume")
    assert TrainCommand.decode(command.encode()) == command
    control = ControlMessage(session_id="session_1", action="pause")
    assert ControlMessage.decode(control.encode()) == control
    event = StatusEvent(session_id="session_1", status=SessionStatus.RUNNING)
    assert StatusEvent.decode(event.encode()).status is SessionStatus.RUNNING
    with pytest.raises(ValidationError):
        TrainCommand.decode(b'{"session_id": "s", "action": "explode"}')


def test_start_message_id_is_the_session_id_and_others_name_the_revision() -> None:
    assert TrainCommand(session_id="s1", action="start").msg_id(revision=5) == "s1"
    assert TrainCommand(session_id="s1", action="resume").msg_id(revision=5) == "s1:resume:5"
    assert TrainCommand(session_id="s1", action="stop").msg_id(revision=6) == "s1:stop:6"


def test_record_keys_are_valid_store_keys() -> None:
    assert check_key(Keys().session("session_1")) == "sessions/session_1"


def test_an_accuracy_carries_its_wilson_interval() -> None:
    from agentgym.intervals import wilson
    from agentgym.messages import IntentScore, Scores

    assert wilson(100.0, 3) == [43.85, 100.0]  # three of three: still far from sure
    low, high = wilson(50.0, 400)
    assert 45 < low < 50 < high < 55
    assert wilson(0.0, 0) == [0.0, 100.0]  # nothing measured: anything
    status = TrainingStatus.model_validate(
        {"session_id": "s", "scenario_id": "c", "framework": "LangChain", "status": "running",
         "max_episodes": 10, "learning_rate": 0.001, "seed": 0, "accuracy": 90.0,
         "accuracy_n": 100, "heldout_accuracy": 100.0, "heldout_n": 3}
    ).model_dump()  # fmt: skip
    assert status["accuracy_ci95"] == wilson(90.0, 100)
    assert status["heldout_ci95"] == [43.85, 100.0]
    scores = Scores(
        heldout_accuracy=75.0, tasks=8, per_intent={"x": IntentScore(tasks=4, accuracy=50.0)}
    )
    assert scores.model_dump()["heldout_ci95"] == wilson(75.0, 8)
    assert scores.model_dump()["per_intent"]["x"]["ci95"] == wilson(50.0, 4)
