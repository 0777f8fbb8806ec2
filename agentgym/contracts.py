"""The REST API's bodies, with the seed API's field names exactly.

The seed's React UI reads these (docs/seed-ui-contract.md): every number it formats is a
number from the moment a session exists, and `elapsed_time` stays the seed's "H:MM:SS" text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any, Literal, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    field_serializer,
    field_validator,
)

from agentgym import state
from agentgym.intervals import wilson
from agentgym.state import Action, SessionStatus

MAX_EPISODES = 10**9  # a bound for any run, so no number too large to mean anything is stored


class FeedClose(IntEnum):
    """How the live feed's WebSocket refuses a browser (the streamer, and the API's relay and
    guard in front of it): 4000 plus the HTTP status the request would have had. The
    dashboard stops reconnecting on each but UNAUTHORIZED and TOO_MANY."""

    BAD_REQUEST = 4400  # a session id or `since` out of shape
    UNAUTHORIZED = 4401  # no valid credential
    FORBIDDEN = 4403  # a page's origin not allowed
    UNKNOWN = 4404  # no such session (or another tenant's)
    TOO_MANY = 4429  # the tenant's connections are at their limit


class Framework(StrEnum):
    LANGCHAIN = "LangChain"
    AUTOGEN = "AutoGen"
    CREWAI = "CrewAI"


class Difficulty(StrEnum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


def utc_now() -> str:
    """Timestamps are ISO 8601 in UTC, as text (the seed sends `datetime.isoformat()`)."""
    return datetime.now(UTC).isoformat()


def format_elapsed(seconds: float) -> str:
    """The seed's `elapsed_time`: whole seconds as H:MM:SS."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class Schema(BaseModel):
    """Every data shape here and in records, messages and bundles. Its validators are built
    when it is first used, not at import: a Lambda function then pays for the models its own
    routes use, not for all of them (~15 ms of a cold start).

    No number anywhere is NaN or infinite: JSON has no such numbers (they would be stored as
    null and break every later read), so an input carrying one is refused, naming the field."""

    model_config = ConfigDict(defer_build=True, allow_inf_nan=False)


class Body(Schema):
    """Request bodies: unknown fields are an error that names them, never silently dropped.

    A route module builds its own with `built` before its routes: FastAPI would otherwise build
    one inside its body parameter, whose alias pydantic then warns about."""

    model_config = ConfigDict(extra="forbid")


B = TypeVar("B", bound=Body)


def built(model: type[B]) -> type[B]:
    """`model` built now and no longer deferred: FastAPI's body parameter takes `defer_build`
    from it, and only a parameter built at once escapes the warning (see Body)."""
    model.model_config["defer_build"] = False
    model.model_rebuild()
    return model


# --- scenarios --------------------------------------------------------------------------------


class Scenario(Schema):
    """`GET /api/scenarios` items, as the seed returns them."""

    id: str
    name: str
    description: str
    difficulty: Difficulty
    duration: str
    rating: float
    tasks: int
    frameworks: list[Framework]
    metrics: list[str]
    features: list[str]


class IntRange(Schema):
    min: int
    max: int
    default: int


class FloatRange(Schema):
    min: float
    max: float
    default: float


class Hyperparameters(Schema):
    """The ranges a scenario accepts for a run; functions check start requests against them."""

    max_episodes: IntRange
    learning_rate: FloatRange


# --- training ---------------------------------------------------------------------------------


# Where a session's episodes come from (trainer/training/sources.py): the tasks' solutions,
# imitated, the tasks played on-policy in the scenario's environment, and the episodes agents
# played (the scenario's logs), learned off-policy.
Source = Literal["demonstrations", "simulator", "logs"]
SOURCES: tuple[Source, ...] = ("demonstrations", "simulator", "logs")


class LogsLearned(Schema):
    """How a session learns from its scenario's logged episodes (trainer/training/logged.py):
    `weighted` logs carry the logging policy's probability of every call (importance weights,
    clipped and self-normalised, with doubly-robust targets); `imitated` logs carry none
    (reward-weighted imitation of what went better than the reward model expected); `unused`
    ones have no outcome, no request text, or a tool the scenario does not have."""

    how: Literal["importance-weighted", "imitation", "both"]
    weighted: int
    imitated: int
    unused: int


# How a session measures its model: on its held-out split, or also by k-fold cross-validation
# over every task once it has trained (trainer/training/crossval.py).
EvaluationKind = Literal["holdout", "kfold"]


class KFold(Schema):
    """A k-fold cross-validation's estimate of held-out accuracy: every task solved or not by
    a model of the same recipe that never trained on it."""

    k: int  # folds (0: nothing to measure, every intent having one task)
    accuracy: float  # percent of the `n` tasks solved
    n: int  # the tasks of intents with more than one (an intent's only task always trains)
    folds: list[float]  # each fold's accuracy, percent

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ci95(self) -> list[float]:
        """`accuracy`'s 95% interval (Wilson), over its `n` tasks."""
        return wilson(self.accuracy, self.n)


class TrainingStartRequest(Body):
    """`POST /api/training/start`. Omitted or null numbers take the settings' defaults (the
    seed UI sends null when a number field is cleared)."""

    scenario_id: str = Field(min_length=1, max_length=64)
    framework: Framework | None = None
    max_episodes: int | None = Field(default=None, ge=1, le=MAX_EPISODES)
    learning_rate: float | None = Field(default=None, gt=0)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)
    # What it learns from (omitted: every source its scenario has data for).
    sources: list[Source] | None = Field(default=None, min_length=1, max_length=len(SOURCES))
    # "kfold": once trained, estimate held-out accuracy by 5-fold cross-validation over every
    # task too (five more runs as long as this one), for a scenario of few tasks. Omitted or
    # null: "holdout".
    evaluation: EvaluationKind | None = None
    # A model (its id, or an alias) whose weights it starts from, where they fit: the same
    # learner settings and sentence encoder (the tools may differ: its weights do not depend
    # on them). The status's `warm_started` says whether they did.
    warm_start: str | None = Field(default=None, min_length=1, max_length=200)


class TrainingStartResponse(Schema):
    session_id: str
    status: Literal["started"] = "started"
    # Beyond the seed: what will serve its model in the framework it names, and a word when
    # that framework has no adapter of its own (the session trains all the same).
    adapter: str | None = None
    notice: str | None = None


class TrainingStatus(Schema):
    """`GET /api/training/{id}`: the seed's fields first, then what we add."""

    session_id: str
    scenario_id: str
    framework: Framework
    status: SessionStatus
    current_episode: int = 0
    max_episodes: int
    accuracy: float = 0.0  # percent of the last 100 episodes solved exactly
    avg_reward: float = 0.0  # mean reward of the last 100 episodes
    loss: float = 0.0
    start_time: str = Field(default_factory=utc_now)
    elapsed_time: str = "0:00:00"
    # Beyond the seed.
    learning_rate: float
    seed: int
    heldout_accuracy: float = 0.0  # percent, on tasks training never sees
    heldout_episode: int | None = None  # the episode it was last measured at (None: never)
    # How many episodes `accuracy` is over (the last 100 at most), and held-out tasks
    # `heldout_accuracy` was measured on: each accuracy's `..._ci95` says how far to trust it.
    accuracy_n: int = 0
    heldout_n: int = 0
    episodes_per_second: float = 0.0
    elapsed_seconds: float = 0.0
    model_id: str | None = None
    error: str | None = None
    scenario_version: str | None = None  # the version it trains on, pinned at its start
    sources: list[Source] | None = None  # what it learns from (None: all its scenario has)
    warm_start: str | None = None  # the model whose weights it was asked to start from
    warm_started: bool | None = None  # ... and whether they fitted (None: until it starts)
    # What the user asked that the trainer has not carried out yet (pause or stop of a running
    # session, stop of a queued or paused one, resume until a trainer takes it): a pause
    # answers "paused" at once, as the seed does, while the status reads running until then.
    pending: Action | None = Field(
        default=None, validation_alias=AliasChoices("pending", "desired")
    )
    # When it will reach max_episodes at its current speed (the trainer's estimate as of its
    # last write); null unless it is running.
    estimated_finish: str | None = None
    # What its trainer is doing that the status does not say: while it is queued, "preparing:
    # ..." when setting its run up takes more than a moment (a scenario's first session on a
    # machine reads what the scenario's texts mean); once trained, "cross-validating: ...".
    activity: str | None = None
    evaluation: EvaluationKind = "holdout"  # as started
    kfold: KFold | None = None  # its k-fold estimate, once cross-validated
    logs: LogsLearned | None = None  # how it learns from logged episodes, where it does

    @computed_field  # type: ignore[prop-decorator]
    @property
    def progress(self) -> float:
        """The share of its episodes done, 0 to 1."""
        return min(1.0, self.current_episode / self.max_episodes) if self.max_episodes else 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def accuracy_ci95(self) -> list[float]:
        """`accuracy`'s 95% interval (Wilson), in percent, over its `accuracy_n` episodes."""
        return wilson(self.accuracy, self.accuracy_n)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def heldout_ci95(self) -> list[float]:
        """`heldout_accuracy`'s 95% interval (Wilson), over its `heldout_n` tasks."""
        return wilson(self.heldout_accuracy, self.heldout_n)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def actions(self) -> list[Action]:
        """What it may be asked now (`POST /api/training/{id}/{action}`)."""
        return state.allowed_actions(self.status, self.pending)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def deletable(self) -> bool:
        """Whether `DELETE /api/training/{id}` deletes it now (paused or ended, nothing
        pending)."""
        return state.deletable(self.status, self.pending)

    @field_serializer("estimated_finish")
    def _only_while_running(self, value: str | None) -> str | None:
        return value if self.status is SessionStatus.RUNNING else None

    @field_serializer("activity")
    def _only_while_active(self, value: str | None) -> str | None:
        return value if self.status in (SessionStatus.QUEUED, SessionStatus.RUNNING) else None


class ActionResponse(Schema):
    """Pause, resume and stop answer `{"status": "paused" | "resumed" | "stopped"}` as the seed."""

    status: Literal["paused", "resumed", "stopped"]


# --- recorded episodes ------------------------------------------------------------------------


class EpisodeCall(Schema):
    """One step of a recorded episode: a tool call, or the finish."""

    tool: str  # the tool called, or "finish"
    succeeded: bool  # False: the call failed transiently (a finish always succeeds)
    expected: str  # what the solution expected at this step: a tool, or "finish"
    right: bool  # whether it was the right choice (the expected tool, or its fallback)
    probability: float  # the probability the policy gave this choice
    reward: float


# Which of a scenario's tasks a task is: trained on, or held out to measure the model.
Split = Literal["train", "heldout"]


class EpisodeRecord(Schema):
    """What a trainer records of an episode it played: a training episode of the sample, or
    one of a held-out evaluation's (trainer/recorded.py builds it)."""

    episode: int  # the training episode it is (train), or was evaluated after (heldout)
    split: Split
    task_id: str
    text: str
    intent: str
    tools: list[str]  # the tools the task offered
    solution: list[str]
    calls: list[EpisodeCall]
    reward: float
    solved: bool


class Episode(EpisodeRecord):
    """A recorded episode (`GET /api/training/{id}/episodes`), as the session's stream
    numbers it."""

    seq: int  # its number among the session's recorded episodes: 1, 2, 3, ...


class EpisodePage(Schema):
    episodes: list[Episode]
    next: int | None  # pass as `after` for the next page; None: there is no more yet
    last: int = 0  # the seq of the last episode recorded (0: none): where a live feed starts


# --- models -----------------------------------------------------------------------------------


class ModelInfo(Schema):
    """`GET /api/models` items, as the seed returns them."""

    id: str
    name: str
    scenario: str
    framework: Framework
    accuracy: float
    episodes: int
    created_at: str
    size_mb: float


class ModelDetail(ModelInfo):
    """`GET /api/models/{id}`: the seed's fields, then what serves it and where it is from."""

    adapter: str  # the module that puts it into an agent of its framework (agentgym.adapters)
    session_id: str  # the session that trained it ("" if imported)
    scenario_version: str | None = None
    learner: str | None = None  # the learner whose weights it holds (None: recorded before)
    # Exactly how it was trained: the session's settings, its sources, and every hyperparameter
    # of its learner by name (the bundle's manifest says the same).
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    # The held-out tasks `accuracy` was measured on (0: its bundle does not say), and so how
    # far to trust it.
    accuracy_n: int = 0
    kfold: KFold | None = None  # its k-fold estimate, where its session asked for one
    alias: str | None = None  # the alias it was asked for by (agentgym.aliases), if any

    @computed_field  # type: ignore[prop-decorator]
    @property
    def accuracy_ci95(self) -> list[float]:
        """`accuracy`'s 95% interval (Wilson), in percent, over its `accuracy_n` tasks."""
        return wilson(self.accuracy, self.accuracy_n)


# --- settings ---------------------------------------------------------------------------------


class Settings(Schema):
    """`GET /api/settings`: the seed's camelCase fields and defaults."""

    framework: Framework = Framework.LANGCHAIN
    llmProvider: str = "OpenAI"
    maxEpisodes: int = Field(default=200, ge=1)
    learningRate: float = Field(default=0.001, gt=0)
    autoSave: bool = True
    openaiKey: str = ""
    anthropicKey: str = ""


class SettingsUpdate(Body):
    """`PUT /api/settings`: only the fields given change."""

    framework: Framework | None = None
    llmProvider: str | None = Field(default=None, min_length=1, max_length=64)
    maxEpisodes: int | None = Field(default=None, ge=1, le=MAX_EPISODES)
    learningRate: float | None = Field(default=None, gt=0)
    autoSave: bool | None = None
    openaiKey: str | None = Field(default=None, max_length=512)
    anthropicKey: str | None = Field(default=None, max_length=512)


class Privacy(Schema):
    """`GET /api/settings/privacy`: what is done to users' words in the traces a tenant sends
    (agentgym.traces.privacy): its own patterns redacted at ingest, besides the built-in ones,
    and how many days a logged episode is kept (None: as long as its scenario)."""

    redact_patterns: list[str] = Field(default_factory=list)
    log_retention_days: int | None = Field(default=None, ge=1, le=36500)


class PrivacyUpdate(Body):
    """`PUT /api/settings/privacy`: only the fields given change (`log_retention_days`: 0
    keeps logged episodes as long as their scenario)."""

    redact_patterns: list[str] | None = Field(default=None, max_length=32)
    log_retention_days: int | None = Field(default=None, ge=0, le=36500)

    @field_validator("redact_patterns")
    @classmethod
    def _patterns(cls, patterns: list[str] | None) -> list[str] | None:
        from agentgym.traces.privacy import check_patterns

        return None if patterns is None else check_patterns(patterns)


# --- errors -----------------------------------------------------------------------------------


class ErrorBody(Schema):
    """Every 4xx and 5xx: `detail` is the sentence the seed UI shows (`error.detail`)."""

    detail: str
    code: str
    errors: list[dict[str, object]] = Field(default_factory=list)
