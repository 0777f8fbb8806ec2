"""The scenarios as Gymnasium environments: an agent resolves one task per episode with tools.

Each step the agent calls one tool or finishes. A call to the next tool of the task's solution
makes progress, unless the tool fails transiently, which changes nothing: a good policy then
retries or falls back. The tool's fallback stands in for it only right after it failed (were
it right at any time, a fallback that never fails would beat the tool it stands in for, and a
policy would learn to skip the tool the task names). Any other tool is a mistake: it costs, and
the task can no longer be solved exactly. So is a call to a tool the task does not offer (its
`tools`, in the observation's `available` mask and the info's `available` names): a policy
should never make one. The episode is solved exactly when the agent makes no mistake and
finishes right after the last tool of the solution.

    import gymnasium, trainer.env
    env = gymnasium.make("agentgym/CustomerSupport-v1")
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

import gymnasium
import numpy as np
from gymnasium import spaces

from agentgym.contracts import Split
from trainer import scenarios
from trainer.model.features import FAILED, OK, WRONG
from trainer.scenarios.base import ScenarioSpec, TaskSpec

# Rewards (a scenario's `rewards`; these are their defaults): a solved task is worth 1 and
# each step of progress half that; a failed call or a wrong tool costs a little (time
# passes). Leaving a task unfinished, by finishing early or running out of steps, costs as
# much as solving earns. Mistakes stay cheap so that trying is always worth more than giving
# up at once; that they cost anything is what makes a policy that reaches the goal directly
# better than one that wanders there.
REWARD_SOLVED = 1.0
REWARD_PROGRESS = 0.5
REWARD_FAILED_CALL = -0.02
REWARD_MISTAKE = -0.05
REWARD_UNFINISHED = -1.0

# The version of these rules in every Gymnasium id: a change to the rewards, the observation
# or the dynamics is a new version (a scenario's tasks are versioned by the scenario).
ENV_VERSION = 1  # 1: a fallback is right only right after its tool failed


def falls_back(spec: ScenarioSpec, tool: str, expected: str, failed: str | None) -> bool:
    """Whether calling `tool` is the fallback of the `expected` one, right after a call to
    that tool (or to the fallback itself) just `failed`."""
    fallback = spec.fallbacks.get(expected)
    return tool == fallback and failed in (expected, fallback)


def gym_id(scenario_id: str) -> str:
    """A scenario's Gymnasium id: "customer_support" is "agentgym/CustomerSupport-v1"."""
    name = "".join(word.capitalize() for word in scenario_id.split("_"))
    return f"agentgym/{name}-v{ENV_VERSION}"


GYM_IDS = {scenario_id: gym_id(scenario_id) for scenario_id in scenarios.SCENARIOS}


@dataclass
class EpisodeState:
    """What has happened so far in one episode: the policy reads it, with the task's text."""

    task: TaskSpec
    done: list[str] = field(default_factory=list)  # solution tools completed, in order
    failed: str | None = None  # the tool whose call just failed, if the last call failed
    wrong: set[str] = field(default_factory=set)  # tools called wrongly since the last progress
    steps: int = 0
    mistakes: int = 0
    solved: bool = False
    calls: list[tuple[str, bool]] = field(default_factory=list)  # (tool, succeeded)
    # The calls as the policy reads them: (tool index, OK, FAILED or WRONG), in order.
    history: list[tuple[int, int]] = field(default_factory=list)


class ToolUseEnv(gymnasium.Env[dict[str, Any], int]):
    metadata = {"render_modes": ["ansi"]}  # noqa: RUF012 - Gymnasium's own declaration

    def __init__(
        self,
        spec: ScenarioSpec,
        split: str = "train",
        tasks: Sequence[TaskSpec] | None = None,
        render_mode: str | None = None,
    ) -> None:
        self.spec_ = spec  # `spec` is Gymnasium's (the registration's)
        if tasks is None:
            if split not in get_args(Split):
                raise ValueError(f"split is one of {get_args(Split)}")
            train, heldout = spec.split()
            tasks = train if split == "train" else heldout
        self.tasks = tuple(tasks)
        self.tools = spec.tools
        self.index = {tool: i for i, tool in enumerate(self.tools)}
        self.finish = len(self.tools)  # the last action ends the episode
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(len(self.tools) + 1)  # type: ignore[assignment]
        n = len(self.tools)
        longest = max((len(t.solution) for t in spec.tasks), default=1)
        self.observation_space = spaces.Dict(
            {
                "task": spaces.Text(
                    max_length=max((len(t.text) for t in spec.tasks), default=1),
                    charset=frozenset("".join(t.text for t in spec.tasks)) or frozenset("a"),
                ),
                "done": spaces.MultiBinary(n),  # which solution tools are done
                "failed": spaces.Discrete(n + 1),  # the tool that just failed; n: none
                "wrong": spaces.MultiBinary(n),  # tools called wrongly since the last progress
                "available": spaces.MultiBinary(n),  # the tools this task offers
                "steps": spaces.Discrete(self.max_steps_for(longest) + 1),
                # Mistakes so far: after one the task can no longer be solved exactly, which
                # nothing else in the observation says once the agent makes progress again.
                "mistakes": spaces.Discrete(self.max_steps_for(longest) + 1),
            }
        )
        self.episode: EpisodeState | None = None
        self._offer: tuple[str, ...] | None = None  # the tools the mask and set below are of
        self._available: frozenset[str] = frozenset()
        self._mask = np.zeros(n, dtype=np.int8)

    def twin(self) -> ToolUseEnv:
        """Another environment of the same tasks that draws from this one's generator (and
        shares its spaces, which take long to build for large scenarios): episodes played in
        step draw from one stream, as one environment's would."""
        twin = copy.copy(self)
        twin.episode = None
        twin._np_random = self.np_random
        return twin

    @staticmethod
    def max_steps_for(solution_length: int) -> int:
        """Room for every step, a retry of each, and a finish."""
        return 2 * solution_length + 2

    def observe(self) -> dict[str, Any]:
        assert self.episode is not None
        done = np.zeros(len(self.tools), dtype=np.int8)
        for tool in self.episode.done:
            done[self.index[tool]] = 1
        wrong = np.zeros(len(self.tools), dtype=np.int8)
        for tool in self.episode.wrong:
            wrong[self.index[tool]] = 1
        failed = len(self.tools) if self.episode.failed is None else self.index[self.episode.failed]
        return {
            "task": self.episode.task.text,
            "done": done,
            "failed": failed,
            "wrong": wrong,
            "available": self._mask.copy(),
            "steps": self.episode.steps,
            "mistakes": self.episode.mistakes,
        }

    def info(self) -> dict[str, Any]:
        assert self.episode is not None
        return {
            "task_id": self.episode.task.id,
            "intent": self.episode.task.intent,
            "solution": self.episode.task.solution,
            "calls": list(self.episode.calls),
            "solved": self.episode.solved,
            "available": self.spec_.available(self.episode.task),
        }

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        self.begin(options["task"] if options and "task" in options else None)
        return self.observe(), self.info()

    def begin(self, task: TaskSpec | None = None) -> None:
        """Start an episode of `task` (None: one drawn from the tasks), as `reset` does without
        the observation: the trainer reads the episode's state, not an observation's arrays."""
        if task is None:
            task = self.tasks[int(self.np_random.integers(len(self.tasks)))]
        self.episode = EpisodeState(task=task)
        available = self.spec_.available(task)
        if available is not self._offer:  # tasks offering the same tools share one tuple
            self._offer = available
            self._available = frozenset(available)
            self._mask = np.zeros(len(self.tools), dtype=np.int8)
            self._mask[[self.index[tool] for tool in available]] = 1

    def step(self, action: int) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        reward, terminated, truncated = self.advance(action)
        return self.observe(), reward, terminated, truncated, self.info()

    def advance(self, action: int) -> tuple[float, bool, bool]:
        """`step` without the observation and info: (reward, terminated, truncated)."""
        episode = self.episode
        if episode is None:
            raise RuntimeError("call reset() before step()")
        episode.steps += 1
        solution = episode.task.solution
        rewards = self.spec_.rewards
        reward, terminated = 0.0, False
        if action == self.finish:
            terminated = True
            complete = len(episode.done) == len(solution)
            episode.solved = complete and episode.mistakes == 0
            reward = rewards.solved if episode.solved else (0.0 if complete else rewards.unfinished)
        else:
            tool = self.tools[int(action)]
            expected = solution[len(episode.done)] if len(episode.done) < len(solution) else None
            right = (
                expected is not None
                and tool in self._available
                and (tool == expected or falls_back(self.spec_, tool, expected, episode.failed))
            )
            fails = right and self.np_random.random() < self.spec_.failure_rates.get(tool, 0.0)
            episode.calls.append((tool, not fails))
            episode.history.append((int(action), WRONG if not right else FAILED if fails else OK))
            if not right:
                episode.mistakes += 1
                episode.wrong.add(tool)
                episode.failed = None
                reward = rewards.mistake
            elif fails:
                episode.failed = tool
                reward = rewards.failed_call
            else:
                assert expected is not None
                episode.done.append(expected)
                episode.wrong.clear()
                episode.failed = None
                reward = rewards.progress
        truncated = not terminated and episode.steps >= self.max_steps_for(len(solution))
        if truncated:
            reward += rewards.unfinished
        return reward, terminated, truncated

    def render(self) -> str | None:
        if self.episode is None:
            return None
        calls = ", ".join(f"{tool}{'' if ok else ' (failed)'}" for tool, ok in self.episode.calls)
        return (
            f"{self.episode.task.text}\n  -> {calls or 'no calls'}; solved: {self.episode.solved}"
        )


def from_scenario(scenario_id: str, **kwargs: Any) -> ToolUseEnv:
    """The environment of a built-in scenario, by id (what Gymnasium's registry makes)."""
    return ToolUseEnv(scenarios.get(scenario_id), **kwargs)


def register() -> None:
    """Register the built-in scenarios with Gymnasium (safe to call again)."""
    for scenario_id, gym_id in GYM_IDS.items():
        if gym_id not in gymnasium.registry:
            gymnasium.register(
                id=gym_id,
                entry_point="trainer.env:from_scenario",
                kwargs={"scenario_id": scenario_id},
            )


register()

__all__ = [
    "GYM_IDS",
    "EpisodeState",
    "ScenarioSpec",
    "ToolUseEnv",
    "falls_back",
    "from_scenario",
    "gym_id",
    "register",
]
