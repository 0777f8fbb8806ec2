"""Which tasks training never sees: the held-out split, fixed by the task ids alone.

A task's place in the order is the SHA-256 of its id (not Python's `hash`, which changes
between processes), so the same ids always split the same way, on any machine. A split the
file gives is kept; the others are chosen so that:

- within each intent (the tasks without one form one group), a fifth is held out, rounded
  up, counting the group's explicit held-out tasks: a group of 2-5 tasks holds out one, of
  6-10 two, and so on; a group of one task trains on it (held out, nothing of its kind would
  have been learned to carry over to it);
- overall, at least a fifth of all tasks is held out: when single-task intents or explicit
  "train" splits leave fewer, more unsplit tasks are held out, in hash order, until it is.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence

from agentgym.contracts import Split

HELDOUT_SHARE = 5  # one task in five is held out


def _fifth(n: int) -> int:
    return -(-n // HELDOUT_SHARE)


def _order(task_id: str) -> bytes:
    return hashlib.sha256(task_id.encode()).digest()


def assign_splits(
    ids: Sequence[str], intents: Sequence[str | None], splits: Sequence[Split | None]
) -> list[Split]:
    """The split of each task (given by its id, intent and explicit split, if any)."""
    result: list[Split | None] = list(splits)
    groups: dict[str | None, list[int]] = defaultdict(list)
    for index, intent in enumerate(intents):
        groups[intent].append(index)
    unsplit_train: list[int] = []  # unsplit tasks put in training, that the top-up may take
    for members in groups.values():
        unsplit = sorted((i for i in members if splits[i] is None), key=lambda i: _order(ids[i]))
        explicit = sum(splits[i] == "heldout" for i in members)
        quota = 0 if len(members) == 1 else _fifth(len(members))
        take = min(len(unsplit), max(0, quota - explicit))
        for i in unsplit[:take]:
            result[i] = "heldout"
        for i in unsplit[take:]:
            result[i] = "train"
        unsplit_train.extend(unsplit[take:])
    missing = _fifth(len(ids)) - result.count("heldout")
    if missing > 0:
        unsplit_train.sort(key=lambda i: _order(ids[i]))
        for i in unsplit_train[:missing]:
            result[i] = "heldout"
    return [s or "train" for s in result]
