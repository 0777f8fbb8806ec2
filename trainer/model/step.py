"""One decision's rows (trainer/model/features.py makes them), grouped by the action they score.

Each action's rows are contiguous, from `starts[i]`: a batch's scores are then one sum over
segments (np.add.reduceat, a tenth of the cost of np.bincount's scattered sum) and its layout
has no owner per row to copy. Within an action's rows its request word features come first,
block by block, as they are made, so what dropout scales is found without a map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from trainer.model.toolbox import Array, Rows, Table


@dataclass
class Step:
    """One decision's rows: the policy's score of action i is the sum of `coef * w[rows]` over
    its rows, `starts[i]` up to the next action's start, plus the meaning table's `slots[i]`
    row times `meaning`."""

    n_actions: int
    rows: Rows
    starts: Rows  # (A,) where each action's rows start (every action has some: its bias)
    coef: NDArray[np.float32]  # in the tables' precision: the product with them is too
    slots: Rows  # (A,) each action's row of the meaning table (by its phase and the last call) ...
    slot_scale: Array  # ... and how far it counts (the action's familiarity)
    meaning: Table | None  # the request's embedding, weighted; None where none was read
    value_rows: Rows  # the value's rows (their weights are averaged)
    width: int = 0  # each action's first `width` rows are the request's word features' ...
    words: int = 0  # ... `words` of them, once per block of them
    alone: object | None = None  # its scoring.Layout, laid out once for acting

    @classmethod
    def grouped(
        cls,
        n_actions: int,
        rows: Rows,
        owner: Rows,
        coef: Array,
        slots: Rows,
        slot_scale: Array,
        meaning: Table | None,
        value_rows: Rows,
        width: int,
        words: int,
    ) -> Step:
        """The step of rows each scoring action `owner`, in any order (the word features
        first, action by action within each block), grouped by action."""
        # Timsort, which merges the runs the rows come in (each family of features is made
        # action by action, or tool by tool in turn): quicker here than a radix sort.
        order = np.argsort(owner, kind="stable")
        starts = np.searchsorted(owner[order], np.arange(n_actions))
        return cls(
            n_actions,
            rows[order],
            starts,
            coef[order].astype(np.float32),
            slots,
            slot_scale,
            meaning,
            value_rows,
            width,
            words,
        )

    @property
    def owner(self) -> Rows:
        """(rows,) the action each row scores."""
        sizes = np.diff(np.append(self.starts, len(self.rows)))
        return np.repeat(np.arange(self.n_actions), sizes)

    @property
    def nbytes(self) -> int:
        arrays = (self.rows, self.starts, self.coef, self.slots, self.slot_scale, self.value_rows)
        return sum(a.nbytes for a in arrays)

    def word_rows(self) -> Rows:
        """(A, words) each action's rows of the request's word features (their first block)."""
        rows: Rows = self.rows[self.starts[:, None] + np.arange(self.words)]
        return rows

    def dropped(self, factor: Array, identity: bool = True) -> Step:
        """This decision with the request's word features times `factor` (`width * n_actions`
        long, action by action, as `dropout_factor` makes it) and without `identity`, none of
        the tools' (finish keeps its own): what a training episode reads under dropout."""
        coef = self.coef.copy()
        coef[(self.starts[:, None] + np.arange(self.width)).ravel()] *= factor
        slot_scale = self.slot_scale
        if not identity:
            slot_scale = np.zeros(self.n_actions)
            slot_scale[-1] = self.slot_scale[-1]
        return Step(
            self.n_actions,
            self.rows,
            self.starts,
            coef,
            self.slots,
            slot_scale,
            self.meaning,
            self.value_rows,
            self.width,
            self.words,
        )

    def dropout_factor(self, keep: NDArray[np.bool_], scale: float, identity: bool) -> Array:
        """What `dropped` multiplies the word features by: the request's word features `keep`s
        (per feature, `width` long) times `scale`, and without `identity`, zero but for
        finish's (the last action's). The same for every decision of a request (their word
        features are laid out alike)."""
        factor = np.tile(keep * scale, self.n_actions)
        if not identity:
            factor[: len(factor) - self.width] = 0.0
        return factor
