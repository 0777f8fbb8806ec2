"""A trainer's slot processes end with it, however it dies: stopped, or killed with -9 (when
nothing in it can tell them to)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentgym.nats_server import NatsServer

from .conftest import Services, eventually

SLOTS = 2


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (from /proc: what `ps --ppid` reads)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # it ended meanwhile
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def running(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":  # a zombie has ended; only its parent's wait is missing
            alive.add(pid)
    return alive


def slot_processes(pid: int) -> set[int]:
    return {
        child
        for child in children(pid)
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    }


@pytest.mark.parametrize("how", ["kill9", "stop"])
async def test_the_slots_end_with_their_trainer(
    how: str, services: Services, nats: NatsServer
) -> None:
    trainer = services.trainer(nats.url, CONCURRENCY=str(SLOTS), SLOT="process")

    async def slots() -> set[int]:
        return slot_processes(trainer.process.pid)

    spawned = await eventually(slots, lambda found: len(found) == SLOTS, 60, "the slots")
    if how == "kill9":
        trainer.kill9()
    else:
        trainer.stop()
    assert trainer.process.poll() is not None

    async def left() -> set[int]:
        return running(spawned)

    assert await eventually(left, lambda alive: not alive, 10, "the slots to end") == set()
