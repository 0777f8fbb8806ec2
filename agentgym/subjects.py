"""Every NATS name in one place: subjects, the JetStream streams and the trainers' consumer.

| subject | carried by | who |
|---|---|---|
| `agentgym.cmd.train` | stream AGENTGYM_CMD (work queue), durable pull consumer `trainers` | functions -> one trainer |
| `agentgym.ctl.<session_id>` | core NATS | functions -> the trainer running it |
| `agentgym.metrics.<session_id>` | stream AGENTGYM_TRAINING (limits, per-subject cap) | trainer -> streamer, history |
| `agentgym.events.<session_id>` | stream AGENTGYM_TRAINING | trainer, functions -> streamer |
| `agentgym.eval` | nats.micro service `agentgym-trainer`, queue group `trainers` | functions -> any trainer |
| `agentgym.act` | nats.micro service `agentgym-trainer`, queue group `trainers` | functions -> any trainer |
| `agentgym.episodes.<session_id>` | stream AGENTGYM_EPISODES (limits, per-subject cap) | trainer -> streamer, history |
| `agentgym.decisions.<tenant>.<scenario_id>` | stream AGENTGYM_DECISIONS (limits, per-subject cap only) | functions (from gateways) -> functions |
| `agentgym.decision_counts.<tenant>.<scenario_id>` | stream AGENTGYM_DECISION_COUNTS (JetStream counters) | functions -> functions (snapshots) |
| `agentgym.loop.schedule.<tenant>.<scenario_id>` | stream AGENTGYM_LOOPS (work queue, message schedules): a loop's schedule | functions -> NATS |
| `agentgym.loop.due.<tenant>.<scenario_id>` | stream AGENTGYM_LOOPS, durable pull consumer `loopers` | NATS (on schedule), functions (a run asked for) -> one trainer |

Who sets the streams up: the trainers own the streams and the consumer. A trainer creates
them, or updates them to its configuration, at every start (`ensure_streams`,
`ensure_consumer`): it consumes the work queue, knows the ack wait, and is what gets deployed
with a new configuration. Every other process only makes sure what it needs exists
(`create_missing_streams`): the API creates a stream that is missing, with its own
configuration, because a user may start it before any trainer and `POST /api/training/start`
must still queue the command durably (the alternative, a 503 until a trainer has run, fails
the first start of a fresh install for no reason); but it never touches a stream that exists,
so an older API instance in a rolling deploy cannot rewrite a newer trainer's configuration
(the next trainer to start brings a stream the API created up to date). The streamer creates
nothing: it reads what the trainers write.
"""

from __future__ import annotations

import logging

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.kv import KeyValue

from agentgym.config import DEFAULT_ACK_WAIT_S

logger = logging.getLogger(__name__)

PREFIX = "agentgym"

CMD_STREAM = "AGENTGYM_CMD"
CMD_SUBJECT = f"{PREFIX}.cmd.train"
CMD_CONSUMER = "trainers"

TRAINING_STREAM = "AGENTGYM_TRAINING"
METRICS_ALL = f"{PREFIX}.metrics.*"
EVENTS_ALL = f"{PREFIX}.events.*"

# How long a trainer may hold a command without acking before NATS gives it to another; a
# trainer sends in-progress acks well within it while it trains. The setting's default
# (TrainerSettings.ack_wait_s, AGENTGYM_ACK_WAIT_S), which a trainer passes to ensure_consumer.
CMD_ACK_WAIT_S = DEFAULT_ACK_WAIT_S
# How long the command stream remembers a Nats-Msg-Id to drop a duplicate publish.
CMD_DUPLICATE_WINDOW_S = 120.0
# How many training updates a session keeps for replay (at 10 a second, almost 3 hours).
UPDATES_PER_SESSION = 100_000
TRAINING_MAX_BYTES = 1024**3

EPISODES_STREAM = "AGENTGYM_EPISODES"
EPISODES_ALL = f"{PREFIX}.episodes.*"
# How many recorded episodes a session keeps (the oldest go first): a sample of its training
# episodes and every episode of its held-out evaluations, about 1 KB each. Kept, like its
# updates, until the session is deleted (or the stream's byte cap drops the oldest of all).
EPISODES_PER_SESSION = 10_000
EPISODES_MAX_BYTES = 1024**3


DECISIONS_STREAM = "AGENTGYM_DECISIONS"
DECISIONS_ALL = f"{PREFIX}.decisions.*.*"
# How many decisions and calls a scenario keeps (the oldest go first). No byte cap for the
# stream: a byte cap drops the oldest of all subjects, and one tenant's flood would evict
# another's; each subject's count bounds it instead.
DECISIONS_PER_SCENARIO = 500_000
# How many decisions and calls each scenario was ever sent (a JetStream counter per subject,
# nats-server 2.12's `Nats-Incr`): a snapshot tells what the cap dropped before it read them.
DECISION_COUNTS_STREAM = "AGENTGYM_DECISION_COUNTS"
DECISION_COUNTS_ALL = f"{PREFIX}.decision_counts.*.*"


# The improvement loops (agentgym.loops). Each loop's schedule is a message schedule (nats-server
# 2.14's `Nats-Schedule: @every`), one definition per loop on its `schedule` subject, which the
# server turns into a message on the loop's `due` subject at each tick; a run asked for is one
# more. The trainers take them from the work queue (`loopers`). A tick nobody took expires with
# the next (`Nats-Schedule-TTL`), so a stream without trainers does not fill up with them.
LOOPS_STREAM = "AGENTGYM_LOOPS"
LOOPS_ALL = f"{PREFIX}.loop.>"
LOOP_DUE_ALL = f"{PREFIX}.loop.due.*.*"
LOOP_CONSUMER = "loopers"  # its ack wait is the trainers' (a run's trainer says it goes on)


def loop_schedule_subject(tenant: str, scenario_id: str) -> str:
    return f"{PREFIX}.loop.schedule.{tenant}.{scenario_id}"


def loop_due_subject(tenant: str, scenario_id: str) -> str:
    return f"{PREFIX}.loop.due.{tenant}.{scenario_id}"


def loops_stream(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=LOOPS_STREAM,
        subjects=[LOOPS_ALL],
        retention=RetentionPolicy.WORK_QUEUE,  # a due message goes when a trainer acks it
        storage=StorageType.FILE,
        duplicate_window=CMD_DUPLICATE_WINDOW_S,
        allow_msg_schedules=True,
        allow_msg_ttl=True,
        num_replicas=replicas,
    )


def loop_consumer(ack_wait_s: float = CMD_ACK_WAIT_S) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=LOOP_CONSUMER,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait_s,
        max_deliver=-1,  # a run asked for is carried out, or resumed, until it ends
        filter_subject=LOOP_DUE_ALL,
    )


# Where each decision is in its stream, and its feedback: a JetStream key-value bucket, keys
# `<tenant>.<decision_id>` (and `.feedback`), kept as long as a decision may be (90 days).
DECISION_INDEX = "AGENTGYM_DECISION_INDEX"
DECISION_INDEX_TTL_S = 90 * 24 * 3600.0


async def decision_index(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    """The bucket, created where it is missing (by whichever process needs it first)."""
    try:
        return await js.key_value(DECISION_INDEX)
    except nats.js.errors.BucketNotFoundError:
        pass
    try:
        return await js.create_key_value(
            KeyValueConfig(
                bucket=DECISION_INDEX,
                ttl=DECISION_INDEX_TTL_S,
                storage=StorageType.FILE,
                replicas=replicas,
            )
        )
    except nats.js.errors.BadRequestError:  # created meanwhile by another process
        return await js.key_value(DECISION_INDEX)


def decisions_subject(tenant: str, scenario_id: str) -> str:
    """Tenant and scenario ids are [A-Za-z0-9_-]: always one subject token each."""
    return f"{PREFIX}.decisions.{tenant}.{scenario_id}"


def decision_counts_subject(tenant: str, scenario_id: str) -> str:
    return f"{PREFIX}.decision_counts.{tenant}.{scenario_id}"


def control_subject(session_id: str) -> str:
    return f"{PREFIX}.ctl.{session_id}"


def metrics_subject(session_id: str) -> str:
    return f"{PREFIX}.metrics.{session_id}"


def events_subject(session_id: str) -> str:
    return f"{PREFIX}.events.{session_id}"


def episodes_subject(session_id: str) -> str:
    return f"{PREFIX}.episodes.{session_id}"


EVALUATE_SUBJECT = f"{PREFIX}.eval"
ACT_SUBJECT = f"{PREFIX}.act"
CONTROL_ALL = f"{PREFIX}.ctl.*"
TRAINERS_QUEUE = "trainers"
# The trainers' request-reply service (trainer/services.py): `act` and `evaluate`, found on
# `$SRV.PING|INFO|STATS.agentgym-trainer`; a refusal's HTTP status rides in the reply's
# SERVICE_ERROR_CODE header, its sentence in SERVICE_ERROR.
TRAINER_SERVICE = "agentgym-trainer"
TRAINER_SERVICE_VERSION = "1.0.0"
SERVICE_ERROR = "Nats-Service-Error"
SERVICE_ERROR_CODE = "Nats-Service-Error-Code"


def cmd_stream(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=CMD_STREAM,
        subjects=[CMD_SUBJECT],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        duplicate_window=CMD_DUPLICATE_WINDOW_S,
        num_replicas=replicas,
    )


def cmd_consumer(ack_wait_s: float = CMD_ACK_WAIT_S) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=CMD_CONSUMER,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait_s,
        max_deliver=-1,  # a command is retried until some trainer finishes it
        filter_subject=CMD_SUBJECT,
    )


def _history(
    name: str, kept: list[str], per_subject: int, max_bytes: int, replicas: int
) -> StreamConfig:
    """A stream of history: each subject keeps its last `per_subject` messages (and all of
    them together `max_bytes`; -1: no cap)."""
    return StreamConfig(
        name=name,
        subjects=kept,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_msgs_per_subject=per_subject,
        max_bytes=max_bytes,
        discard=DiscardPolicy.OLD,
        allow_direct=True,
        num_replicas=replicas,
    )


def training_stream(replicas: int = 1) -> StreamConfig:
    return _history(
        TRAINING_STREAM,
        [METRICS_ALL, EVENTS_ALL],
        UPDATES_PER_SESSION,
        TRAINING_MAX_BYTES,
        replicas,
    )


def episodes_stream(replicas: int = 1) -> StreamConfig:
    return _history(
        EPISODES_STREAM, [EPISODES_ALL], EPISODES_PER_SESSION, EPISODES_MAX_BYTES, replicas
    )


def decisions_stream(replicas: int = 1) -> StreamConfig:
    return _history(DECISIONS_STREAM, [DECISIONS_ALL], DECISIONS_PER_SCENARIO, -1, replicas)


def decision_counts_stream(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=DECISION_COUNTS_STREAM,
        subjects=[DECISION_COUNTS_ALL],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_msgs_per_subject=1,  # a counter's last message holds its total
        allow_msg_counter=True,
        allow_direct=True,
        num_replicas=replicas,
    )


def streams(replicas: int = 1) -> tuple[StreamConfig, ...]:
    """Every stream's configuration, as this version has them."""
    return (
        cmd_stream(replicas),
        training_stream(replicas),
        episodes_stream(replicas),
        decisions_stream(replicas),
        decision_counts_stream(replicas),
        loops_stream(replicas),
    )


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    """Create or update every stream to this version's configuration: for the trainers only,
    the streams' owners (see the module's docstring). Idempotent."""
    for config in streams(replicas):
        try:
            await js.add_stream(config)
        except nats.js.errors.BadRequestError:  # exists with another configuration
            logger.info("updating stream %s to the current configuration", config.name)
            await js.update_stream(config)


async def create_missing_streams(js: JetStreamContext, replicas: int = 1) -> list[str]:
    """Create the streams that do not exist, with this version's configuration, and leave
    every stream that exists as it is, whatever its configuration: for processes that need the
    streams but do not own them (the API). Returns the names of the streams it created."""
    created = []
    for config in streams(replicas):
        assert config.name is not None
        try:
            await js.stream_info(config.name)
            continue  # exists: its owner's configuration stands
        except nats.js.errors.NotFoundError:
            pass
        try:
            await js.add_stream(config)
        except nats.js.errors.BadRequestError:
            # Created meanwhile by another process, with another configuration: it stands.
            logger.info("stream %s was created meanwhile; leaving it as it is", config.name)
            continue
        logger.info(
            "created the missing stream %s (its owners, the trainers, keep it)", config.name
        )
        created.append(config.name)
    return created


async def ensure_consumer(js: JetStreamContext, ack_wait_s: float = CMD_ACK_WAIT_S) -> None:
    """Create or update the trainers' durable consumer (trainers only: they own its ack wait).

    Until a trainer first runs there is no consumer, and commands simply wait in the stream.
    """
    await js.add_consumer(CMD_STREAM, cmd_consumer(ack_wait_s))
    await js.add_consumer(LOOPS_STREAM, loop_consumer(ack_wait_s))
