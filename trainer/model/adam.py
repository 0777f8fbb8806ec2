"""The model's tables and Adam over them, lazily: only the rows a batch read are stepped (their
moments decay when they are used), so an update costs the same however large the tables.

A table's two moments sit side by side in one array, a row's pair one record (a scalar table's
one float64 to numpy): a batch's rows are scattered over megabytes, so each row touched is a
cache miss whatever it fetches, and one gather and one scatter of pairs cost about what one of
either moment alone does. The weights are an array of their own, contiguous: every decision
scored reads them at random, and gathering from a strided array is half as slow again.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from trainer.model.toolbox import Rows, Table

# The tables and Adam's moments are single precision: half the memory and half the checkpoint
# of double, and a run restored from a checkpoint still continues bit for bit (scores and
# gradients are summed in double; only what is stored is rounded). Bundles hold doubles.
DTYPE = np.float32


class Slab:
    """One table's weights, (rows,) or (rows, width), and its moments beside them."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.weights: Table = np.zeros(shape, DTYPE)
        self.moments = np.zeros((shape[0], 2, *shape[1:]), DTYPE)
        self.first: Table = self.moments[:, 0]
        self.second: Table = self.moments[:, 1]
        # A scalar table's pairs as one float64 each: gathered and scattered whole.
        self._pairs = self.moments.view(np.float64).reshape(shape[0]) if len(shape) == 1 else None
        # The rows ever updated: all a checkpoint needs to hold (the rest are zeros).
        self.touched = np.zeros(shape[0], dtype=bool)

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
        if self._pairs is not None:
            pairs = self._pairs[rows].view(DTYPE).reshape(len(rows), 2)
        else:
            pairs = self.moments[rows]
        m, v = pairs[:, 0], pairs[:, 1]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        if self._pairs is not None:
            self._pairs[rows] = pairs.view(np.float64).reshape(len(rows))
        else:
            self.moments[rows] = pairs
        move = np.sqrt(v)
        move += DTYPE(eps)
        np.divide(m, move, out=move)
        move *= DTYPE(size)
        self.weights[rows] -= move
