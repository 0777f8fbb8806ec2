"""A run's checkpoint: everything needed to continue exactly as the uninterrupted run does
(weights, the optimizer's moments, both generators, the episode, the metrics' windows and the
best model so far), in one npz file with its meta as JSON."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from agentgym.contracts import KFold
from trainer.model.config import Config
from trainer.model.model import Params
from trainer.scenarios.base import ScenarioSpec

if TYPE_CHECKING:
    from trainer.run import Run

CHECKPOINT_FORMAT = "agentgym-checkpoint/6"


class CheckpointError(ValueError):
    """A checkpoint this run cannot continue from: another format, scenario or version."""


@dataclass
class Best:
    """The model that did best on the validation tasks so far."""

    episode: int
    accuracy: float  # on the validation tasks: breaks ties of reward
    avg_reward: float  # on the validation tasks
    heldout_accuracy: float
    params: Params
    heldout_n: int = 0  # the held-out tasks its accuracy was measured on


def save(run: Run) -> bytes:
    """Everything needed to continue exactly: weights, optimizer, RNGs, episode, metrics,
    and the best model so far."""
    best = run.best
    meta = {
        "format": CHECKPOINT_FORMAT,
        "scenario_id": run.spec.id,
        "scenario_version": run.spec.version,
        "learning_rate": run.learning_rate,
        "seed": run.seed,
        "max_episodes": run.max_episodes,
        "config": run.config.to_dict(),
        "sources": list(run.source_names),
        "episode": run.episode,
        "solved": list(run.solved),
        "returns": list(run.returns),
        "losses": list(run.losses),
        "heldout_accuracy": run.heldout_accuracy,
        "heldout_episode": run.heldout_episode,
        "heldout_n": run.heldout_n,
        "evaluated_at": run.evaluated_at,
        "evaluation_due": run.evaluation_due,
        "best": None
        if best is None
        else [
            best.episode,
            best.accuracy,
            best.avg_reward,
            best.heldout_accuracy,
            best.heldout_n,
        ],
        "rng": run.rng.bit_generator.state,
        "env_rng": run.env.np_random.bit_generator.state,
        "encoder": run.encoder_name,
        "kfold": None if run.kfold is None else run.kfold.model_dump(),
    }
    arrays: dict[str, Any] = {
        "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        **run.model.arrays(None if best is None else best.params),
    }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def restore(cls: type[Run], data: bytes, spec: ScenarioSpec) -> Run:
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
                meta["encoder"],
                Config.from_dict(meta["config"]),
                meta["sources"],
            )
        except (LookupError, ValueError) as exc:
            raise CheckpointError(f"the session cannot continue here: {exc}") from None
        best = run.model.load_arrays(stored)
        if meta["best"] is not None and best is not None:
            episode, accuracy, avg_reward, heldout, *n = meta["best"]  # n: not kept before
            run.best = Best(episode, accuracy, avg_reward, heldout, best, *n)
    run.episode = meta["episode"]
    run.solved.extend(meta["solved"])
    run.returns.extend(meta["returns"])
    run.losses.extend(meta["losses"])
    run.heldout_accuracy = meta["heldout_accuracy"]
    run.heldout_episode = meta["heldout_episode"]
    run.heldout_n = meta.get("heldout_n", 0)  # not kept before
    run.evaluated_at = meta["evaluated_at"]
    run.evaluation_due = meta.get("evaluation_due", False)  # none before it was kept
    if meta.get("kfold") is not None:
        run.kfold = KFold.model_validate(meta["kfold"])
    run.rng.bit_generator.state = meta["rng"]
    run.env.np_random.bit_generator.state = meta["env_rng"]
    return run
