"""What an episode did, call by call, and the analytics of an evaluation read off those records.

A record is the API's `EpisodeRecord` (agentgym.contracts): built in the slot that played the
episode (without validation: it is ours), sent as JSON. Each call says which tool the solution expected at that
step, so everything an evaluation reports (per-tool precision and recall, the confusion of
expected against chosen tool, accuracy per intent, recoveries) is counted from the records,
by the rules the environment rewards by (`trainer.env.falls_back`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from agentgym.contracts import EpisodeCall, EpisodeRecord, Split
from trainer.env import falls_back
from trainer.scenarios.base import ScenarioSpec
from trainer.training.sources import Trajectory

FINISH = "finish"  # the action that ends an episode, and what a solved task expects last
UNAVAILABLE = "unavailable"  # chosen: a tool the task does not offer


def record(spec: ScenarioSpec, episode: Trajectory, split: Split, number: int) -> EpisodeRecord:
    """The record of one played episode (numbered `number` in its run): its calls, in order,
    each with the probability the policy gave it and its reward, then the finish, if it
    finished. A logged episode's calls are the log's, each expecting itself and right where
    it went well (its return above the reward model's baseline: trainer/training/logged.py)."""
    task = episode.task
    calls = episode.calls
    solution = task.solution
    available = spec.available(task)
    offered = set(available)
    progress, failed = 0, None
    out: list[EpisodeCall] = []
    steps = zip(episode.probabilities, episode.rewards, strict=True)
    for at, ((probability, reward), call) in enumerate(
        zip(steps, [*calls, (FINISH, True)], strict=False)
    ):
        tool, succeeded = call
        expected = solution[progress] if progress < len(solution) else FINISH
        if episode.judged:  # a log's step: what it did, and whether that went well
            expected, right = tool, episode.judged[at]
        elif tool == FINISH:
            right = expected == FINISH
        else:
            right = (
                expected != FINISH
                and tool in offered
                and (tool == expected or falls_back(spec, tool, expected, failed))
            )
            progress += right and succeeded
            failed = tool if right and not succeeded else None
        out.append(
            EpisodeCall.model_construct(
                tool=tool,
                succeeded=succeeded,
                expected=expected,
                right=right,
                probability=probability,
                reward=reward,
            )
        )
    return EpisodeRecord.model_construct(
        episode=number,
        split=split,
        task_id=task.id,
        text=task.text,
        intent=task.intent,
        tools=list(available),
        solution=list(solution),
        calls=out,
        reward=episode.reward,
        solved=episode.solved,
    )


def analyze(records: Sequence[EpisodeRecord], tools: Sequence[str]) -> dict[str, Any]:
    """An evaluation's figures from its records: accuracy (percent solved exactly), average
    reward, per-tool precision (of its calls, the share that were right; None if never called)
    and recall (of the solution steps needing it, the share completed), the confusion of
    expected against chosen per step (sparse: the cells that occurred), accuracy per intent,
    the mean number of tool calls, and recoveries from transient failures (the call after a
    failed right call was right again: a retry or the fallback)."""
    calls = dict.fromkeys(tools, 0)
    right = dict.fromkeys(tools, 0)
    needed = dict.fromkeys(tools, 0)
    completed = dict.fromkeys(tools, 0)
    confusion: Counter[tuple[str, str]] = Counter()
    intents: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])  # [tasks, solved]
    failures = recovered = tool_calls = 0
    for rec in records:
        offered = set(rec.tools)
        for tool in rec.solution:
            needed[tool] += 1
        after_failure = False
        for call in rec.calls:
            tool = call.tool
            chosen = tool if tool == FINISH or tool in offered else UNAVAILABLE
            confusion[call.expected, chosen] += 1
            if after_failure:
                recovered += call.right
            after_failure = False
            if tool == FINISH:
                continue
            tool_calls += 1
            calls[tool] += 1
            if call.right:
                right[tool] += 1
                if call.succeeded:
                    completed[call.expected] += 1
                else:
                    failures += 1
                    after_failure = True
        counts = intents[rec.intent]
        counts[0] += 1
        counts[1] += rec.solved
    count = max(len(records), 1)
    return {
        "accuracy": 100.0 * sum(rec.solved for rec in records) / count,
        "avg_reward": sum(rec.reward for rec in records) / count,
        "per_tool": {
            t: {
                "precision": right[t] / calls[t] if calls[t] else None,
                "recall": completed[t] / needed[t] if needed[t] else 0.0,
            }
            for t in tools
        },
        "confusion": [
            {"expected": expected, "chosen": chosen, "count": n}
            for (expected, chosen), n in sorted(confusion.items())
        ],
        "per_intent": {
            intent: {"tasks": tasks, "accuracy": 100.0 * solved / tasks}
            for intent, (tasks, solved) in sorted(intents.items())
        },
        "mean_calls": tool_calls / count,
        "recovery": {
            "failures": failures,
            "recovered": recovered,
            "rate": 100.0 * recovered / failures if failures else None,
        },
    }
