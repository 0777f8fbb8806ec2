"""A TF-IDF index in numpy, the baselines' (no scikit-learn here): documents as unit rows, and
a query's cosine with each."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray


class TfIdf:
    def __init__(self, documents: Sequence[list[str]]) -> None:
        words = sorted({w for d in documents for w in d})
        self.vocabulary = {w: i for i, w in enumerate(words)}
        counts = np.zeros((len(documents), len(self.vocabulary)))
        for row, document in enumerate(documents):
            for w in document:
                counts[row, self.vocabulary[w]] += 1
        self.idf = np.log((1 + len(documents)) / (1 + (counts > 0).sum(axis=0))) + 1
        matrix = counts * self.idf
        self.matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)

    def cosines(self, query_words: list[str]) -> NDArray[np.float64]:
        """Each document's cosine with the query."""
        query = np.zeros(len(self.vocabulary))
        for w in query_words:
            if w in self.vocabulary:
                query[self.vocabulary[w]] += 1
        query *= self.idf
        query /= max(float(np.linalg.norm(query)), 1e-12)
        result: NDArray[np.float64] = self.matrix @ query
        return result
