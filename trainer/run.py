"""One training run: a scenario's environment, a learner, its metrics, checkpoints and bundle.

No I/O here: the worker and `agentgym train` drive it. Everything random is drawn from two
seeded generators (the environment's and the policy's), both saved in a checkpoint, so a run
restored from one continues exactly as the uninterrupted run does.

The model a run packs is its best, chosen fairly: a validation split is carved from the
training tasks (VALIDATION_SHARE of each intent, stable by a hash of the task ids; training
never sees it), every evaluation also scores the policy on it, and the policy that scored best
there is kept, with the episode it is from. The held-out split only reports.
"""

from __future__ import annotations

import io
import json
import zlib
from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agentgym import weights as learner_weights
from agentgym.bundle import Manifest, describe, pack, unpack
from agentgym.contracts import Framework, utc_now
from agentgym.errors import BundleError
from agentgym.weights import LEARNER_NAME
from trainer import meaning
from trainer.env import ToolUseEnv
from trainer.features import Context
from trainer.learner import (
    Params,
    Policy,
    dense,
    identity_dropout,
    params_of,
    sparse,
    weights_of,
)
from trainer.loss import Step
from trainer.recorded import FINISH, Record, analyze, record
from trainer.scenarios.base import ScenarioSpec, Task

WINDOW = 100  # accuracy, reward and loss are over the last 100 episodes
EVAL_SEED = 2_147_483_647  # evaluations draw their tool failures from their own stream
CHECKPOINT_FORMAT = "agentgym-checkpoint/4"
MAX_OFFERS = 4096  # distinct sets of offered tools remembered
VALIDATION_SHARE = 0.125  # of each intent's training tasks, to choose the best policy by
MAX_VALIDATION = 500  # validation tasks at most, so an evaluation's cost stays bounded
# Held-out tasks evaluated while training (a fixed sample, by task id hash, when there are
# more); the evaluation of a finished run, and `evaluate()`, take them all.
MAX_EVALUATED = 1000
# Training episodes recorded (trainer.recorded): one in RECORD_EVERY, and whichever the worker
# asks for (the last before each update it publishes).
RECORD_EVERY = 50


@dataclass
class Evaluation:
    accuracy: float  # percent of tasks solved exactly, acting greedily
    avg_reward: float
    # Per tool: precision (of its calls, the share that were the right choice; None if never
    # called) and recall (of the solution steps needing it, the share completed).
    per_tool: dict[str, dict[str, float | None]] = field(default_factory=dict)
    # The rest of trainer.recorded.analyze's figures: confusion, per_intent, mean_calls,
    # recovery (empty for an evaluation asked for its accuracy only).
    analytics: dict[str, Any] = field(default_factory=dict)
    episodes: list[Record] = field(default_factory=list)  # each task's record, in task order


# A request is in scope when at least this share of its words' features were trained (the
# policy's own rows for them are not zero): measured on the built-in scenarios' held-out
# requests against off-topic ones (tests/trainer/test_acting.py).
IN_SCOPE = 0.6


@dataclass(frozen=True)
class Decision:
    """What a model would do next for a request (`Run.act`)."""

    next: str  # a tool, or "finish"
    probabilities: dict[str, float]  # of each tool on offer, and of "finish"
    plan: list[str]  # the greedy sequence of tools from here, assuming each call succeeds
    confidence: float  # the share of the request's word features the model trained on
    in_scope: bool  # whether the request is like those it trained on


class CheckpointError(ValueError):
    """A checkpoint this run cannot continue from: another format, scenario or version."""


@dataclass
class Best:
    """The policy that did best on the validation tasks so far."""

    episode: int
    accuracy: float  # on the validation tasks
    avg_reward: float  # on the validation tasks: breaks ties of accuracy
    heldout_accuracy: float
    params: Params


def _rank(task: Task) -> tuple[int, str]:
    return zlib.crc32(task.id.encode()), task.id


def sample(tasks: tuple[Task, ...], size: int) -> tuple[Task, ...]:
    """At most `size` of `tasks`, in task order: those whose ids hash lowest."""
    if len(tasks) <= size:
        return tasks
    kept = {t.id for t in sorted(tasks, key=_rank)[:size]}
    return tuple(t for t in tasks if t.id in kept)


def validation_split(tasks: Sequence[Task]) -> tuple[tuple[Task, ...], tuple[Task, ...]]:
    """(training tasks, validation tasks), each in task order: of each intent, the
    VALIDATION_SHARE of tasks whose ids hash lowest (CRC32, so the same in every process);
    at most MAX_VALIDATION, the lowest hashes kept."""
    by_intent: dict[str, list[Task]] = defaultdict(list)
    for task in tasks:
        by_intent[task.intent].append(task)

    chosen: list[Task] = []
    for group in by_intent.values():
        chosen += sorted(group, key=_rank)[: int(len(group) * VALIDATION_SHARE + 0.5)]
    held = {t.id for t in sorted(chosen, key=_rank)[:MAX_VALIDATION]}
    return (
        tuple(t for t in tasks if t.id not in held),
        tuple(t for t in tasks if t.id in held),
    )


AUTO = "auto"  # a new run's encoder: the sentence encoder if it reads this scenario


class Run:
    def __init__(
        self,
        spec: ScenarioSpec,
        learning_rate: float,
        seed: int,
        max_episodes: int,
        encoder: str | None = AUTO,
    ) -> None:
        """`encoder`: the name of the sentence encoder the policy reads requests with (None:
        words alone; AUTO: trainer/meaning.py's choice for a new run); LookupError if this
        machine does not have it."""
        self.spec = spec
        self.encoder = (
            meaning.for_tasks(len(spec.tasks)) if encoder == AUTO else meaning.named(encoder)
        )
        if self.encoder is not None:
            self.encoder.read([task.text for task in spec.tasks])
        train, self.heldout = spec.split()
        self.heldout_sample = sample(self.heldout, MAX_EVALUATED)
        self.training_tasks, self.validation = validation_split(train)
        self.env = ToolUseEnv(spec, tasks=self.training_tasks)
        self.learning_rate = learning_rate
        self.seed = seed
        self.max_episodes = max_episodes
        if self.training_tasks:  # a run made to act has none (Run.from_bundle)
            self.env.reset(seed=seed)
        self.rng = np.random.default_rng([seed, 1])  # action sampling, identity dropout
        self.usage = Counter(tool for task in self.training_tasks for tool in set(task.solution))
        self.policy = self._policy(self.usage)
        self.episode = 0
        self.solved: deque[bool] = deque(maxlen=WINDOW)
        self.returns: deque[float] = deque(maxlen=WINDOW)
        self.losses: deque[float] = deque(maxlen=WINDOW)
        self.heldout_accuracy = 0.0
        self.heldout_episode: int | None = None  # the episode it was last measured at
        self.best: Best | None = None
        # What the worker has not taken yet (it drains both after every call into the slot):
        # episodes recorded, and the report of the latest held-out evaluation.
        self.recorded: list[Record] = []
        self.report: dict[str, Any] | None = None
        self._last: tuple[Task, list[Step], dict[str, Any]] | None = None  # unless recorded
        self.evaluated_at = -1  # the episode of the last validation
        self._eval_envs: dict[int, ToolUseEnv] = {}
        self._offers: dict[tuple[str, ...], tuple[int, ...]] = {}

    def _policy(self, usage: dict[str, int]) -> Policy:
        spec, encoder = self.spec, self.encoder
        reads = None if encoder is None else encoder.meaning
        return Policy(spec.tools, None, spec.descriptions, spec.fallbacks, usage, reads)

    @property
    def encoder_name(self) -> str | None:
        return None if self.encoder is None else self.encoder.name

    @property
    def finished(self) -> bool:
        return self.episode >= self.max_episodes

    def _offered(self, task: Task) -> tuple[int, ...]:
        """The indices of the tools `task` offers."""
        tools = self.spec.available(task)
        offered = self._offers.get(tools)
        if offered is None:
            if len(self._offers) >= MAX_OFFERS:  # bounded: a task of its own offer each
                self._offers.clear()
            offered = self._offers[tools] = tuple(sorted(self.env.index[t] for t in tools))
        return offered

    def _play(
        self, env: ToolUseEnv, greedy: bool, task: Task | None = None
    ) -> tuple[list[Step], dict[str, Any], Context]:
        obs, info = env.reset(options={"task": task} if task else None)
        assert env.episode is not None
        context = self.policy.context(obs["task"], self._offered(env.episode.task))
        if not greedy and self.rng.random() < identity_dropout(self.episode):
            context = context.without_identity()
        n = len(self.spec.tools)
        description = self.policy.description_logits(context)  # the same all episode long
        steps: list[Step] = []
        while True:
            failed = int(obs["failed"])
            rows = self.policy.observe(
                context,
                np.flatnonzero(obs["done"]),
                np.flatnonzero(obs["wrong"]),
                None if failed == n else failed,
                bool(obs["mistakes"]),
            )
            probs, value = self.policy.forward(context, rows, description)
            if greedy:
                action = int(probs.argmax())
            else:  # inverse-CDF sampling: what rng.choice does, without its overhead
                action = min(
                    int(np.searchsorted(np.cumsum(probs), self.rng.random())), len(probs) - 1
                )
            tool = int(context.candidates[action]) if action < len(context.candidates) else n
            obs, reward, terminated, truncated, info = env.step(tool)
            steps.append(Step(rows, probs, value, action, float(reward)))
            if terminated or truncated:
                return steps, info, context

    def train_episode(self) -> None:
        steps, info, context = self._play(self.env, greedy=False)
        loss = self.policy.update(context, steps, self.learning_rate, bool(info["solved"]))
        self.episode += 1
        self.solved.append(bool(info["solved"]))
        self.returns.append(sum(s.reward for s in steps))
        self.losses.append(loss)
        assert self.env.episode is not None
        self._last = (self.env.episode.task, steps, info)
        if self.episode % RECORD_EVERY == 0:
            self.record_last()

    def record_last(self) -> None:
        """Record the last training episode, unless it already is."""
        if self._last is not None:
            task, steps, info = self._last
            self.recorded.append(record(self.spec, task, steps, info, "train", self.episode))
            self._last = None

    def metrics(self) -> dict[str, float | int | None]:
        """The session status fields this run owns."""
        return {
            "current_episode": self.episode,
            "accuracy": 100.0 * sum(self.solved) / len(self.solved) if self.solved else 0.0,
            "avg_reward": float(np.mean(self.returns)) if self.returns else 0.0,
            "loss": float(np.mean(self.losses)) if self.losses else 0.0,
            "heldout_accuracy": self.heldout_accuracy,
            "heldout_episode": self.heldout_episode,
        }

    def evaluate(self, tasks: tuple[Task, ...] | None = None, analytics: bool = True) -> Evaluation:
        """Act greedily on every held-out task (or `tasks`); changes nothing in the run. With
        `analytics`, each episode is recorded and every figure of trainer.recorded.analyze is
        counted; without, only the accuracy and the average reward."""
        tasks = tasks if tasks is not None else self.heldout
        env = self._eval_envs.get(id(tasks))
        if env is None or env.tasks is not tasks:
            env = ToolUseEnv(self.spec, tasks=tasks)
            if any(tasks is t for t in (self.heldout, self.heldout_sample, self.validation)):
                self._eval_envs[id(tasks)] = env
        if tasks:
            env.reset(seed=EVAL_SEED)
        records, solved, total = [], 0, 0.0
        for task in tasks:
            steps, info, _ = self._play(env, greedy=True, task=task)
            if analytics:
                records.append(record(self.spec, task, steps, info, "heldout", self.episode))
            else:
                solved += info["solved"]
                total += sum(s.reward for s in steps)
        if not analytics:
            count = max(len(tasks), 1)
            return Evaluation(100.0 * solved / count, total / count)
        figures = analyze(records, self.spec.tools)
        accuracy, avg_reward, per_tool = (
            figures.pop("accuracy"),
            figures.pop("avg_reward"),
            figures.pop("per_tool"),
        )
        return Evaluation(accuracy, avg_reward, per_tool, figures, records)

    def evaluate_heldout(self) -> float:
        """Evaluate the policy on the held-out tasks (the figure reported: while the run trains,
        on at most MAX_EVALUATED of them) and on the validation tasks, keeping it as the best
        if it did at least as well there as the best so far (later wins a tie: it has trained
        longer on the same evidence)."""
        self.record_last()  # the episode before it, so that records stay in episode order
        tasks = self.heldout if self.finished else self.heldout_sample
        evaluation = self.evaluate(tasks)
        self.heldout_accuracy, self.heldout_episode = evaluation.accuracy, self.episode
        self.recorded += evaluation.episodes
        self.report = {
            "episode": self.episode,
            "heldout_accuracy": evaluation.accuracy,
            "avg_reward": evaluation.avg_reward,
            "tasks": len(tasks),
            "per_tool": evaluation.per_tool,
            **evaluation.analytics,
        }
        if self.evaluated_at != self.episode:
            self.evaluated_at = self.episode
            scored = self.evaluate(self.validation, analytics=False)
            best = self.best
            if best is None or (scored.accuracy, scored.avg_reward) >= (
                best.accuracy,
                best.avg_reward,
            ):
                self.best = Best(
                    self.episode,
                    scored.accuracy,
                    scored.avg_reward,
                    self.heldout_accuracy,
                    self.policy.snapshot(into=None if best is None else best.params),
                )
        return self.heldout_accuracy

    # --- checkpoints and bundles ---------------------------------------------------------------

    def checkpoint(self) -> bytes:
        """Everything needed to continue exactly: weights, optimizer, RNGs, episode, metrics,
        and the best policy so far."""
        best = self.best
        meta = {
            "format": CHECKPOINT_FORMAT,
            "scenario_id": self.spec.id,
            "scenario_version": self.spec.version,
            "learning_rate": self.learning_rate,
            "seed": self.seed,
            "max_episodes": self.max_episodes,
            "episode": self.episode,
            "solved": list(self.solved),
            "returns": list(self.returns),
            "losses": list(self.losses),
            "heldout_accuracy": self.heldout_accuracy,
            "heldout_episode": self.heldout_episode,
            "evaluated_at": self.evaluated_at,
            "best": None
            if best is None
            else [best.episode, best.accuracy, best.avg_reward, best.heldout_accuracy],
            "rng": self.rng.bit_generator.state,
            "env_rng": self.env.np_random.bit_generator.state,
            "encoder": self.encoder_name,
        }
        arrays: dict[str, Any] = {
            "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            **self.policy.arrays(),
            **(sparse(best.params, "best_") if best is not None else {}),
        }
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def restore(cls, data: bytes, spec: ScenarioSpec) -> Run:
        """The run a checkpoint of `spec`'s scenario holds; CheckpointError for another's, or
        for one of another trainer format."""
        with np.load(io.BytesIO(data)) as stored:
            meta = json.loads(stored["meta"].tobytes())
            if meta.get("format") != CHECKPOINT_FORMAT:
                raise CheckpointError(
                    f"the session's checkpoint ({meta.get('format')!r}) was written by another "
                    f"version of the trainer, which this one ({CHECKPOINT_FORMAT}) cannot "
                    "continue; its model and numbers stay, start a new session to train on"
                )
            if (meta["scenario_id"], meta["scenario_version"]) != (spec.id, spec.version):
                raise CheckpointError(
                    f"a checkpoint of {meta['scenario_id']} version "
                    f"{meta['scenario_version']}, not of {spec.id} version {spec.version}"
                )
            try:
                run = cls(
                    spec,
                    meta["learning_rate"],
                    meta["seed"],
                    meta["max_episodes"],
                    meta.get("encoder"),  # None before encoders: words alone
                )
            except LookupError as exc:
                raise CheckpointError(f"the session cannot continue here: {exc}") from None
            run.policy.load_arrays(stored)
            if meta["best"] is not None:
                episode, accuracy, avg_reward, heldout = meta["best"]
                run.best = Best(episode, accuracy, avg_reward, heldout, dense(stored, "best_"))
        run.episode = meta["episode"]
        run.solved.extend(meta["solved"])
        run.returns.extend(meta["returns"])
        run.losses.extend(meta["losses"])
        run.heldout_accuracy = meta["heldout_accuracy"]
        run.heldout_episode = meta.get("heldout_episode")  # None in earlier checkpoints
        run.evaluated_at = meta["evaluated_at"]
        run.rng.bit_generator.state = meta["rng"]
        run.env.np_random.bit_generator.state = meta["env_rng"]
        return run

    def bundle(self, framework: Framework, created_at: str | None = None) -> tuple[Manifest, bytes]:
        """The model bundle of the best policy, the one as it is now a candidate too (it is
        evaluated first if it was not)."""
        if self.evaluated_at != self.episode:
            self.evaluate_heldout()
        best = self.best
        assert best is not None
        weights = weights_of(best.params)
        manifest = describe(
            weights,
            scenario_id=self.spec.id,
            scenario_version=self.spec.version,
            learner=LEARNER_NAME,
            encoder=self.encoder_name,
            framework=framework,
            hyperparameters={
                "max_episodes": self.max_episodes,
                "learning_rate": self.learning_rate,
                "seed": self.seed,
            },
            metrics={
                "accuracy": self.metrics()["accuracy"],
                "heldout_accuracy": best.heldout_accuracy,
                "avg_reward": self.metrics()["avg_reward"],
                "episodes": self.episode,
                "best_episode": best.episode,
            },
            created_at=created_at or utc_now(),
            tools=[
                {
                    "name": tool,
                    "description": self.spec.descriptions.get(tool, ""),
                    "fallback": self.spec.fallbacks.get(tool),
                    "uses": self.usage.get(tool, 0),
                }
                for tool in self.spec.tools
            ],
        )
        return manifest, pack(manifest, weights)

    def choose_tools(self, text: str, tools: Sequence[str] | None = None) -> list[str]:
        """The tools the policy would call, in order, for a new request offering `tools` (None:
        all of the scenario's): acting greedily and assuming each call succeeds, until it
        chooses to finish. ValueError for a tool the scenario does not have."""
        return self.act(text, (), tools).plan

    def act(
        self,
        text: str,
        calls: Sequence[tuple[str, bool]],
        tools: Sequence[str] | None = None,
    ) -> Decision:
        """The policy's next choice for a request after `calls` ((tool, succeeded), in order),
        offering `tools` (None: all of the scenario's): the probability of each tool on offer
        and of finishing, and the greedy plan from here, assuming each call succeeds. A call
        that succeeded counts as done (no one here knows the solution); a failed last call is
        the one that just failed. ValueError for a tool the scenario does not have."""
        index = self.env.index
        unknown = [t for t in [*(tools or ()), *(tool for tool, _ in calls)] if t not in index]
        if unknown:
            raise ValueError(f"{self.spec.id} has no tools {sorted(set(unknown))}")
        offered = sorted({index[t] for t in tools}) if tools is not None else None
        policy = self.policy
        context = policy.context(text, offered)
        done = list(dict.fromkeys(index[tool] for tool, ok in calls if ok))
        failed = index[calls[-1][0]] if calls and not calls[-1][1] else None
        probs, _ = policy.forward(context, policy.observe(context, sorted(done), (), failed))
        names = [self.spec.tools[int(t)] for t in context.candidates] + [FINISH]
        probabilities = {name: float(p) for name, p in zip(names, probs, strict=True)}
        plan: list[str] = []
        step = probs
        while len(done) < ToolUseEnv.max_steps_for(len(context.candidates)):
            action = int(step.argmax())
            if action == len(context.candidates):  # finished
                break
            tool = int(context.candidates[action])
            if tool in done:  # would repeat itself
                break
            done.append(tool)
            plan.append(self.spec.tools[tool])
            step, _ = policy.forward(context, policy.observe(context, sorted(done)))
        familiarity = policy.familiarity(context)
        return Decision(
            next=names[int(probs.argmax())],
            probabilities=probabilities,
            plan=plan,
            confidence=familiarity,
            in_scope=familiarity >= IN_SCOPE,
        )

    @classmethod
    def from_bundle(cls, data: bytes, spec: ScenarioSpec | None = None) -> tuple[Run, Manifest]:
        """A run holding a bundle's policy, to act with or evaluate (not to train on). `spec`
        is the bundle's scenario, to evaluate on its tasks; None acts with the tools the bundle
        names (a bundle alone suffices), or with its built-in scenario's for a bundle that
        names none. BundleError if the bundle is of another scenario or its weights are not
        this learner's."""
        manifest, weights = unpack(data)
        if spec is None:
            spec = _spec_of_manifest(manifest)
        if spec.id != manifest.scenario_id:
            raise BundleError(f"a bundle of {manifest.scenario_id}, not of {spec.id}")
        # Checked before numpy sees them, whatever wrote the bundle (imports are checked too).
        learner_weights.check(weights, manifest.learner, len(spec.tools))
        hp = manifest.hyperparameters
        try:
            run = cls(spec, hp.learning_rate, hp.seed, hp.max_episodes, manifest.encoder)
        except LookupError as exc:
            raise BundleError(str(exc)) from None
        if manifest.tools:  # the policy reads the tools exactly as it did when it trained
            run.policy = run._policy({tool.name: tool.uses for tool in manifest.tools})
        run.policy.load_params(params_of(weights))
        run.episode = manifest.metrics.episodes
        return run, manifest


def _spec_of_manifest(manifest: Manifest) -> ScenarioSpec:
    """The scenario as far as acting needs it: its tools, from the bundle (no tasks)."""
    if not manifest.tools:
        from trainer import scenarios

        try:
            return scenarios.get(manifest.scenario_id)
        except KeyError as exc:
            raise BundleError(exc.args[0]) from None
    return ScenarioSpec(
        id=manifest.scenario_id,
        version=manifest.scenario_version,
        tools=tuple(tool.name for tool in manifest.tools),
        tasks=(),
        descriptions={tool.name: tool.description for tool in manifest.tools},
        fallbacks={tool.name: tool.fallback for tool in manifest.tools if tool.fallback},
    )
