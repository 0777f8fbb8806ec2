"""A slot's training call ends at its next update once the slot is interrupted (a pause or a
stop arrived), in a process slot and a thread slot alike."""

from __future__ import annotations

import asyncio
import time

import pytest

from trainer import scenarios
from trainer.runner import SlotKind, SlotRun, open_slot

CALL_S = 60.0  # what the call would take without the interrupt


@pytest.mark.parametrize("kind", ["process", "thread"])
async def test_an_interrupt_cuts_the_slice_short(kind: SlotKind) -> None:
    slot = open_slot(kind)
    try:
        run = SlotRun(slot, "tenant/session")
        await run.load(None, scenarios.get("customer_support"), 0.001, 0, 10**6)
        training = asyncio.create_task(run.train(CALL_S, 100, 10**6))
        await asyncio.sleep(0.5)  # kept: the call is under way
        assert not training.done()
        interrupted = time.monotonic()
        slot.interrupt.set()
        progress = await asyncio.wait_for(training, CALL_S / 2)
        assert time.monotonic() - interrupted < CALL_S / 4
        assert progress.episode > 0 and progress.episode % 10 == 0  # a whole batch, then out
        slot.interrupt.clear()
        again = await run.train(0.05, 100, 10**6)  # cleared: it trains on
        assert again.episode > progress.episode
    finally:
        slot.executor.shutdown(wait=True, cancel_futures=True)
