"""The model's tables and Adam over them, lazily: only the rows a batch read are stepped (their
moments decay when they are used), so an update costs the same however large the tables.

Each table's weights and Adam's two moments sit side by side in one array, a row's weight, first
and second moment one record (a scalar table's padded to 16 bytes, one complex128 to numpy): a
batch's rows are scattered over megabytes, so each row touched is a cache miss whatever it
fetches, and one gather and one scatter of records cost about what one of weights alone does,
where three arrays cost three of each. The weights are a view of the records (`weights`), read
as any array is; a copy of them is contiguous.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from trainer.model.toolbox import Rows, Table

# The tables and Adam's moments are single precision: half the memory and half the checkpoint
# of double, and a run restored from a checkpoint still continues bit for bit (scores and
# gradients are summed in double; only what is stored is rounded). Bundles hold doubles.
DTYPE = np.float32
RECORD = 4  # a scalar row's floats: weight, first moment, second moment, padding


class Slab:
    """One table: (rows, RECORD) for a table of scalars, (rows, 3, width) for one of vectors."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.scalar = len(shape) == 1
        if self.scalar:
            self.records = np.zeros((shape[0], RECORD), DTYPE)
            # The same memory, a record an element: gathered and scattered whole.
            self._whole = self.records.view(np.complex128).reshape(shape[0])
        else:
            self.records = np.zeros((shape[0], 3, *shape[1:]), DTYPE)
        self.weights: Table = self.records[:, 0]
        self.first: Table = self.records[:, 1]
        self.second: Table = self.records[:, 2]
        # The rows ever updated: all a checkpoint needs to hold (the rest are zeros).
        self.touched = np.zeros(shape[0], dtype=bool)

    def gather(self, rows: Rows) -> NDArray[np.float32]:
        if self.scalar:
            return self._whole[rows].view(DTYPE).reshape(len(rows), RECORD)
        return self.records[rows]

    def scatter(self, rows: Rows, block: NDArray[np.float32]) -> None:
        if self.scalar:
            self._whole[rows] = block.view(np.complex128).reshape(len(rows))
        else:
            self.records[rows] = block

    def step(
        self,
        rows: Rows,
        grad: NDArray[np.floating],
        size: float,
        beta1: float,
        beta2: float,
        eps: float,
    ) -> None:
        """One Adam step of `size` (bias correction included) on `rows` (distinct), whose
        gradient is `grad`."""
        if not len(rows):
            return
        self.touched[rows] = True
        g = grad.astype(DTYPE)  # in the tables' precision from here: half the traffic
        block = self.gather(rows)
        weights, m, v = block[:, 0], block[:, 1], block[:, 2]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        move = np.sqrt(v)
        move += DTYPE(eps)
        np.divide(m, move, out=move)
        move *= DTYPE(size)
        weights -= move
        self.scatter(rows, block)
