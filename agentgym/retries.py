"""Bounded retries, in one place: how long a process keeps at something that may work if tried
again, and the clear error it raises when it stops trying.

Both kinds back off exponentially with random jitter (stamina, over tenacity), so writers that
collided, or processes that lost NATS together, do not come back in lockstep:

- `until_answered`: NATS did not answer (it restarted, a JetStream publish was not confirmed).
  `NATS_OUTAGE` rides out a restart or a cluster's leader election, about a minute, then
  BusGaveUpError names the subject, and the caller stops waiting instead of hanging.
- `compare_and_set`: another writer changed the key between a read and a conditional write.
  Each retry reads again, so it only loses while others keep winning. `CAS` gives up after 50
  tries or 10 s (well inside an HTTP request's time) with TooManyWritersError, which the API
  answers with 503 and Retry-After.
- `while_locked`: another process is setting up the same new SQLite file (`SQLITE_SETUP`).

stamina's test mode (`stamina.set_testing`) would turn these into single attempts; nothing in
this project turns it on, and tests that need short bounds pass their own `Bound`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from agentgym.errors import BusGaveUpError, ConflictError, TooManyWritersError

if TYPE_CHECKING:
    from stamina._core import _RetryContextIterator

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Bound:
    """When to stop (whichever comes first: `attempts` tries, or `timeout_s` seconds since the
    first), and how long to wait between tries: `wait_initial_s`, doubling up to `wait_max_s`,
    plus up to `wait_jitter_s` of random jitter (stamina caps the sum at `wait_max_s`)."""

    attempts: int | None
    timeout_s: float | None
    wait_initial_s: float
    wait_max_s: float
    wait_jitter_s: float

    def __post_init__(self) -> None:
        if self.attempts is None and self.timeout_s is None:
            raise ValueError("a bound needs attempts, timeout_s or both: None for both is forever")


# A NATS restart under load takes seconds (the fault tests keep it down for 7 s, past a
# JetStream publish's 5 s reply timeout); a cluster's leader election, a few more. A minute
# rides them out, one try every 2 s or so once the backoff is up.
NATS_OUTAGE = Bound(
    attempts=None, timeout_s=60.0, wait_initial_s=0.1, wait_max_s=2.0, wait_jitter_s=0.5
)
# A conflict means another write just landed: try again almost at once, spreading out fast.
CAS = Bound(attempts=50, timeout_s=10.0, wait_initial_s=0.005, wait_max_s=0.25, wait_jitter_s=0.05)
# Another process setting up the same new SQLite file holds it for milliseconds.
SQLITE_SETUP = Bound(
    attempts=None, timeout_s=10.0, wait_initial_s=0.01, wait_max_s=0.5, wait_jitter_s=0.05
)


def attempts(
    bound: Bound,
    on: type[BaseException]
    | tuple[type[BaseException], ...]
    | Callable[[BaseException], bool | float],
) -> _RetryContextIterator:
    """stamina's attempts within `bound`, retrying `on`: for `for` and `async for` alike (the
    one retry loop here and in the client)."""
    import stamina  # on first use: a Lambda cold start that writes nothing skips it

    return stamina.retry_context(
        on=on,
        attempts=bound.attempts,
        timeout=bound.timeout_s,
        wait_initial=bound.wait_initial_s,
        wait_max=bound.wait_max_s,
        wait_jitter=bound.wait_jitter_s,
    )


async def until_answered(
    subject: str,
    call: Callable[[], Awaitable[T]],
    on: tuple[type[Exception], ...],
    bound: Bound | None = None,
) -> T:
    """`await call()`, again while it raises one of `on` (NATS did not answer), within `bound`
    (NATS_OUTAGE when None).

    Raises BusGaveUpError naming `subject` when the bound is spent; any other error at once."""
    bound = bound or NATS_OUTAGE
    started = time.monotonic()
    tries = 0
    try:
        async for attempt in attempts(bound, on):
            with attempt:
                tries += 1
                try:
                    return await call()
                except on as exc:
                    if tries == 1:
                        logger.warning(
                            "%s: NATS did not answer (%s); retrying for up to %ss",
                            subject,
                            type(exc).__name__,
                            bound.timeout_s,
                        )
                    raise
    except on as exc:
        error = BusGaveUpError(subject, tries, time.monotonic() - started, type(exc).__name__)
        logger.error("%s", error)
        raise error from exc
    raise AssertionError("unreachable: stamina either returns or raises")


async def compare_and_set(
    key: str,
    attempt_once: Callable[[], Awaitable[T]],
    bound: Bound | None = None,
    on: type[ConflictError] = ConflictError,
) -> T:
    """`await attempt_once()` (a read, then a write conditional on what was read), again while
    it raises `on` (another writer got there first), within `bound` (CAS when None).

    Raises TooManyWritersError when the bound is spent; any other error (a 412, an abort raised
    by the change itself) at once."""
    bound = bound or CAS
    started = time.monotonic()
    tries = 0
    try:
        async for attempt in attempts(bound, on):
            with attempt:
                tries += 1
                return await attempt_once()
    except on as exc:
        raise TooManyWritersError(key, tries, time.monotonic() - started) from exc
    raise AssertionError("unreachable: stamina either returns or raises")


def _locked(exc: BaseException) -> bool:
    import sqlite3  # here: a process on another store (a Lambda on DynamoDB) never loads it

    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


def while_locked(call: Callable[[], T], bound: Bound | None = None) -> T:
    """`call()`, again while SQLite says "database is locked" (another process is setting up
    the same new file, a lock its busy handler does not wait for), within `bound`
    (SQLITE_SETUP when None); then that error. `call` must be safe to repeat."""
    try:  # once before stamina: a setup is rarely contended, and a cold start need not load it
        return call()
    except Exception as exc:
        if not _locked(exc):
            raise
    for attempt in attempts(bound or SQLITE_SETUP, _locked):
        with attempt:
            return call()
    raise AssertionError("unreachable: stamina either returns or raises")
