"""What the key-value store holds, one pydantic model per kind of value, and where.

Keys: `sessions/<id>`, `models/<id>`, `settings`, `scenarios/<id>`, `aliases/<name>`,
`loops/<scenario>` (and a loop's runs and lease). With
authentication on, each tenant's keys live under `tenants/<name>/` (the `default` tenant, the
only one when auth is off, keeps the plain keys). `scenarios/` holds a tenant's own scenarios
only: the built-ins' entries ship with the package. Every value is the JSON of one of these
models (an alias's: agentgym.aliases.AliasRecord).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar

from pydantic import Field, ValidationError

from agentgym import retries
from agentgym.auth import DEFAULT_TENANT
from agentgym.contracts import (
    Hyperparameters,
    KFold,
    ModelInfo,
    Privacy,
    Scenario,
    Schema,
    Settings,
    TrainingStatus,
    utc_now,
)
from agentgym.errors import ConflictError, CorruptRecordError, KeyExistsError, KeyNotFoundError
from agentgym.store import Entry, KeyValueStore

if TYPE_CHECKING:
    from agentgym.bundle import Manifest

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Keys:
    """Where one tenant's things live, in the key-value store and in the artifact store: a
    tenant can only ever name its own, which is what isolates tenants."""

    tenant: str = DEFAULT_TENANT

    @property
    def prefix(self) -> str:
        return "" if self.tenant == DEFAULT_TENANT else f"tenants/{self.tenant}/"

    @property
    def sessions(self) -> str:
        return f"{self.prefix}sessions/"

    @property
    def models(self) -> str:
        return f"{self.prefix}models/"

    @property
    def active(self) -> str:
        """Where a mark of each queued or running session is: counted against the limit
        without listing every session the tenant ever had."""
        return f"{self.prefix}active/"

    def active_session(self, session_id: str) -> str:
        return f"{self.active}{session_id}"

    @property
    def usage(self) -> str:
        """The tenant's counts that a limit needs and a listing would be slow for."""
        return f"{self.prefix}usage"

    @property
    def settings(self) -> str:
        return f"{self.prefix}settings"

    def session(self, session_id: str) -> str:
        return f"{self.sessions}{session_id}"

    def model(self, model_id: str) -> str:
        return f"{self.models}{model_id}"

    @property
    def aliases(self) -> str:
        """The tenant's aliases of its models (agentgym.aliases)."""
        return f"{self.prefix}aliases/"

    def alias(self, name: str) -> str:
        return f"{self.aliases}{name}"

    def bundle(self, model_id: str) -> str:
        """The artifact holding a model's bundle."""
        from agentgym.bundle import SUFFIX  # here: a handler that names no bundle skips it

        return f"{self.prefix}models/{model_id}{SUFFIX}"

    def checkpoint(self, session_id: str) -> str:
        """The artifact holding a session's latest checkpoint."""
        return f"{self.prefix}checkpoints/{session_id}.ckpt"

    def evaluation(self, session_id: str) -> str:
        """The artifact holding a session's latest held-out evaluation (SessionEvaluation)."""
        return f"{self.prefix}evaluations/{session_id}.json"

    @property
    def scenarios(self) -> str:
        """The tenant's custom scenarios' catalog entries (the built-ins' are never stored:
        agentgym.catalog)."""
        return f"{self.prefix}scenarios/"

    def scenario(self, scenario_id: str) -> str:
        return f"{self.scenarios}{scenario_id}"

    def scenario_definition(self, scenario_id: str, version: str) -> str:
        """The artifact holding one version of a custom scenario's definition: too large for a
        key-value entry, and never changed once written (its name is its content's hash)."""
        return f"{self.prefix}scenarios/{scenario_id}/{version}.json"

    @property
    def privacy(self) -> str:
        return f"{self.prefix}settings-privacy"

    def traces(self, scenario_id: str) -> str:
        """Where the traces an OTLP exporter sends for a scenario wait for its next snapshot
        (agentgym.traces.episodes), one entry per trace."""
        return f"{self.prefix}traces/{scenario_id}/"

    def trace_outcomes(self, scenario_id: str) -> str:
        """... and the outcomes that name only a response id, until its trace is found."""
        return f"{self.prefix}trace-outcomes/{scenario_id}/"

    def trace_counts(self, scenario_id: str) -> str:
        """What the receiver read for a scenario, and what it skipped, and why."""
        return f"{self.prefix}trace-counts/{scenario_id}"

    @property
    def loops(self) -> str:
        """The tenant's improvement loops, one per scenario (agentgym.loops)."""
        return f"{self.prefix}loops/"

    def loop(self, scenario_id: str) -> str:
        return f"{self.loops}{scenario_id}"

    def loop_runs(self, scenario_id: str) -> str:
        """A loop's runs, one entry each."""
        return f"{self.prefix}loop-runs/{scenario_id}/"

    def loop_run(self, scenario_id: str, run_id: str) -> str:
        return f"{self.loop_runs(scenario_id)}{run_id}"

    def loop_lease(self, scenario_id: str) -> str:
        """Who is carrying out the loop's run now, until when."""
        return f"{self.prefix}loop-leases/{scenario_id}"


class Record(Schema):
    def dump(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def load(cls, raw: bytes) -> Self:
        """The record stored as `raw`, read tolerantly: a field that no longer validates (a
        value written before a check existed, or a number that was not finite and so was
        stored as null) takes its default, so the record can always be shown, repaired and
        deleted through the API. CorruptRecordError when a field at fault has no default."""
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            return cls._repaired(raw, exc)

    @classmethod
    def _repaired(cls, raw: bytes, exc: ValidationError) -> Self:
        kind = cls.__name__.removesuffix("Record").lower()
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or kind}: {e['msg']}" for e in exc.errors()
        )
        try:
            data = json.loads(raw)
        except ValueError:
            raise CorruptRecordError(kind, "not JSON") from None
        at_fault = {e["loc"][0] if e["loc"] else None for e in exc.errors()}
        fields = cls.model_fields
        if not isinstance(data, dict) or not all(
            isinstance(name, str) and name in fields and not fields[name].is_required()
            for name in at_fault
        ):
            raise CorruptRecordError(kind, problems) from None
        logger.warning("reading a damaged %s with defaults for %s", kind, problems)
        return cls.model_validate({k: v for k, v in data.items() if k not in at_fault})


R = TypeVar("R", bound=Record)


def readable(kind: type[R], entries: list[Entry]) -> list[R]:
    """The records among `entries` that can be read: a damaged one is left out of a list
    (and logged), so one bad value never breaks the listing of all the others."""
    records = []
    for entry in entries:
        try:
            records.append(kind.load(entry.value))
        except CorruptRecordError as exc:
            logger.warning("%s: %s", entry.key, exc)
    return records


class ScenarioCounts(Schema):
    tools: int = 0
    tasks: int = 0
    heldout: int = 0
    # Its logged episodes (agentgym.scenario.definition.Log): held out, without the request's
    # text (traces that kept no message content), with an outcome.
    logs: int = 0
    logs_heldout: int = 0
    logs_without_text: int = 0
    logs_with_reward: int = 0


class ScenarioRecord(Scenario, Record):
    """A scenario's catalog entry: a built-in one shipped with the package (agentgym.catalog),
    a custom one written by the API when a tenant pushes it."""

    version: str
    hyperparameters: Hyperparameters
    tools: list[str] = Field(default_factory=list)
    source: Literal["builtin", "custom"] = "builtin"
    counts: ScenarioCounts = Field(default_factory=ScenarioCounts)
    warnings: list[dict[str, Any]] = Field(default_factory=list)  # the validation report's
    versions: list[str] = Field(default_factory=list)  # a custom one's stored, oldest first
    stored_bytes: int = 0  # what its stored versions' definitions take, together


class SessionRecord(TrainingStatus, Record):
    """A session's status plus what only the processes need. Its status changes only as
    `agentgym.lifecycle` decides (records written before `pending` had its name said
    `desired`: read as `pending`)."""

    created_at: str = Field(default_factory=utc_now)
    updated_at: str = Field(default_factory=utc_now)
    idempotency_key: str | None = None
    last_seq: int = 0  # the seq of the last training update published
    checkpoint: str | None = None  # artifact name of the latest checkpoint
    tenant: str = DEFAULT_TENANT
    owner: str | None = None  # the worker training it, while it is running
    heartbeat: float = 0.0  # when the owner last wrote (Unix time): a silent owner is gone

    def status_view(self) -> TrainingStatus:
        """The API's view: the status fields only."""
        return TrainingStatus.model_validate(self.model_dump(include=_STATUS_FIELDS))

    def status_json(self) -> bytes:
        """The API's view as JSON, written straight from the record (what `status_view()`
        serializes to, without building it)."""
        return self.model_dump_json(include=_STATUS_FIELDS).encode()


_STATUS_FIELDS = set(TrainingStatus.model_fields) | set(TrainingStatus.model_computed_fields)


@lru_cache(maxsize=1024)
def status_json_of(raw: bytes) -> bytes:
    """The status JSON of the session record stored as `raw`. Dashboards poll records that
    change a few times a second at most, so most reads find the same bytes as the last one
    and skip parsing the record and writing its view; keyed by the value itself, not a
    revision, because a deleted and recreated key may restart its revisions in some stores."""
    return SessionRecord.load(raw).status_json()


def default_name(manifest: Manifest, session_id: str = "") -> str:
    """A model's name when it is given none, telling models apart at a glance: its scenario,
    framework and time of making, and the session that trained it (or, imported, the start of
    its weights' hash), e.g. `customer_support_langchain_20261202-045130_3f2a9c`."""
    made = datetime.fromisoformat(manifest.created_at).strftime("%Y%m%d-%H%M%S")
    tag = session_id.removeprefix("session_")[:6] if session_id else manifest.weights_sha256[:6]
    return f"{manifest.scenario_id}_{manifest.framework.lower()}_{made}_{tag}"


class ModelRecord(ModelInfo, Record):
    """A trained model: the seed's fields, plus where its bundle is and how it was made."""

    session_id: str
    tenant: str = DEFAULT_TENANT
    scenario_version: str | None = None  # the version of `scenario` it trained on
    bundle: str  # artifact name of the model bundle
    sha256: str
    learning_rate: float = 0.0
    seed: int = 0
    heldout_accuracy: float = 0.0
    accuracy_n: int = 0  # the held-out tasks it was measured on (0: its bundle does not say)
    kfold: KFold | None = None  # its session's k-fold estimate, if it asked for one
    learner: str | None = None
    hyperparameters: dict[str, Any] = Field(default_factory=dict)  # the bundle's, in full
    deleting: bool = False  # its delete has begun: no alias may name it (agentgym.aliases)
    # Defaults for the seed's numbers too, so a damaged one can be read (Record.load).
    accuracy: float = 0.0
    episodes: int = 0
    size_mb: float = 0.0

    def info(self) -> ModelInfo:
        return ModelInfo.model_validate(self.model_dump(include=set(ModelInfo.model_fields)))

    @classmethod
    def of_bundle(
        cls,
        manifest: Manifest,
        model_id: str,
        keys: Keys,
        size: int,
        session_id: str = "",
        name: str | None = None,
    ) -> ModelRecord:
        """The record of a model whose bundle (of `size` bytes) `manifest` describes, trained
        here or imported alike. Its `accuracy` is the held-out one: the model's quality on
        tasks it never trained on."""
        return cls(
            id=model_id,
            name=name or default_name(manifest, session_id),
            scenario=manifest.scenario_id,
            scenario_version=manifest.scenario_version,
            framework=manifest.framework,
            accuracy=manifest.metrics.heldout_accuracy,
            accuracy_n=manifest.metrics.heldout_n,
            kfold=manifest.metrics.kfold,
            episodes=manifest.metrics.episodes,
            created_at=manifest.created_at,
            size_mb=round(size / (1024 * 1024), 3),
            session_id=session_id,
            tenant=keys.tenant,
            bundle=keys.bundle(model_id),
            sha256=manifest.weights_sha256,
            learning_rate=manifest.hyperparameters.learning_rate,
            seed=manifest.hyperparameters.seed,
            heldout_accuracy=manifest.metrics.heldout_accuracy,
            learner=manifest.learner,
            hyperparameters=manifest.hyperparameters.model_dump(),
        )


class UsageRecord(Record):
    """What a tenant holds, counted as it changes (functions/quotas.py)."""

    sessions: int = Field(default=0, ge=0)  # stored, in any status


class SettingsRecord(Settings, Record):
    """The settings as stored: secrets in full. The API only ever shows them masked.

    `version` counts this record's own writes (its ETag): the store's revision may be global
    to the store, and would tell a tenant how often others write."""

    version: int = Field(default=0, ge=0)


class PrivacyRecord(Privacy, Record):
    """The tenant's privacy settings, as stored."""


async def modify(
    store: KeyValueStore,
    key: str,
    kind: type[R],
    change: Callable[[R], R],
    bound: retries.Bound | None = None,
) -> tuple[R, int]:
    """Read, change and write back a record with compare-and-set, retrying when another
    writer got there first; `change` sees the latest record each time and may raise to abort.

    Returns the record written and its new revision. KeyNotFoundError when there is none;
    TooManyWritersError when others kept winning past `bound` (None: agentgym.retries.CAS).
    """

    async def once() -> tuple[R, int]:
        entry = await store.get(key)
        changed = change(kind.load(entry.value))
        return changed, await store.update(key, changed.dump(), entry.revision)

    return await retries.compare_and_set(key, once, bound)


async def upsert(
    store: KeyValueStore, key: str, kind: type[R], change: Callable[[R], R], new: bool = False
) -> R:
    """`modify`, the record made from `kind()` where there is none yet (two writers making it
    at once: the second changes what the first made). `new`: it most likely is not there
    yet, so making it is tried first (one write, not a read and a write)."""
    while True:
        if not new:
            try:
                return (await modify(store, key, kind, change))[0]
            except KeyNotFoundError:
                pass
        made = change(kind())
        try:
            await store.create(key, made.dump())
            return made
        except KeyExistsError:
            new = False


async def mark_active(store: KeyValueStore, keys: Keys, session_id: str, active: bool) -> None:
    """Set or clear the mark that counts a session against its tenant's active limit
    (`lifecycle`'s MARK_ACTIVE and UNMARK_ACTIVE)."""
    key = keys.active_session(session_id)
    if active:
        await store.put(key, b"{}")
        return
    try:
        entry = await store.get(key)
        await store.delete(key, entry.revision)
    except (KeyNotFoundError, ConflictError):
        pass  # cleared already, or marked again meanwhile (a resume): that one stands
