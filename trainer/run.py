"""One training run: a model, the sources it learns from, its metrics and its best so far.

The training loop (trainer/training/loop.py) drives it: `update` plays one batch of episodes
from the sources and learns from it; evaluation, recording and checkpoints hang off the loop
as callbacks. Everything random is drawn from two seeded generators (the environment's and the
run's), both saved in a checkpoint, so a run restored from one continues exactly as the
uninterrupted run does.

The model a run packs is its best, chosen fairly: a validation split is carved from the
training tasks (training never sees it), every evaluation also scores the model on it, and the
model that scored best there is kept, with the episode it is from. The held-out split only
reports.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from agentgym import weights as learner_weights
from agentgym.act import ActAnswer
from agentgym.bundle import Manifest, describe, pack, unpack
from agentgym.contracts import EpisodeRecord, Framework, KFold, utc_now
from agentgym.errors import BundleError
from agentgym.weights import LEARNER_NAME
from trainer import checkpoints, meaning, scenarios
from trainer.checkpoints import Best
from trainer.env import ToolUseEnv
from trainer.logged_value import logged_value
from trainer.model.calibration import fit_policy
from trainer.model.config import Config
from trainer.model.conformal import Conformal
from trainer.model.decision import FINISH, decide
from trainer.model.making import make_model
from trainer.model.model import params_of, weights_of
from trainer.model.scope import Scope, measure_of, unfitted
from trainer.model.scoring import Targets
from trainer.model.toolbox import tool_texts, usage_terms
from trainer.recorded import record
from trainer.scenarios.base import ScenarioSpec, TaskSpec
from trainer.training.evaluation import Evaluation, Evaluator, sample, validation_split
from trainer.training.logged import LOGS, Logged
from trainer.training.loop import crossed
from trainer.training.sources import (
    DEMONSTRATIONS,
    SIMULATOR,
    Demonstrations,
    Simulator,
    Source,
    Trajectory,
    sources_of,
)

AUTO = "auto"  # a new run's encoder: the sentence encoder if it reads this scenario

__all__ = ["AUTO", "FINISH", "Evaluation", "Run"]


class Run:
    def __init__(
        self,
        spec: ScenarioSpec,
        learning_rate: float,
        seed: int,
        max_episodes: int,
        encoder: str | None = AUTO,
        config: Config | None = None,
        sources: Sequence[str] | None = None,
    ) -> None:
        """`encoder`: the name of the sentence encoder the model reads requests with (None:
        words alone; AUTO: trainer/meaning.py's choice for a new run); LookupError if this
        machine does not have it. `sources`: what it learns from (None: all its data has)."""
        self.spec = spec
        self.config = config = config or Config()
        self.encoder = (
            meaning.for_tasks(len(spec.tasks) + len(spec.logs))
            if encoder == AUTO
            else meaning.named(encoder)
        )
        if self.encoder is not None:
            requests = [task.text for task in spec.tasks] + [log.text for log in spec.logs]
            self.encoder.read(requests + tool_texts(spec))
        train, self.heldout = spec.split()
        self.heldout_sample = sample(self.heldout, config.max_evaluated)
        self.training_tasks, self.validation = validation_split(
            train, config.validation_share, config.max_validation
        )
        self.learning_rate = learning_rate
        self.seed = seed
        self.max_episodes = max_episodes
        self.source_names = sources_of(spec, sources)
        self.env = ToolUseEnv(spec, tasks=self.training_tasks)
        if self.training_tasks:  # a run made to act has none (Run.from_bundle)
            self.env.reset(seed=seed)
        self.rng = np.random.default_rng([seed, 1])  # sources, action sampling, dropout
        self.logged = Logged(spec, config) if LOGS in self.source_names else None
        self.warm_started: bool | None = None  # start_from's say (None: not asked)
        # What the tools are called for: the training tasks, and the logs that ended well.
        known = self.training_tasks + (() if self.logged is None else self.logged.ended_well)
        self.usage = Counter(tool for task in known for tool in set(task.solution))
        self.usage_terms = usage_terms(known, config.usage_terms)
        texts = [task.text for task in self.training_tasks]
        if self.logged is not None:
            texts += [usable.log.text for usable in self.logged.logs]
        self.model = make_model(spec, config, self.encoder, texts, self.usage, self.usage_terms)
        self.simulator = Simulator(spec, self.env, config)
        self.sources: list[Source] = []
        if DEMONSTRATIONS in self.source_names and self.training_tasks:
            self.sources.append(Demonstrations(spec, self.training_tasks, config))
        if SIMULATOR in self.source_names:
            self.sources.append(self.simulator)
        if self.logged is not None and self.logged.logs:
            self.sources.append(self.logged)
        self.evaluator = Evaluator(spec, self.simulator)
        self.episode = 0
        self.solved: deque[bool] = deque(maxlen=config.window)
        self.returns: deque[float] = deque(maxlen=config.window)
        self.losses: deque[float] = deque(maxlen=config.window)
        self.heldout_accuracy = 0.0
        self.heldout_episode: int | None = None  # the episode it was last measured at
        self.heldout_n = 0  # ... on this many tasks
        self.best: Best | None = None
        self.kfold: KFold | None = None  # its recipe's k-fold estimate (training/crossval.py)
        # What the worker has not taken yet (it drains both after every call into the slot):
        # episodes recorded, and the report of the latest held-out evaluation.
        self.recorded: list[EpisodeRecord] = []
        self._evaluated: list[
            EpisodeRecord
        ] = []  # the latest evaluation's episodes, if not recorded
        self.report: dict[str, Any] | None = None
        self._last: tuple[Trajectory, int] | None = None  # the last simulated one, unless recorded
        self.evaluated_at = -1  # the episode of the last validation
        self.evaluation_due = False  # one was put off (training.loop.Evaluating)

    @property
    def encoder_name(self) -> str | None:
        return None if self.encoder is None else self.encoder.name

    @property
    def finished(self) -> bool:
        return self.episode >= self.max_episodes

    # --- training --------------------------------------------------------------------------------

    def update(self) -> None:
        """Play a batch of episodes, each from a source drawn by its share, and learn from
        them in one step. Batches end at multiples of `batch` (and at the last episode): where
        a run stops and resumes changes nothing in what it learns."""
        config = self.config
        if not self.sources:
            raise ValueError(
                f"{self.spec.id} has nothing to learn from: no training tasks, and no training "
                "logs with an outcome"
            )
        size = min(config.batch - self.episode % config.batch, self.max_episodes - self.episode)
        drawn = [self._source() for _ in range(size)]
        episodes = [
            episode
            for source in self.sources
            for episode in source.episodes(self.model, self.rng, drawn.count(source))
        ]
        steps = [step for e in episodes for step in e.steps]
        if steps:
            targets = Targets(
                actions=np.array([a for e in episodes for a in e.actions], dtype=np.intp),
                weights=np.array([w for e in episodes for w in e.weights]),
                returns=np.array([r for e in episodes for r in e.returns]),
                valued=np.array([v for e in episodes for v in e.valued], dtype=bool),
            )
            self.losses.append(self.model.learn(steps, targets, self.learning_rate))
        # Training accuracy and reward are the simulated episodes', or with none, the logs' (the
        # share agreeing with every step that went well; the reward model's value).
        measured = SIMULATOR if SIMULATOR in self.source_names else LOGS
        for episode in episodes:
            self.episode += 1
            if episode.source == measured:
                self.solved.append(episode.solved)
                self.returns.append(episode.reward)
                self._last = (episode, self.episode)

    def _source(self) -> Source:
        """One source, drawn by its share: of the logs' (`log_share`, where there are tasks
        too) and of the tasks' (demonstrations, `demonstration_share`; the simulator)."""
        if len(self.sources) == 1:
            return self.sources[0]
        draw = self.rng.random()
        tasks = self.sources
        if self.logged is not None and self.sources[-1] is self.logged:
            if draw < self.config.log_share:
                return self.logged
            draw = (draw - self.config.log_share) / (1.0 - self.config.log_share)
            tasks = self.sources[:-1]
        if len(tasks) == 1:
            return tasks[0]
        return tasks[0 if draw < self.config.demonstration_share else 1]

    def record_evaluation(self) -> None:
        """Record the episodes of the latest held-out evaluation, unless they already are."""
        self.recorded += self._evaluated
        self._evaluated = []

    def record_last(self) -> None:
        """Record the last simulated training episode, unless it already is."""
        if self._last is not None:
            episode, number = self._last
            self.recorded.append(record(self.spec, episode, "train", number))
            self._last = None

    def start_from(self, data: bytes) -> bool:
        """Begin from a saved model's weights where they fit: the same learner settings and
        sentence encoder. Its tools may differ: no weight depends on them (features are
        hashed, and the tools are read by their names and descriptions). Whether they did
        (`warm_started`, in the status); where not, the run starts afresh as it would."""
        try:
            other, manifest = Run.from_bundle(data)
        except BundleError:
            self.warm_started = False
            return False
        fits = other.config == self.config and manifest.encoder == self.encoder_name
        if fits:
            self.model.load_params(other.model.params)
        self.warm_started = fits
        return fits

    def metrics(self) -> dict[str, Any]:
        """The session status fields this run owns."""
        started = {} if self.warm_started is None else {"warm_started": self.warm_started}
        return started | {
            "current_episode": self.episode,
            "accuracy": 100.0 * sum(self.solved) / len(self.solved) if self.solved else 0.0,
            "avg_reward": float(np.mean(self.returns)) if self.returns else 0.0,
            "loss": float(np.mean(self.losses)) if self.losses else 0.0,
            "heldout_accuracy": self.heldout_accuracy,
            "heldout_episode": self.heldout_episode,
            "accuracy_n": len(self.solved),
            "heldout_n": self.heldout_n,
            "logs": None if self.logged is None else self.logged.learned,
        }

    # --- evaluation ------------------------------------------------------------------------------

    def evaluate(
        self, tasks: tuple[TaskSpec, ...] | None = None, analytics: bool = True
    ) -> Evaluation:
        """Act greedily on every held-out task (or `tasks`); changes nothing in the run."""
        tasks = tasks if tasks is not None else self.heldout
        return self.evaluator.evaluate(self.model, tasks, self.episode, analytics)

    def evaluate_heldout(self) -> float:
        """Evaluate the model on the held-out tasks (while the run trains, on at most
        `max_evaluated` of them), then `validate` it. Its episodes are recorded at the first
        evaluation, every `record_heldout_every` episodes, at the end and where its model is
        saved (`bundle`)."""
        self.record_last()  # the episode before it, so that records stay in episode order
        self.evaluation_due = False
        tasks = self.heldout if self.finished else self.heldout_sample
        evaluation = self.evaluate(tasks)
        previous = self.heldout_episode
        self.heldout_accuracy, self.heldout_episode = evaluation.accuracy, self.episode
        self.heldout_n = len(tasks)
        self._evaluated = evaluation.episodes
        every = self.config.record_heldout_every
        if previous is None or self.finished or crossed(previous, self.episode, every):
            self.record_evaluation()
        limit = None if self.finished else self.config.max_evaluated
        offline = logged_value(self.model, self.spec.logs, limit)
        self.report = {
            "episode": self.episode,
            "heldout_accuracy": evaluation.accuracy,
            "avg_reward": evaluation.avg_reward,
            "tasks": len(tasks),
            "per_tool": evaluation.per_tool,
            **evaluation.analytics,
            "offline": None if offline is None else dataclasses.asdict(offline),
        }
        self.validate()
        return self.heldout_accuracy

    def validate(self) -> None:
        """Score the model on the validation tasks (once per episode), keeping it as the best
        if it did at least as well as the best so far (later wins a tie: it trained longer)."""
        if self.evaluated_at == self.episode:
            return
        self.evaluated_at = self.episode
        scored = self.evaluate(self.validation, analytics=False)
        best = self.best
        # By reward first: it counts each right step, so it tells models apart on a few long
        # tasks where the share solved whole barely moves.
        if best is None or (scored.avg_reward, scored.accuracy) >= (
            best.avg_reward,
            best.accuracy,
        ):
            measured = self.heldout_episode == self.episode
            self.best = Best(
                self.episode,
                scored.accuracy,
                scored.avg_reward,
                self.heldout_accuracy if measured else 0.0,
                self.model.snapshot(into=None if best is None else best.params),
                self.heldout_n if measured else 0,
            )

    def evaluate_best(self) -> Evaluation:
        """Once training is over: the model becomes the best (the one `bundle` saves, the last
        a candidate too), evaluated on every held-out task, which is then its held-out
        accuracy. A run validated alone (`agentgym train`) measures held-out tasks only here."""
        self.validate()
        best = self.best
        assert best is not None
        self.model.load_params(best.params)
        evaluation = self.evaluate()
        self.heldout_accuracy = best.heldout_accuracy = evaluation.accuracy
        self.heldout_episode = best.episode
        self.heldout_n = best.heldout_n = len(self.heldout)
        return evaluation

    # --- acting ----------------------------------------------------------------------------------

    def act(
        self,
        text: str,
        calls: Sequence[tuple[str, bool]],
        tools: Sequence[str] | None = None,
    ) -> ActAnswer:
        """The model's next choice for a request after `calls` (trainer/model/decision.py)."""
        try:
            return decide(self.model, text, calls, tools)
        except ValueError as exc:
            raise ValueError(f"{self.spec.id}: {exc}") from None

    def choose_tools(self, text: str, tools: Sequence[str] | None = None) -> list[str]:
        """The tools the model would call, in order, for a new request."""
        return self.act(text, (), tools).plan

    # --- checkpoints and bundles -----------------------------------------------------------------

    def checkpoint(self) -> bytes:
        """Everything needed to continue exactly (trainer/checkpoints.py)."""
        return checkpoints.save(self)

    @classmethod
    def restore(cls, data: bytes, spec: ScenarioSpec) -> Run:
        """The run a checkpoint of `spec`'s scenario holds; CheckpointError for another's, or
        for one of another trainer format."""
        return checkpoints.restore(cls, data, spec)

    def bundle(self, framework: Framework, created_at: str | None = None) -> tuple[Manifest, bytes]:
        """The model bundle of the best model, the one as it is now a candidate too (it is
        evaluated first if it was not)."""
        if self.evaluated_at != self.episode:
            self.evaluate_heldout()
        self.record_evaluation()  # what the model saved was measured on
        best = self.best
        assert best is not None
        weights = weights_of(best.params, self.model.references)
        temperature, conformal, scope = fit_policy(self.model, best.params, self.validation)
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
                "sources": list(self.source_names),
                "learner": self.config.to_dict(),
            },
            metrics={
                "accuracy": self.metrics()["accuracy"],
                "heldout_accuracy": best.heldout_accuracy,
                "heldout_n": best.heldout_n,
                "avg_reward": self.metrics()["avg_reward"],
                "episodes": self.episode,
                "best_episode": best.episode,
                "kfold": self.kfold,
            },
            created_at=created_at or utc_now(),
            tools=[
                {
                    "name": tool,
                    "description": self.spec.descriptions.get(tool, ""),
                    "fallback": self.spec.fallbacks.get(tool),
                    "uses": self.usage.get(tool, 0),
                    "terms": self.usage_terms.get(tool, {}),
                }
                for tool in self.spec.tools
            ],
            temperature=temperature,
            conformal=None if conformal is None else dataclasses.asdict(conformal),
            scope=dataclasses.asdict(scope),
        )
        return manifest, pack(manifest, weights)

    @classmethod
    def from_bundle(cls, data: bytes, spec: ScenarioSpec | None = None) -> tuple[Run, Manifest]:
        """A run holding a bundle's model, to act with or evaluate (not to train on). `spec`
        is the bundle's scenario, to evaluate on its tasks; None acts with the tools the bundle
        names (a bundle alone suffices). BundleError if the bundle is of another scenario or
        its weights are not this learner's."""
        manifest, weights = unpack(data)
        if spec is None:
            spec = scenarios.of_manifest(manifest)
        if spec.id != manifest.scenario_id:
            raise BundleError(f"a bundle of {manifest.scenario_id}, not of {spec.id}")
        # Checked before numpy sees them, whatever wrote the bundle (imports are checked too).
        learner_weights.check(weights, manifest.learner)
        hp = manifest.hyperparameters
        try:
            config = Config.from_dict(hp.learner)
            run = cls(spec, hp.learning_rate, hp.seed, hp.max_episodes, manifest.encoder, config)
        except (LookupError, ValueError) as exc:
            raise BundleError(str(exc)) from None
        if manifest.tools:  # it reads the tools exactly as it did when it trained
            run.model = make_model(
                spec,
                config,
                run.encoder,
                (),
                {tool.name: tool.uses for tool in manifest.tools},
                {tool.name: tool.terms for tool in manifest.tools},
            )
        params, references = params_of(weights)
        model = run.model
        model.load_params(params)
        model.references = references if model.meaning is not None else None
        model.temperature = manifest.temperature
        if manifest.conformal is not None:
            model.conformal = Conformal(**manifest.conformal.model_dump())
        # Fitted for the measure it can read (a bundle without references: words alone).
        fitted = manifest.scope
        if fitted is not None and fitted.measure == measure_of(model):
            model.scope = Scope(**fitted.model_dump())
        else:
            model.scope = unfitted(model)
        run.episode = manifest.metrics.episodes
        return run, manifest
