"""Where a model's training episodes come from: one protocol, a source per kind of data.

- `Demonstrations`: a task's solution, imitated step by step (teacher forcing): the data's own
  answer, learned as a classifier learns, with the tool failures the scenario says happen (a
  failed call, then the same call again).
- `Simulator`: the task played on-policy in the scenario's environment, learned from its reward
  (the policy gradient, with the value as baseline) and from its own right calls.
- `Logged` (trainer/training/logged.py): the episodes agents played (their traces) and how they
  ended, learned off-policy.

Each gives a `Trajectory`: the decisions made, the action taken at each, the weight of its
log-likelihood and the return the value should predict, which `Model.learn` takes as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from agentgym.contracts import SOURCES
from trainer.env import ToolUseEnv
from trainer.model.config import Config
from trainer.model.features import FAILED, OK, Context, State, Step
from trainer.model.model import Model
from trainer.model.scoring import choose
from trainer.scenarios.base import ScenarioSpec, TaskSpec

DEMONSTRATIONS, SIMULATOR, LOGS = SOURCES  # their names, as the API takes them


@dataclass
class Trajectory:
    """One episode to learn from, and what it came to."""

    source: str
    task: TaskSpec
    steps: list[Step] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)  # within each step's actions
    weights: list[float] = field(default_factory=list)  # of each action's log-likelihood
    returns: list[float] = field(default_factory=list)  # what the value should predict ...
    valued: list[bool] = field(default_factory=list)  # ... where it should
    # What the episode did, as trainer.recorded records it: (tool, succeeded) per call, and
    # per step (the last may be the finish) the probability the policy gave it and its reward.
    calls: list[tuple[str, bool]] = field(default_factory=list)
    probabilities: list[float] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    # A logged episode's, per step: whether it went well (its return above the reward model's
    # baseline): what its record calls right, a log having no solution to compare with.
    judged: list[bool] = field(default_factory=list)
    solved: bool = False

    @property
    def reward(self) -> float:
        return sum(self.rewards)


class Source(Protocol):
    """Gives episodes to learn from; everything random is drawn from `rng` (the run's, or
    the environment's)."""

    name: str

    def episodes(self, model: Model, rng: np.random.Generator, count: int) -> list[Trajectory]: ...


class Offers:
    """The tool indices each task offers, kept per distinct offer (bounded)."""

    LIMIT = 1 << 18  # indices kept at most, whatever the offers' lengths; dropped whole past it

    def __init__(self, spec: ScenarioSpec, index: dict[str, int]) -> None:
        self.spec = spec
        self.index = index
        self._known: dict[tuple[str, ...], tuple[int, ...]] = {}
        self._held = 0

    def __call__(self, task: TaskSpec) -> tuple[int, ...]:
        tools = self.spec.available(task)
        offered = self._known.get(tools)
        if offered is None:
            if self._held + len(tools) > self.LIMIT:
                self._known.clear()
                self._held = 0
            offered = self._known[tools] = tuple(sorted(self.index[t] for t in tools))
            self._held += len(offered)
        return offered

    def right(self, task: TaskSpec) -> tuple[int, ...]:
        """The tools of `task`'s solution: training scores them whatever a shortlist holds
        (as a retriever's training adds the positives), so that they are learned and the
        policy's own retrieval finds them after (trainer/model/features.py)."""
        return tuple(sorted({self.index[t] for t in task.solution}))


class Demonstrations:
    name: str = DEMONSTRATIONS

    def __init__(self, spec: ScenarioSpec, tasks: Sequence[TaskSpec], config: Config) -> None:
        self.spec = spec
        self.tasks = tuple(t for t in tasks)
        self.config = config
        self.index = {tool: i for i, tool in enumerate(spec.tools)}
        self.offers = Offers(spec, self.index)

    def episodes(self, model: Model, rng: np.random.Generator, count: int) -> list[Trajectory]:
        return [self.episode(model, rng) for _ in range(count)]

    def episode(self, model: Model, rng: np.random.Generator) -> Trajectory:
        task = self.tasks[int(rng.integers(len(self.tasks)))]
        context = model.context(task.text, self.offers(task), self.offers.right(task))
        episode = Trajectory(self.name, task, solved=True)
        calls: list[tuple[int, int]] = []
        for tool in task.solution:
            tool_index = self.index[tool]
            # A call that fails transiently, as the scenario says it may, is made again.
            if rng.random() < self.spec.failure_rates.get(tool, 0.0):
                self._imitate(episode, context, calls, tool_index)
                calls.append((tool_index, FAILED))
                episode.calls.append((tool, False))
            self._imitate(episode, context, calls, tool_index)
            calls.append((tool_index, OK))
            episode.calls.append((tool, True))
        self._imitate(episode, context, calls, None)
        return dropout(episode, self.config, rng)

    def _imitate(
        self,
        episode: Trajectory,
        context: Context,
        calls: list[tuple[int, int]],
        tool: int | None,
    ) -> None:
        """Learn to make call `tool` (None: finish) after `calls`; a tool the decision does
        not score (left off its shortlist) teaches nothing there."""
        action = context.n_actions - 1 if tool is None else context.position(tool)
        if action is None:
            return
        episode.steps.append(context.step(State.of_calls(calls)))
        episode.actions.append(action)
        episode.weights.append(self.config.demonstration)
        episode.returns.append(0.0)
        episode.valued.append(False)
        episode.probabilities.append(1.0)
        episode.rewards.append(0.0)


class Simulator:
    name: str = SIMULATOR

    def __init__(self, spec: ScenarioSpec, env: ToolUseEnv, config: Config) -> None:
        self.spec = spec
        self.env = env
        self.envs: list[ToolUseEnv] = [env]
        self.config = config
        self.offers = Offers(spec, env.index)

    def episodes(self, model: Model, rng: np.random.Generator, count: int) -> list[Trajectory]:
        while len(self.envs) < count:  # twins of the environment, drawing from its generator
            self.envs.append(self.env.twin())
        return self.play(model, rng, self.envs[:count])

    def play(
        self,
        model: Model,
        rng: np.random.Generator | None,
        envs: Sequence[ToolUseEnv],
        tasks: Sequence[TaskSpec] | None = None,
        taught: bool = True,
    ) -> list[Trajectory]:
        """Play an episode in each environment (of `tasks`, or ones the environments draw),
        all in step: one scoring call a step decides for every episode still going. Sampling
        the policy with `rng`, or greedily where it is None. `taught`: the solution's tools
        are among those scored (training); otherwise only what the shortlist finds (an
        evaluation, as acting is)."""
        n = len(self.spec.tools)
        games: list[_Game] = []
        if tasks is not None:
            envs = envs[: len(tasks)]
        for i, env in enumerate(envs):
            env.begin(tasks[i] if tasks is not None else None)
            assert env.episode is not None
            task = env.episode.task
            shown = self.offers.right(task) if taught else ()
            context = model.context(task.text, self.offers(task), shown)
            games.append(_Game(env, context, Trajectory(self.name, task)))
        going = games
        while going:
            states = [State.of_calls(game.env.episode.history) for game in going]  # type: ignore[union-attr]
            steps = [game.context.step(state) for game, state in zip(going, states, strict=True)]
            probs, offsets, values = model.decide_many(steps)
            draws = rng.random(len(going)) if rng is not None else None
            actions = choose(probs, offsets, draws).tolist()
            chosen = probs[offsets[:-1] + actions].tolist()
            still = []
            for k, game in enumerate(going):
                action = actions[k]
                candidates = game.context.candidates
                tool = int(candidates[action]) if action < len(candidates) else n
                reward, terminated, truncated = game.env.advance(tool)
                episode = game.episode
                episode.steps.append(steps[k])
                episode.actions.append(action)
                episode.probabilities.append(chosen[k])
                episode.rewards.append(float(reward))
                game.values.append(float(values[k]))
                played = game.env.episode
                assert played is not None
                right = played.history[-1][1] == OK if tool < n else played.solved
                game.rights.append(right)
                if not (terminated or truncated):
                    still.append(game)
            going = still
        return [self._finish(game) for game in games]

    def _finish(self, game: _Game) -> Trajectory:
        episode, config = game.episode, self.config
        assert game.env.episode is not None
        episode.calls = list(game.env.episode.calls)
        episode.solved = bool(game.env.episode.solved)
        advantages, returns = _advantages(episode.rewards, game.values, config)
        episode.weights = [
            config.advantage * a + (config.imitation if right else 0.0)
            for a, right in zip(advantages, game.rights, strict=True)
        ]
        episode.returns = returns
        episode.valued = [True] * len(returns)
        return episode


@dataclass
class _Game:
    """An episode being played: its environment, its request, and what it came to so far."""

    env: ToolUseEnv
    context: Context
    episode: Trajectory
    values: list[float] = field(default_factory=list)
    rights: list[bool] = field(default_factory=list)


def dropout(episode: Trajectory, config: Config, rng: np.random.Generator) -> Trajectory:
    """The episode as learned from: each of the request's word features left out with
    probability `text_dropout` (the same ones at every step), so that no one word, a name or
    an order number, can carry a decision alone; and with probability `identity_dropout`, the
    tools read by their descriptions alone (their words crossed with each tool left out), which
    is what scores a tool training seldom saw."""
    if config.text_dropout <= 0.0 or not episode.steps:
        return episode
    first = episode.steps[0]
    keep = rng.random(first.words) >= config.text_dropout
    keep = np.tile(keep, first.width // len(keep))
    scale = 1.0 / (1.0 - config.text_dropout)
    identity = rng.random() >= config.identity_dropout
    factor = first.dropout_factor(keep, scale, identity)  # every step's: they share a request
    episode.steps = [step.dropped(factor, identity) for step in episode.steps]
    return episode


def _advantages(
    rewards: Sequence[float], values: Sequence[float], config: Config
) -> tuple[list[float], list[float]]:
    """Each step's advantage (generalized advantage estimation: mostly the step's own reward
    and the value of where it led, so a right call is credited at once rather than through
    the noise of all that followed) and its value target."""
    advantages = [0.0] * len(rewards)
    running, following = 0.0, 0.0
    for i in range(len(rewards) - 1, -1, -1):
        delta = rewards[i] + config.gamma * following - values[i]
        running = delta + config.gamma * config.gae_lambda * running
        advantages[i] = running
        following = values[i]
    return advantages, [a + v for a, v in zip(advantages, values, strict=True)]


def sources_of(spec: ScenarioSpec, names: Sequence[str] | None) -> tuple[str, ...]:
    """The sources a run of `spec` learns from: `names`, or every one its data has (tasks:
    demonstrations and the simulator; logs with an outcome: logs). ValueError for a source
    its data cannot feed."""
    has = data_sources(spec)
    if names is None:
        return has
    unknown = sorted(set(names) - set(SOURCES))
    if unknown or not names:
        raise ValueError(f"sources are one or more of {list(SOURCES)}; got {list(names)}")
    missing = [name for name in names if name not in has]
    if missing:
        raise ValueError(f"{spec.id} has no data for sources {missing}: it has {list(has)}")
    return tuple(name for name in SOURCES if name in names)


def data_sources(spec: ScenarioSpec) -> tuple[str, ...]:
    """The sources `spec`'s data can feed."""
    tasks = any(task.split == "train" for task in spec.tasks)
    logs = any(log.split == "train" and log.reward is not None for log in spec.logs)
    return (DEMONSTRATIONS, SIMULATOR) * tasks + (LOGS,) * logs
