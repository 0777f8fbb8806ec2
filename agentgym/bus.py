"""What the functions ask of NATS, as three Protocols, one for each thing it is to them:

- `Bus`: messages to trainers and watchers (commands, control, status events);
- `History`: what the streams recorded (a session's updates and episodes);
- `Trainers`: the trainers' request-reply service (a model's choice, its scores).

`Connection` is all three over one connection: `agentgym.nats_bus.NatsBus`, imported only
where a connection is opened, so code that merely names them (the Lambda handlers at import)
does not load nats.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from agentgym.act import ActAnswer
from agentgym.messages import (
    ActRequest,
    ControlMessage,
    EvaluateReply,
    StatusEvent,
    TrainCommand,
)


class Bus(Protocol):
    """Messages to trainers and watchers. A conforming bus guarantees:

    - `send_command` returns only once the command is stored durably (JetStream acked it);
      a second send with the same `msg_id` within the stream's window is dropped;
    - `send_control` is best effort and immediate (the desired state in the store is what
      counts; control only makes a running trainer act at once);
    - a bus that cannot be reached raises BusUnavailableError.
    """

    async def send_command(self, command: TrainCommand, msg_id: str) -> None: ...

    async def send_control(self, message: ControlMessage) -> None: ...

    async def publish_event(self, event: StatusEvent) -> None: ...


class History(Protocol):
    """What the streams recorded of a session, read back byte for byte."""

    async def updates(
        self, session_id: str, since: int = 0, limit: int | None = None
    ) -> list[bytes]:
        """Recorded training updates with `seq` > `since`, in order, byte for byte."""
        ...

    async def sampled_updates(self, session_id: str, points: int) -> list[bytes]:
        """At most `points` recorded updates, evenly spaced from the first kept to the last
        (both included), in `seq` order, byte for byte."""
        ...

    async def episodes(
        self,
        session_id: str,
        after: int = 0,
        limit: int | None = None,
        keep: Callable[[bytes], bool] | None = None,
    ) -> tuple[list[bytes], int | None, int]:
        """Recorded episodes with `seq` > `after` that `keep` wants, in order, byte for byte;
        the seq to read on after (None: none recorded after them yet); and the seq of the
        last recorded (0: none)."""
        ...

    async def forget(self, session_id: str) -> None:
        """Drop a session's recorded updates, status events and episodes."""
        ...


@dataclass(frozen=True)
class Found:
    """A decision as stored, what followed it that may be about it (the items naming it, and
    those of its MCP session: agentgym/decisions.py's `Joined` tells), and its feedback (JSON
    each)."""

    decision: bytes
    following: list[bytes]
    feedback: bytes | None


class Decisions(Protocol):
    """What served models chose and what followed (agentgym/decisions.py)."""

    async def publish_decisions(self, tenant: str, items: Sequence[tuple[str, str, bytes]]) -> None:
        """Store decisions and calls durably: (scenario_id, id, JSON) each, on the tenant's
        subject of the scenario; an id stored within the stream's window is not stored again."""
        ...

    async def decisions(
        self, tenant: str, scenario_id: str | None, after: int, limit: int
    ) -> tuple[list[tuple[int, bytes]], int]:
        """The tenant's decisions and calls (of one scenario, or all) stored after cursor
        `after`, in order, at most `limit`, each with its cursor; and the cursor to read on
        from."""
        ...

    async def feedback(self, tenant: str, decision_ids: Sequence[str]) -> dict[str, bytes]:
        """The feedback of those of the decisions that have one."""
        ...

    async def decisions_kept(self, tenant: str, scenario_id: str, after: int) -> tuple[int, int]:
        """(how many decisions and calls the scenario was ever sent, as counted when stored;
        how many of its stored after cursor `after` are held still): what the scenario's cap
        dropped is the difference with what was read."""
        ...

    async def decision(self, tenant: str, decision_id: str) -> Found | None:
        """One of the tenant's decisions (None: none by that id is kept)."""
        ...

    async def give_feedback(self, tenant: str, decision_id: str, feedback: bytes) -> bool:
        """Keep a decision's feedback, over any given before; False: no such decision."""
        ...


class Trainers(Protocol):
    """The trainers' service (trainer/services.py), any trainer answering."""

    async def evaluate(
        self,
        model_id: str,
        tenant: str,
        scenario_id: str | None = None,
        version: str | None = None,
    ) -> EvaluateReply:
        """Ask any trainer to score a saved model (on `scenario_id`'s `version`, if given);
        BusUnavailableError when none answers, TrainerRefusedError when it cannot."""
        ...

    async def act(self, request: ActRequest) -> ActAnswer:
        """Ask any trainer for a model's next choice; BusUnavailableError when none answers,
        TrainerRefusedError when it cannot."""
        ...


class Loops(Protocol):
    """The improvement loops' schedules and runs (agentgym/loops.py), carried out by trainers."""

    async def schedule_loop(self, tenant: str, scenario_id: str, every_s: float | None) -> None:
        """Ask a trainer whether the loop is due every `every_s` seconds (None: never, the
        schedule removed)."""
        ...

    async def ask_loop_run(
        self, tenant: str, scenario_id: str, run_id: str, again: bool = False
    ) -> None:
        """Have a trainer carry run `run_id` out: asked once however often (the stream drops
        a duplicate), unless asked `again` (its first message lost with its holder)."""
        ...


class Connection(Bus, History, Trainers, Decisions, Loops, Protocol):
    """All five over one connection, as the functions open it."""

    async def ping(self) -> None:
        """Return when the server answered a round trip; raise when it does not."""
        ...

    async def close(self) -> None: ...
