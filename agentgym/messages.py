"""What crosses NATS and the live feed: commands to trainers, control of a running session,
and the frames a feed carries (training updates, recorded episodes and status events as NATS
has them, the snapshots a streamer opens a feed with). Subjects and streams are in
`agentgym.subjects`; the frames are in the API's OpenAPI document, for the dashboard's types."""

from __future__ import annotations

import json
from typing import Literal, Self

from pydantic import ConfigDict, Field, computed_field

from agentgym.act import ActCall, ToolOffered
from agentgym.auth import DEFAULT_TENANT
from agentgym.contracts import EpisodeRecord, Schema, TrainingStatus, utc_now
from agentgym.intervals import wilson
from agentgym.state import SessionStatus


class Message(Schema):
    # Serialized, every field is there: the dashboard's types (from the OpenAPI document)
    # may count on a frame's `type`.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    def encode(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        return cls.model_validate_json(raw)


class TrainCommand(Message):
    """On the work queue (`agentgym.cmd.train`): one trainer takes it."""

    session_id: str
    action: Literal["start", "resume", "stop"]
    tenant: str = DEFAULT_TENANT

    def msg_id(self, revision: int = 0) -> str:
        """`Nats-Msg-Id`, which makes a publish idempotent within the stream's window.

        A start is identified by its session alone; a resume or stop also by the session
        record's revision it was issued at, so a resume after a second pause is a new command.
        """
        if self.action == "start":
            return self.session_id
        return f"{self.session_id}:{self.action}:{revision}"


class LoopDue(Message):
    """On a loop's `due` subject: a tick of its schedule (no `run_id`: run if the loop is due),
    or a run someone asked for (agentgym/loops.py)."""

    tenant: str = DEFAULT_TENANT
    scenario_id: str
    run_id: str | None = None


class ControlMessage(Message):
    """Core NATS to the trainer running a session (`agentgym.ctl.<id>`): act now."""

    session_id: str
    action: Literal["pause", "stop"]


class TrainingUpdate(Message):
    """What a browser receives, byte for byte (`agentgym.metrics.<id>`).

    `seq` counts a session's updates 1, 2, 3, ... with no hole, across pauses, resumes and
    crashes; `data` is the session's status at that moment.
    """

    type: Literal["training_update"] = "training_update"
    session_id: str
    seq: int
    data: TrainingStatus


class Snapshot(Message):
    """The first frame of a session's feed (`/ws/training/<id>`): its status when the streamer
    read it, and the seq of its last update then (a trainer records an ending before it
    publishes it, so `seq` may be one ahead of the updates that follow)."""

    type: Literal["snapshot"] = "snapshot"
    session_id: str
    seq: int
    data: TrainingStatus


class EpisodeFrame(Message):
    """A recorded episode (`agentgym.episodes.<id>`, and a session's feed with `episodes=1`):
    the `seq`th of the session's. trainer/publisher.py writes these bytes itself, around the
    episode's JSON as trainer.recorded encoded it."""

    type: Literal["episode"] = "episode"
    session_id: str
    seq: int
    data: EpisodeRecord


def parse_update(payload: bytes) -> tuple[int, str | None]:
    """An encoded TrainingUpdate's `seq` and status, read without validating the rest: the
    one reader of updates others encoded (history, the trainer's next seq, the streamer, which
    calls it once per update however many browsers watch, so it stays this lean)."""
    update = json.loads(payload)
    return int(update["seq"]), update.get("data", {}).get("status")


class StatusEvent(Message):
    """A status change (`agentgym.events.<id>`), for dashboards watching every session."""

    type: Literal["status"] = "status"
    session_id: str
    tenant: str = DEFAULT_TENANT
    status: SessionStatus
    previous: SessionStatus | None = None
    at: str = Field(default_factory=utc_now)


class Sessions(Message):
    """The first frame of the dashboard's feed (`/ws/training`): every session's status; each
    change follows as a StatusEvent."""

    type: Literal["sessions"] = "sessions"
    data: list[TrainingStatus]


# What a feed sends, by `type`: the dashboard's types are generated from these.
FEED_FRAMES = (Snapshot, TrainingUpdate, EpisodeFrame, Sessions, StatusEvent)


class EvaluateRequest(Message):
    """`agentgym.eval` (request-reply): score a saved model on its scenario's held-out tasks."""

    model_id: str
    tenant: str = DEFAULT_TENANT
    # Another scenario (or version) to evaluate on: None, the version the model trained on.
    scenario_id: str | None = None
    version: str | None = None


class ToolScore(Schema):
    precision: float | None  # None: the model never called the tool
    recall: float


class ConfusionCell(Schema):
    """How often, at a step whose solution expected `expected` (a tool, or "finish"), the
    agent chose `chosen` (a tool, "finish", or "unavailable": one the task does not offer)."""

    expected: str
    chosen: str
    count: int


class IntentScore(Schema):
    tasks: int
    accuracy: float  # percent solved exactly

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ci95(self) -> list[float]:
        """`accuracy`'s 95% interval (Wilson), in percent, over its `tasks`."""
        return wilson(self.accuracy, self.tasks)


class Recovery(Schema):
    """Transient failures of a right call, and how many the next call recovered from (a
    retry, or the tool's fallback)."""

    failures: int = 0
    recovered: int = 0
    rate: float | None = None  # percent; None: nothing failed


class ReliabilityBin(Schema):
    """Decisions whose first choice was about as probable: how probable, and how often right."""

    confidence: float  # the first choice's mean probability in the bin
    accuracy: float  # the share of those first choices that were right
    count: int


class Calibration(Schema):
    """How far a model's first choice's probability is from how often it is right, over
    held-out decisions (each step of each task, the right calls before it):
    trainer/model/calibration.py."""

    ece: float  # expected calibration error over equal-mass bins
    ci95: list[float]  # its bootstrap 95% interval
    decisions: int
    temperature: float = 1.0  # the scores were divided by it (fitted on validation tasks)
    bins: list[ReliabilityBin] = Field(default_factory=list)


class OffPolicyEstimate(Schema):
    value: float  # the model's estimated average reward, -1 to 1
    ci95: list[float]  # its 95% interval (bootstrap over the logged decisions)


class Offline(Schema):
    """A model's value estimated off-policy on the held-out logs of its scenario
    (trainer/logged_value.py): `ips`, `snips` and `dr` where the logs carry the logging
    policy's probabilities (null, with the `reason`, where they do not), `dm` the reward
    model's alone; `ess` the effective sample size, `logged_value` the logged agent's own
    average reward on the same `n` decisions."""

    ips: OffPolicyEstimate | None = None
    snips: OffPolicyEstimate | None = None
    dr: OffPolicyEstimate | None = None
    dm: OffPolicyEstimate | None = None
    ess: float | None = None
    logged_value: float
    n: int
    reason: str | None = None


class Scores(Schema):
    """A held-out evaluation's figures (trainer.recorded.analyze)."""

    heldout_accuracy: float = 0.0  # percent solved exactly, acting greedily
    avg_reward: float = 0.0
    tasks: int = 0
    per_tool: dict[str, ToolScore] = Field(default_factory=dict)
    confusion: list[ConfusionCell] = Field(default_factory=list)
    per_intent: dict[str, IntentScore] = Field(default_factory=dict)
    mean_calls: float = 0.0  # tool calls per task
    recovery: Recovery = Field(default_factory=Recovery)
    calibration: Calibration | None = None  # a saved model's (POST /api/models/{id}/evaluate)
    # Its value on the scenario's held-out logs, off-policy (null where it has none).
    offline: Offline | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def heldout_ci95(self) -> list[float]:
        """`heldout_accuracy`'s 95% interval (Wilson), in percent, over its `tasks`."""
        return wilson(self.heldout_accuracy, self.tasks)


class EvaluateReply(Message, Scores):
    """A trainer's answer (`POST /api/models/{id}/evaluate`): the model's held-out scores."""

    model_id: str


class SessionEvaluation(Scores):
    """`GET /api/training/{id}/evaluation`: the latest held-out evaluation of a session, at
    its `episode` (every eval_every episodes, and at its end)."""

    episode: int
    at: str = Field(default_factory=utc_now)


class ActRequest(Message):
    """`agentgym.act` (request-reply): a model's next choice for a request."""

    model_id: str
    tenant: str = DEFAULT_TENANT
    text: str
    calls: list[ActCall] = Field(default_factory=list)
    tools: list[str | ToolOffered] | None = None
    # Where the model's bundle is and its weights' hash, as the API read them from its record:
    # the trainer keeps loaded bundles by it, and reads nothing more for a warm one.
    bundle: str
    sha256: str
