"""One training run: a scenario's environment, a learner, its metrics, checkpoints and bundle.

No I/O here: the worker and `agentgym train` drive it. Everything random is drawn from two
seeded generators (the environment's and the policy's), both saved in a checkpoint, so a run
restored from one continues exactly as the uninterrupted run does.
"""

from __future__ import annotations

import io
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agentgym import weights as learner_weights
from agentgym.bundle import Manifest, describe, pack, unpack
from agentgym.contracts import Framework, utc_now
from agentgym.weights import LEARNER_NAME
from trainer.env import ToolUseEnv
from trainer.learner import Policy, Step
from trainer.scenarios.base import ScenarioSpec, Task

WINDOW = 100  # accuracy, reward and loss are over the last 100 episodes
EVAL_SEED = 2_147_483_647  # held-out evaluation draws its tool failures from its own stream
CHECKPOINT_FORMAT = "agentgym-checkpoint/1"


@dataclass
class Evaluation:
    accuracy: float  # percent of tasks solved exactly, acting greedily
    avg_reward: float
    # Per tool: precision (of its calls, the share that were the right choice; None if never
    # called) and recall (of the solution steps needing it, the share completed).
    per_tool: dict[str, dict[str, float | None]] = field(default_factory=dict)


class Run:
    def __init__(
        self, scenario_id: str, learning_rate: float, seed: int, max_episodes: int
    ) -> None:
        self.env = ToolUseEnv(scenario_id, split="train")
        self.spec: ScenarioSpec = self.env.spec_
        self.learning_rate = learning_rate
        self.seed = seed
        self.max_episodes = max_episodes
        self.env.reset(seed=seed)
        self.rng = np.random.default_rng([seed, 1])  # the policy's action sampling
        self.policy = Policy(self.spec.tools, np.random.default_rng([seed, 0]))
        self.episode = 0
        self.solved: deque[bool] = deque(maxlen=WINDOW)
        self.returns: deque[float] = deque(maxlen=WINDOW)
        self.losses: deque[float] = deque(maxlen=WINDOW)
        self.heldout_accuracy = 0.0

    @property
    def finished(self) -> bool:
        return self.episode >= self.max_episodes

    def _play(
        self, env: ToolUseEnv, greedy: bool, task: Task | None = None
    ) -> tuple[list[Step], dict[str, Any]]:
        obs, info = env.reset(options={"task": task} if task else None)
        steps: list[Step] = []
        while True:
            features = self.policy.features(obs)
            probs, value = self.policy.forward(features)
            if greedy:
                action = int(probs.argmax())
            else:  # inverse-CDF sampling: what rng.choice does, without its overhead
                action = min(
                    int(np.searchsorted(np.cumsum(probs), self.rng.random())), len(probs) - 1
                )
            obs, reward, terminated, truncated, info = env.step(action)
            steps.append(Step(features, probs, value, action, float(reward)))
            if terminated or truncated:
                return steps, info

    def train_episode(self) -> None:
        steps, info = self._play(self.env, greedy=False)
        loss = self.policy.update(steps, self.learning_rate)
        self.episode += 1
        self.solved.append(bool(info["solved"]))
        self.returns.append(sum(s.reward for s in steps))
        self.losses.append(loss)

    def metrics(self) -> dict[str, float | int]:
        """The session status fields this run owns."""
        return {
            "current_episode": self.episode,
            "accuracy": 100.0 * sum(self.solved) / len(self.solved) if self.solved else 0.0,
            "avg_reward": float(np.mean(self.returns)) if self.returns else 0.0,
            "loss": float(np.mean(self.losses)) if self.losses else 0.0,
            "heldout_accuracy": self.heldout_accuracy,
        }

    def evaluate(self, tasks: tuple[Task, ...] | None = None) -> Evaluation:
        """Act greedily on every held-out task (or `tasks`); changes nothing in the run."""
        tasks = tasks if tasks is not None else self.spec.split()[1]
        env = ToolUseEnv(self.spec.id, tasks=tasks)
        env.reset(seed=EVAL_SEED)
        solved, total = 0, 0.0
        calls = dict.fromkeys(self.spec.tools, 0)  # calls of each tool
        right = dict.fromkeys(self.spec.tools, 0)  # ... that were the right choice
        expected = dict.fromkeys(self.spec.tools, 0)  # solution steps needing each tool
        completed = dict.fromkeys(self.spec.tools, 0)  # ... that the agent completed
        for task in tasks:
            steps, info = self._play(env, greedy=True, task=task)
            solved += info["solved"]
            total += sum(s.reward for s in steps)
            progress = 0
            for tool, ok in info["calls"]:
                calls[tool] += 1
                want = task.solution[progress] if progress < len(task.solution) else None
                if want is not None and tool in (want, self.spec.fallbacks.get(want)):
                    right[tool] += 1
                    if ok:
                        completed[want] += 1
                        progress += 1
            for tool in task.solution:
                expected[tool] += 1
        per_tool = {
            t: {
                "precision": right[t] / calls[t] if calls[t] else None,
                "recall": completed[t] / expected[t] if expected[t] else 0.0,
            }
            for t in self.spec.tools
        }
        return Evaluation(100.0 * solved / len(tasks), total / len(tasks), per_tool)

    def evaluate_heldout(self) -> float:
        self.heldout_accuracy = self.evaluate().accuracy
        return self.heldout_accuracy

    # --- checkpoints and bundles ---------------------------------------------------------------

    def checkpoint(self) -> bytes:
        """Everything needed to continue exactly: weights, optimizer, RNGs, episode, metrics."""
        meta = {
            "format": CHECKPOINT_FORMAT,
            "scenario_id": self.spec.id,
            "learning_rate": self.learning_rate,
            "seed": self.seed,
            "max_episodes": self.max_episodes,
            "episode": self.episode,
            "solved": list(self.solved),
            "returns": list(self.returns),
            "losses": list(self.losses),
            "heldout_accuracy": self.heldout_accuracy,
            "rng": self.rng.bit_generator.state,
            "env_rng": self.env.np_random.bit_generator.state,
        }
        arrays: dict[str, Any] = {
            "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            **self.policy.arrays(),
        }
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def restore(cls, data: bytes) -> Run:
        with np.load(io.BytesIO(data)) as stored:
            meta = json.loads(stored["meta"].tobytes())
            if meta.get("format") != CHECKPOINT_FORMAT:
                raise ValueError(f"not a checkpoint of this trainer: {meta.get('format')!r}")
            run = cls(
                meta["scenario_id"], meta["learning_rate"], meta["seed"], meta["max_episodes"]
            )
            run.policy.load_arrays(stored)
        run.episode = meta["episode"]
        run.solved.extend(meta["solved"])
        run.returns.extend(meta["returns"])
        run.losses.extend(meta["losses"])
        run.heldout_accuracy = meta["heldout_accuracy"]
        run.rng.bit_generator.state = meta["rng"]
        run.env.np_random.bit_generator.state = meta["env_rng"]
        return run

    def bundle(self, framework: Framework, created_at: str | None = None) -> tuple[Manifest, bytes]:
        """The model bundle of the policy as it is now."""
        weights = self.policy.weights()
        manifest = describe(
            weights,
            scenario_id=self.spec.id,
            scenario_version=self.spec.version,
            learner=LEARNER_NAME,
            framework=framework,
            hyperparameters={
                "max_episodes": self.max_episodes,
                "learning_rate": self.learning_rate,
                "seed": self.seed,
            },
            metrics={
                **{
                    k: v
                    for k, v in self.metrics().items()
                    if k != "current_episode" and k != "loss"
                },
                "episodes": self.episode,
            },
            created_at=created_at or utc_now(),
        )
        return manifest, pack(manifest, weights)

    def choose_tools(self, text: str) -> list[str]:
        """The tools the policy would call, in order, for a new request: acting greedily and
        assuming each call succeeds, until it chooses to finish."""
        n = len(self.spec.tools)
        done = np.zeros(n, dtype=np.int8)
        chosen: list[str] = []
        while len(chosen) < ToolUseEnv.max_steps_for(n):
            observation = {
                "task": text,
                "done": done,
                "failed": n,
                "wrong": np.zeros(n, dtype=np.int8),
            }
            probs, _ = self.policy.forward(self.policy.features(observation))
            action = int(probs.argmax())
            if action == n or done[action]:  # finished, or would repeat itself
                break
            chosen.append(self.spec.tools[action])
            done[action] = 1
        return chosen

    @classmethod
    def from_bundle(cls, data: bytes) -> tuple[Run, Manifest]:
        """A run holding a bundle's policy, to act with or evaluate (not to train on)."""
        manifest, weights = unpack(data)
        hp = manifest.hyperparameters
        run = cls(manifest.scenario_id, hp.learning_rate, hp.seed, hp.max_episodes)
        # Checked before numpy sees them, whatever wrote the bundle (imports are checked too).
        learner_weights.check(weights, manifest.learner, len(run.spec.tools))
        run.policy.load_weights(weights)
        run.episode = manifest.metrics.episodes
        return run, manifest
