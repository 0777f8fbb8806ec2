"""Carrying out an improvement loop's runs (agentgym/loops.py), in a trainer.

A run, step by step, each step written to its record before the next begins:

1. `snapshot`: the scenario's new logs into a version (what `POST .../snapshot` does: the
   same function). Too few held-out decisions to test on: skipped, before any training.
2. `training`: a session trains the candidate on that version, like any other (anyone can watch
   it); its id comes from the run's, so a run taken over finds the session it started.
3. `deciding`: the gate (trainer/gate.py) on the version's held-out decisions, the newest by
   time, which the candidate neither trained nor was selected on: candidate minus the model
   the alias names, at the loop's next share of its error rate.
4. `promoting`: the alias moved to the candidate by compare-and-set on the version the run
   decided on: moved by hand meanwhile, the run loses and says so.

A prospective loop (agentgym.loops.Gate) splits that in two: a run with no candidate on trial
trains one and puts it on trial (the alias's shadow, which guides the gateways' exploring), and
ends; the next run, once enough decisions were logged since, skips training and tests the trial
on those decisions alone (trainer/loop_heldout.py). A test short of evidence leaves the trial
on, to be tested again on more (TRIAL_TESTS); any other ends it, and the run after trains anew.

One run at a time per loop: the lease (agentgym.loops) is taken before anything and renewed
while the run lasts; a trainer that dies leaves it to expire, and the next tick or the due
message's redelivery takes the run over where its record says it stood. A step done twice
does no harm: a snapshot with nothing new adds nothing, the session is the same one, a test
done again spends more of the error rate (never less), and a move already made is found in the
alias's history. So a run is never half-promoted: it ends promoted, kept, skipped or failed.

The snapshot and the session's start are the API's own functions (functions.snapshots,
functions.training), called here as they are from a request: one place for each.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass

from nats.aio.msg import Msg

from agentgym import aliases, loops
from agentgym.aliases import Canary
from agentgym.artifacts import ArtifactStore
from agentgym.config import ApiSettings
from agentgym.contracts import IntRange, TrainingStartRequest, utc_now
from agentgym.errors import AgentGymError, AliasMovedError, KeyNotFoundError
from agentgym.loops import Lease, LoopRecord, LoopRunRecord, Trial, Verdict, Watch
from agentgym.messages import LoopDue
from agentgym.nats_bus import NatsBus
from agentgym.records import Keys, ModelRecord, SessionRecord, modify
from agentgym.store import KeyValueStore
from functions import lookups, snapshots, training
from functions.errors import HttpError
from trainer import gate, loop_heldout, loop_watch
from trainer.definitions import Definitions
from trainer.logged_value import paired_difference
from trainer.serving import Served

logger = logging.getLogger(__name__)

SESSION_POLL_S = 1.0  # how often a run reads its candidate's session while it trains
RUNS_AT_ONCE = 4  # per trainer: a run mostly waits on its session, scored at its end
DECISIONS_PAGE = 1000
MIN_EPISODES = 1000  # a candidate's, where the loop names none (`_episodes`)
TRIAL_TESTS = 3  # a trial short of evidence is tested again on more decisions, so many times


@dataclass
class LoopRunner:
    """What a trainer needs to carry runs out: the stores, NATS (as the API's bus), the API's
    settings (snapshots and starts read them as the API does) and the scenario definitions."""

    store: KeyValueStore
    artifacts: ArtifactStore
    bus: NatsBus
    api_settings: ApiSettings
    definitions: Definitions
    holder: str
    lease_s: float  # the settings' loop_lease_s
    ack_wait_s: float  # the settings' ack_wait_s: a due message's, as a command's
    step_pause_s: float = 0.0  # the settings' loop_step_pause_s (fault tests)

    async def handle(self, msg: Msg) -> None:
        """One message of a loop's `due` subject: a tick, or a run asked for. Acked once its
        run has ended, or when there is nothing to do; kept in progress meanwhile."""
        try:
            due = LoopDue.decode(msg.data)
        except ValueError:
            logger.error("dropping a malformed loop message: %r", msg.data[:200])
            await msg.term()
            return
        keys = Keys(due.tenant)
        alive = asyncio.create_task(_in_progress(msg, self.ack_wait_s / 3))
        try:
            delay = await self._handle(due, keys)
        except Exception:  # the store or NATS failed: a redelivery carries the run on
            logger.exception("loop %s: run %s failed; it will be taken up again",
                             due.scenario_id, due.run_id)  # fmt: skip
            await msg.nak(delay=self.lease_s / 4)
            return
        finally:
            alive.cancel()
        if delay is None:
            await msg.ack()
        else:
            await msg.nak(delay=delay)

    async def _handle(self, due: LoopDue, keys: Keys) -> float | None:
        """Carry out what `due` asks; None when done with it, else when to be asked again."""
        sid = due.scenario_id
        now = time.time()
        try:
            loop = await loops.get(self.store, keys, sid)
        except KeyNotFoundError:
            loop = None
        held = await loops.lease(self.store, keys, sid)
        run_id = due.run_id
        if run_id is None and loop is not None and loop.watch is not None:
            settle = self.api_settings.decision_settle_s
            await loop_watch.watch(self.store, self.bus, keys, loop, settle)
        if run_id is None:  # a tick: a run under way or left by a dead holder, or a new one
            if held is not None and held.live(now):
                return None
            if held is not None:
                run_id = held.run_id
            elif loop is None:
                return None
            else:
                counted = await self._new_decisions(keys, loop)
                why = loops.due(loop, now, counted)
                if why is None:
                    return None
                run_id = loops.new_run_id(now)
                logger.info("loop %s: due (%s): run %s", sid, why, run_id)
        lease = await loops.take_lease(self.store, keys, sid, self.holder, run_id, self.lease_s)
        if lease is None:
            current = await loops.lease(self.store, keys, sid)
            if current is not None and current.run_id == run_id:  # its holder alive still
                return max(1.0, current.expires - time.time())
            if due.run_id is not None:
                other = "another run" if current is None else f"run {current.run_id}"
                await self._end_unstarted(keys, sid, due.run_id, f"skipped: {other} was under way")
            return None
        try:
            run = await self._record(keys, sid, run_id, due)
            if run.outcome is None:
                if loop is None:
                    run = await self._end(keys, run, "failed", "failed: the loop was stopped")
                else:
                    await self._carry_out(keys, loop, run, lease)
        finally:
            await loops.release_lease(self.store, keys, sid, lease)
        return None

    async def _record(self, keys: Keys, sid: str, run_id: str, due: LoopDue) -> LoopRunRecord:
        try:
            return await loops.get_run(self.store, keys, sid, run_id)
        except KeyNotFoundError:  # a new run of the schedule's (an asked one's the API wrote)
            trigger: loops.Trigger = "asked" if due.run_id is not None else "schedule"
            made = LoopRunRecord(run_id=run_id, scenario_id=sid, trigger=trigger)
            return await loops.save_run(self.store, keys, made)

    async def _carry_out(
        self, keys: Keys, loop: LoopRecord, run: LoopRunRecord, lease: Lease
    ) -> LoopRunRecord:
        renewing = asyncio.create_task(self._renew(keys, run.scenario_id, lease))
        try:
            return await self._steps(keys, loop, run)
        except HttpError as exc:  # the snapshot's or the start's refusal, said as the API would
            return await self._end(keys, run, "failed", f"failed: {exc.detail}")
        except AgentGymError as exc:
            return await self._end(keys, run, "failed", f"failed: {exc}")
        finally:
            renewing.cancel()

    async def _steps(self, keys: Keys, loop: LoopRecord, run: LoopRunRecord) -> LoopRunRecord:
        sid = run.scenario_id
        run = run.model_copy(update={"holder": self.holder})
        if run.step in ("queued", "snapshot"):
            run = await self._save(keys, run, step="snapshot")
            await _touch_loop(self.store, keys, sid, last_run_at=time.time())
            answer = await snapshots.snapshot(sid, self.store, keys, self.artifacts,
                                              self.api_settings, self.bus)  # fmt: skip
            taken = (await snapshots.counts_of(self.store, keys, sid)).decisions
            before = (await loops.get(self.store, keys, sid)).decisions_taken
            loop = await _touch_loop(self.store, keys, sid, decisions_taken=taken)
            version = answer.version or await _current_version(self.store, keys, sid)
            run = await self._save(keys, run, version=version, logs_added=answer.logs_added,
                                   new_decisions=max(0, taken - before))  # fmt: skip
            if version is None:
                return await self._end(keys, run, "skipped", "skipped: the scenario has no logs")
            spec = await self.definitions.spec(keys.tenant, sid, version)
            trial = loop.trial if loop.gate.prospective else None
            since = None if trial is None else trial.since
            n = sum(loop_heldout.testable(log, loop.gate.model_only, since) for log in spec.logs)
            if trial is not None and n >= gate.MIN_DECISIONS:  # its test, and no training
                run = await self._save(keys, run, candidate_model_id=trial.model_id,
                                       tested_since=since, step="deciding")  # fmt: skip
            elif trial is not None:
                why = (f"skipped: {n} decisions logged since candidate {trial.model_id} went "
                       f"on trial, fewer than {gate.MIN_DECISIONS}")  # fmt: skip
                return await self._end(keys, run, "skipped", why)
            elif n < gate.MIN_DECISIONS and not loop.gate.prospective:
                why = (f"skipped: {n} held-out decisions to test on, fewer than "
                       f"{gate.MIN_DECISIONS}")  # fmt: skip
                return await self._end(keys, run, "skipped", why)
            else:
                run = await self._save(keys, run, step="training")
        if run.step == "training":
            run = await self._train(keys, loop, run)
            if run.outcome is not None:
                return run
            if loop.gate.prospective:
                return await self._put_on_trial(keys, loop, run)
            run = await self._save(keys, run, step="deciding")
        if run.step == "deciding":
            run = await self._decide(keys, loop, run)
            if run.outcome is not None:
                return run
        return await self._promote(keys, run)

    async def _train(self, keys: Keys, loop: LoopRecord, run: LoopRunRecord) -> LoopRunRecord:
        """Start the candidate's session (the run's id as its Idempotency-Key: started once,
        however often this step is done, until its id is recorded) and wait for its end."""
        session_id = run.session_id
        if session_id is None:
            # From the serving model's weights, where they fit (Run.start_from).
            serving = (await aliases.get(self.store, keys, loop.alias)).model_id
            episodes = loop.max_episodes or await self._episodes(keys, run.scenario_id)
            body = TrainingStartRequest(
                scenario_id=run.scenario_id, max_episodes=episodes, warm_start=serving
            )
            started = await training.start_training(body, self.store, keys, self.bus,
                                                    self.api_settings, idempotency_key=run.run_id)  # fmt: skip
            session_id = started.session_id
            run = await self._save(keys, run, session_id=session_id)
        while True:
            entry = await self.store.get(keys.session(session_id))
            session = SessionRecord.load(entry.value)
            if session.status.terminal:
                break
            await asyncio.sleep(SESSION_POLL_S)
        if session.model_id is None:
            said = f": {session.error}" if session.error else ""
            why = f"failed: the candidate's session ended {session.status}{said}"
            return await self._end(keys, run, "failed", why)
        if session.scenario_version != run.version:  # the version it was started on, not newer
            run = await self._save(keys, run, version=session.scenario_version)
        if loop.shadow or loop.gate.prospective:
            await self._shadow(keys, loop, session.model_id)
        return await self._save(keys, run, candidate_model_id=session.model_id)

    async def _episodes(self, keys: Keys, sid: str) -> int | None:
        found = await lookups.own_scenario(self.store, keys, sid)
        if found is None:
            return None
        counts = found[0].counts
        return candidate_episodes(counts.logs_with_reward, counts.tasks,
                                  found[0].hyperparameters.max_episodes)  # fmt: skip

    async def _put_on_trial(
        self, keys: Keys, loop: LoopRecord, run: LoopRunRecord
    ) -> LoopRunRecord:
        """A prospective loop's candidate, trained and shadowing: the next run tests it on the
        decisions logged from now (put on trial again if this step is done twice: later, so
        on fewer decisions, none of which it trained on)."""
        assert run.candidate_model_id is not None
        trial = Trial(model_id=run.candidate_model_id, since=time.time(), run_id=run.run_id)
        await _touch_loop(self.store, keys, run.scenario_id, trial=trial)
        why = (f"trial: candidate {run.candidate_model_id} is on trial; the next run tests it on "
               "the decisions logged from now, its first choice served on half of the "
               "gateways' exploring")  # fmt: skip
        return await self._end(keys, run, "trial", why)

    async def _decide(self, keys: Keys, loop: LoopRecord, run: LoopRunRecord) -> LoopRunRecord:
        """The gate, on the version's held-out decisions: candidate minus the model the alias
        names now. The loop's test count goes up once per run (the run keeps its number)."""
        assert run.candidate_model_id is not None and run.version is not None
        alias = await aliases.get(self.store, keys, loop.alias)
        if alias.model_id == run.candidate_model_id:
            await self._trial_ends(keys, run)
            return await self._end(keys, run, "kept", "kept: the alias names the candidate already")
        test = run.verdict.test if run.verdict else await _next_test(self.store, keys, loop)
        candidate = await self._served(keys, run.candidate_model_id)
        serving = await self._served(keys, alias.model_id)
        spec = await self.definitions.spec(keys.tenant, run.scenario_id, run.version)
        tested = loop_heldout.tested_on(spec, loop.gate.model_only, run.tested_since)
        paired = await asyncio.to_thread(paired_difference, candidate, serving, tested,
                                         loop.gate.estimator == "dr")  # fmt: skip
        coverage = (paired.disagreed, paired.candidate_served)
        own = run.tested_since is not None  # a trial's: worth what speaks for its own choices
        found = gate.decide(paired.terms, paired.own_ess if own else paired.ess, test,
                            loop.gate.margin, model_only_allowed=loop.gate.model_only,
                            coverage=coverage, own=own)  # fmt: skip
        floor = loop_heldout.floor(paired.serving)
        why = found.why
        if run.tested_since is not None:
            if await self._trial_goes_on(keys, loop, found):
                why += "; its trial goes on"
            else:
                await self._trial_ends(keys, run)
        verdict = Verdict(test=test, difference=found.difference, lower=found.lower,
                          upper=found.upper, alpha=found.alpha, n=found.n, ess=found.ess,
                          promote=found.promote, disagreed=paired.disagreed,
                          candidate_served=paired.candidate_served)  # fmt: skip
        run = await self._save(keys, run, verdict=verdict, why=why, floor=floor,
                               serving_model_id=alias.model_id, alias_version=alias.version)  # fmt: skip
        if not found.promote:
            outcome: loops.Outcome = "skipped" if why.startswith("skipped") else "kept"
            return await self._end(keys, run, outcome, why)
        return await self._save(keys, run, step="promoting")

    async def _trial_goes_on(self, keys: Keys, loop: LoopRecord, found: gate.Verdict) -> bool:
        """Whether a trial whose test fell short of evidence (too few decisions worth it) is
        tested again, on more, by the next run (at most TRIAL_TESTS times: a candidate that
        seldom chooses otherwise would keep the loop from training anew)."""
        trial = loop.trial
        short = found.ess is not None and found.ess < gate.MIN_TRIAL_ESS and not found.promote
        if trial is None or not short or trial.tests + 1 >= TRIAL_TESTS:
            return False
        tested = trial.model_copy(update={"tests": trial.tests + 1})
        await _touch_loop(self.store, keys, loop.scenario_id, trial=tested)
        return True

    async def _trial_ends(self, keys: Keys, run: LoopRunRecord) -> None:
        """The trial tested, the loop's next run trains anew."""
        if run.tested_since is not None:
            await _touch_loop(self.store, keys, run.scenario_id, trial=None)

    async def _promote(self, keys: Keys, run: LoopRunRecord) -> LoopRunRecord:
        """Put the candidate in service: the alias moved to it, or with a canary share, served
        beside it on that share of requests; then watched (trainer/loop_watch.py). Unless the
        alias moved since the run decided (the run loses, and says so); a step done already (a
        run taken over) is found done and not done again."""
        assert run.candidate_model_id is not None and run.alias_version is not None
        loop = await loops.get(self.store, keys, run.scenario_id)
        by = f"loop run {run.run_id}"
        current = await aliases.get(self.store, keys, loop.alias)
        canary = loop.canary > 0
        done = any(change.by == by for change in current.history) or (
            current.canary is not None and current.canary.run_id == run.run_id
        )
        # A trial's candidate shadows no more once it serves: the next run puts another on.
        trial_over = loop.gate.prospective and current.shadow == run.candidate_model_id
        shadow = None if trial_over else current.shadow
        try:
            if done:
                pass
            elif canary:
                share = Canary(
                    model_id=run.candidate_model_id, share=loop.canary, run_id=run.run_id
                )
                await aliases.serve_beside(self.store, keys, loop.alias, canary=share,
                                           shadow=shadow, expected=run.alias_version)  # fmt: skip
            else:
                moved = await aliases.move(self.store, keys, loop.alias, run.candidate_model_id,
                                           by=by, why=run.why, expected=run.alias_version)  # fmt: skip
                if shadow != moved.shadow:
                    with contextlib.suppress(AliasMovedError):  # moved again: theirs, then
                        await aliases.serve_beside(self.store, keys, loop.alias, canary=None,
                                                   shadow=shadow, expected=moved.version)  # fmt: skip
        except AliasMovedError as exc:
            why = (f"kept: the gate said {run.why}, but alias {loop.alias!r} was moved "
                   f"meanwhile (to {exc.model_id}, by {exc.by}): nothing was changed")  # fmt: skip
            return await self._end(keys, run, "kept", why)
        counts = await snapshots.counts_of(self.store, keys, run.scenario_id)
        watched = Watch(model_id=run.candidate_model_id, previous_model_id=current.model_id,
                        floor=run.floor if run.floor is not None else -1.0, run_id=run.run_id,
                        canary=canary, since=time.time(), after=counts.decisions_after)  # fmt: skip
        await _touch_loop(self.store, keys, run.scenario_id, watch=watched)
        if canary:
            why = (f"canary: {run.why}; serving {loop.canary:.0%} of requests, promoted "
                   "fully once its own outcomes hold")  # fmt: skip
            return await self._end(keys, run, "canary", why)
        return await self._end(keys, run, "promoted", run.why or "promoted")

    async def _shadow(self, keys: Keys, loop: LoopRecord, model_id: str) -> None:
        """Have gateways following the alias score every request with the candidate too, and
        log its choice beside the one served (the latest candidate; best effort: an alias
        moved meanwhile is read again once)."""
        for _ in range(2):
            current = await aliases.get(self.store, keys, loop.alias)
            try:
                await aliases.serve_beside(self.store, keys, loop.alias, canary=current.canary,
                                           shadow=model_id, expected=current.version)  # fmt: skip
                return
            except AliasMovedError:
                continue

    async def _served(self, keys: Keys, model_id: str) -> Served:
        record = ModelRecord.load((await self.store.get(keys.model(model_id))).value)
        data = await self.artifacts.get(record.bundle)
        return await asyncio.to_thread(Served, data)

    async def _new_decisions(self, keys: Keys, loop: LoopRecord) -> int:
        """Decisions the loop has not run on yet: snapshotted since its last run, and waiting
        in the stream for the next snapshot (counted up to what makes it due)."""
        counts = await snapshots.counts_of(self.store, keys, loop.scenario_id)
        counted = max(0, counts.decisions - loop.decisions_taken)
        wanted = loop.every_decisions
        if wanted is None or counted >= wanted:
            return counted
        sid, cursor = loop.scenario_id, counts.decisions_after
        _, held = await self.bus.decisions_kept(keys.tenant, sid, cursor)
        if counted + held < wanted:  # a decision is one item at least: it cannot be due
            return counted + held
        while counted < wanted:
            page, cursor = await self.bus.decisions(keys.tenant, sid, cursor, DECISIONS_PAGE)
            counted += sum(json.loads(data).get("kind") == "decision" for _, data in page)
            if len(page) < DECISIONS_PAGE:
                break
        return counted

    async def _renew(self, keys: Keys, sid: str, lease: Lease) -> None:
        held: Lease | None = lease
        while held is not None:
            await asyncio.sleep(self.lease_s / 3)
            held = await loops.renew_lease(self.store, keys, sid, held, self.lease_s)

    async def _save(self, keys: Keys, run: LoopRunRecord, **changes: object) -> LoopRunRecord:
        if changes.get("step", run.step) != run.step:  # the step before ends: its time kept
            now = time.time()
            spent = dict(run.seconds)
            if run.step_began is not None:
                spent[run.step] = spent.get(run.step, 0.0) + now - run.step_began
            changes |= {"seconds": spent, "step_began": now}
        saved = await loops.save_run(self.store, keys, run.model_copy(update=changes))
        if "step" in changes and self.step_pause_s:
            await asyncio.sleep(self.step_pause_s)
        return saved

    async def _end(
        self, keys: Keys, run: LoopRunRecord, outcome: loops.Outcome, why: str
    ) -> LoopRunRecord:
        ended = await self._save(keys, run, step="done", outcome=outcome, why=why,
                                 finished_at=utc_now())  # fmt: skip
        logger.info("loop %s: run %s %s", run.scenario_id, run.run_id, why)
        with contextlib.suppress(AgentGymError):
            await loops.prune_runs(self.store, keys, run.scenario_id)
        return ended

    async def _end_unstarted(self, keys: Keys, sid: str, run_id: str, why: str) -> None:
        with contextlib.suppress(KeyNotFoundError):
            run = await loops.get_run(self.store, keys, sid, run_id)
            if run.outcome is None and run.step == "queued":
                await self._end(keys, run, "skipped", why)


def candidate_episodes(logs: int, tasks: int, allowed: IntRange) -> int:
    """A candidate's episodes where the loop names none: each log and task about twice (a
    candidate learns from every decision logged so far, and a session's default, made for a
    scenario's tasks, does not visit thousands of logs once), at least MIN_EPISODES, within
    the scenario's range."""
    return int(max(allowed.min, min(allowed.max, max(MIN_EPISODES, 2 * (logs + tasks)))))


async def _in_progress(msg: Msg, every_s: float) -> None:
    """Tell JetStream the run goes on, so its message is not given to another trainer."""
    while True:
        await asyncio.sleep(every_s)
        with contextlib.suppress(Exception):  # a missed one is made up by the next
            await msg.in_progress()


async def _current_version(store: KeyValueStore, keys: Keys, sid: str) -> str | None:
    found = await lookups.own_scenario(store, keys, sid)
    return None if found is None else found[0].version


async def _touch_loop(store: KeyValueStore, keys: Keys, sid: str, **changes: object) -> LoopRecord:
    return (
        await modify(
            store, keys.loop(sid), LoopRecord, lambda found: found.model_copy(update=changes)
        )
    )[0]


async def _next_test(store: KeyValueStore, keys: Keys, loop: LoopRecord) -> int:
    """The loop's next test's number, counted in the loop before the test is made: a test
    made twice (a run taken over) spends more of the error rate, never less."""
    counted, _ = await modify(store, keys.loop(loop.scenario_id), LoopRecord,
                              lambda found: found.model_copy(update={"tests": found.tests + 1}))  # fmt: skip
    return counted.tests
