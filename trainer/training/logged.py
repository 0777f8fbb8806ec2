"""Learning from logged episodes: what agents did and how it ended, with no answer key (issue 29).

A scenario's training logs are a source of the one training loop (trainer/training/sources.py)
as its tasks are. Each logged step (every call, in order, then the finish) is a decision in
the state the calls before it made; what it is worth is its **return**, the documented credit
rule for multi-step logs: the episode's outcome, plus the step's own reward and those of the
steps after it where the trace gave them (undiscounted: an outcome is the whole episode's, and
every call that led to it shares it).

- **Probabilities logged** (every call of the log has the probability the logging policy gave
  it: the gateway's own decisions, traces carrying `agentgym.probability`): the doubly-robust
  policy gradient. The logged action's log-likelihood is weighted by w * (return - r(a)), w =
  policy / logging probability clipped at `log_clip` and self-normalised over the batch; every
  other action's by policy(b) * (r(b) - v), the reward model's value of the actions not taken
  (v: its value of the policy there, a baseline). Per-decision weights (a step's own ratio, not
  the product along the episode): biased where earlier calls differ, the variance of the
  product being unusable past a few steps.
- **Probabilities missing** (the usual case: an LLM agent logs none, near temperature 0, so its
  logs say nothing of what it did not do): filtered imitation. A step whose return beats the
  reward model's value of the logging policy (what its calls earn on average) is imitated as a
  demonstration is; the rest teach nothing. No probability is made up (1/K would pretend the
  agent explored).

The reward model (trainer/reward_model.py's `NearestRewards`: what calls earned in the most
similar logged requests) is cross-fitted: the logs are dealt into two halves, and a log is
learned with the model fitted on the other half.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agentgym.contracts import SOURCES, LogsLearned
from trainer.model.config import Config
from trainer.model.decision import FINISH
from trainer.model.features import FAILED, OK, State, Step
from trainer.model.model import Model
from trainer.reward_model import NearestRewards, Neighbours, vectors
from trainer.scenarios.base import LogSpec, ScenarioSpec, TaskSpec
from trainer.training.sources import Trajectory, dropout

LOGS = SOURCES[2]


@dataclass(frozen=True)
class Usable:
    """A training log as it is learned: its calls as tool indices, the tools it offered, and
    each step's return (its calls', then its finish's)."""

    log: LogSpec
    task: TaskSpec  # its request as a task (no solution): what a trajectory records
    calls: tuple[tuple[int, int], ...]  # (tool index, OK or FAILED)
    offered: tuple[int, ...]
    returns: tuple[float, ...]
    weighted: bool  # every call carries the logging policy's probability
    half: int  # which half of the logs it is in (cross-fitting)


def steps_of(usable: Usable) -> list[tuple[str, float]]:
    """(tool, return) of each of the log's steps, its finish last: what a reward model fits."""
    tools = [call.tool for call in usable.log.calls] + [FINISH]
    return list(zip(tools, usable.returns, strict=True))


def returns_of(log: LogSpec) -> tuple[float, ...]:
    """Each step's return by the credit rule above: the calls', then the finish's."""
    outcome = float(log.reward or 0.0)
    following = 0.0
    returns = [outcome]
    for call in reversed(log.calls):
        following += call.reward or 0.0
        returns.append(outcome + following)
    return tuple(reversed(returns))


class Logged:
    """The scenario's training logs with an outcome, learned off-policy."""

    name: str = LOGS

    def __init__(self, spec: ScenarioSpec, config: Config) -> None:
        self.config = config
        index = {tool: i for i, tool in enumerate(spec.tools)}
        usable: list[Usable] = []
        unused = 0
        for log in spec.logs:
            if log.split != "train":
                continue
            offered = spec.tools if log.tools is None else log.tools
            if (
                log.reward is None
                or not log.text
                or not log.calls
                or any(t not in index for t in offered)
                or any(c.tool not in index for c in log.calls)
            ):
                unused += 1
                continue
            usable.append(
                Usable(
                    log,
                    TaskSpec(log.id, log.text, (), "", "train", log.tools),
                    tuple((index[c.tool], OK if c.succeeded else FAILED) for c in log.calls),
                    tuple(sorted({index[t] for t in offered} | {index[c.tool] for c in log.calls})),
                    returns_of(log),
                    all(c.probability is not None for c in log.calls),
                    len(usable) % 2,
                )
            )
        self.logs = tuple(usable)
        # For a log of each half, the reward model fitted on the other half's steps, and the
        # log's neighbours in it (made at the first episode, by the model's reading of texts).
        self._fitted: tuple[tuple[NearestRewards, ...], list[Neighbours | None]] | None = None
        # As tasks, the logs that ended well (a positive outcome), with their successful calls:
        # what the model reads as the tools being called for (their usage, Toolbox's).
        self.ended_well = tuple(
            TaskSpec(u.log.id, u.log.text, tuple(c.tool for c in u.log.calls if c.succeeded), "")
            for u in self.logs
            if (u.log.reward or 0.0) > 0.0
        )
        weighted = sum(u.weighted for u in self.logs)
        imitated = len(self.logs) - weighted
        self.learned = LogsLearned(
            how="both"
            if weighted and imitated
            else "importance-weighted"
            if weighted
            else "imitation",
            weighted=weighted,
            imitated=imitated,
            unused=unused,
        )

    def _fit(self, model: Model) -> tuple[tuple[NearestRewards, ...], list[Neighbours | None]]:
        if self._fitted is None:
            models = tuple(
                NearestRewards(
                    [u.log.text for u in self.logs if u.half != half],
                    [steps_of(u) for u in self.logs if u.half != half],
                    model.meaning,
                )
                for half in (0, 1)
            )
            found: list[Neighbours | None] = [None] * len(self.logs)
            for half in (0, 1):
                at = [i for i, u in enumerate(self.logs) if u.half == half]
                if not at or models[half].vectors is None:
                    continue
                rows = vectors([self.logs[i].log.text for i in at], model.meaning)
                nearest, weights = models[half].neighbours(rows)
                for k, i in enumerate(at):
                    found[i] = (nearest[k], weights[k])
            self._fitted = models, found
        return self._fitted

    def episodes(self, model: Model, rng: np.random.Generator, count: int) -> list[Trajectory]:
        models, found = self._fit(model)
        drawn = [int(rng.integers(len(self.logs))) for _ in range(count)]
        played = [self._episode(model, i, models[self.logs[i].half], found[i]) for i in drawn]
        # Self-normalised: the importance weights of the batch's logged actions, over their mean.
        ratios = [ratio for _, weighted in played for _, ratio, _ in weighted]
        if ratios:
            mean = max(float(np.mean(ratios)), 1e-12)
            for episode, weighted in played:
                for at, ratio, error in weighted:
                    episode.weights[at] += ratio / mean * error
        return [dropout(episode, self.config, rng) for episode, _ in played]

    def _episode(
        self, model: Model, i: int, reward_of: NearestRewards, neighbours: Neighbours | None
    ) -> tuple[Trajectory, list[tuple[int, float, float]]]:
        """Log `i`'s steps to learn from, and (where each logged action's weight is, its
        clipped importance ratio) to self-normalise."""
        config, usable = self.config, self.logs[i]
        log = usable.log
        if neighbours is None:
            neighbours = np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
        musts = tuple(sorted({tool for tool, _ in usable.calls}))
        context = model.context(log.text, usable.offered, musts)
        calls = [(c.tool, c.succeeded) for c in log.calls]
        episode = Trajectory(self.name, usable.task, calls=calls)
        weighted: list[tuple[int, float, float]] = []
        names = [model.tools[int(t)] for t in context.candidates] + [FINISH]
        agreed = True
        value = 0.0
        baseline = reward_of.overall
        for at, ret in enumerate(usable.returns):
            finish = at == len(usable.calls)
            action = context.n_actions - 1 if finish else context.position(usable.calls[at][0])
            # Recorded, every step: the policy's probability of what was logged, and whether
            # the step went well (a log has no solution to say whether it was right).
            episode.judged.append(ret > baseline)
            episode.rewards.append(0.0)
            if action is None:
                episode.probabilities.append(0.0)
                continue
            step, probs, _ = model.decide(context, State.of_calls(usable.calls[:at]))
            episode.probabilities.append(float(probs[action]))
            predicted = reward_of.predict(neighbours, names, at)
            expected = float(probs @ predicted)  # the reward model's value of the policy here
            if at == 0:
                value = expected
            if ret > baseline:
                agreed = agreed and int(probs.argmax()) == action
            probability = None if finish else log.calls[at].probability
            if ret <= baseline:
                continue  # nothing learned from what went worse (the module's docstring)
            _add(episode, step, action, config.demonstration)
            if usable.weighted and probability is not None:
                ratio = min(float(probs[action]) / probability, config.log_clip)
                weighted.append((len(episode.weights) - 1, ratio, ret - float(predicted[action])))
        episode.rewards[0] = value  # what the reward model says the policy earns on this request
        episode.solved = agreed
        return episode, weighted


def _add(episode: Trajectory, step: Step, action: int, weight: float) -> None:
    episode.steps.append(step)
    episode.actions.append(action)
    episode.weights.append(weight)
    episode.returns.append(0.0)
    episode.valued.append(False)  # the value is the simulated policy's, not the logging one's
