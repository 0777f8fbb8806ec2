"""TF-IDF over a few hundred short documents: each document's cosine with a request's terms.

One per kind of document a toolbox reads (trainer/model/toolbox.py): the tools' names and
descriptions, and the words of the training requests that called each tool (its usage). Terms
weigh by how many times their document holds them, times their inverse document frequency;
a request's terms count once each.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


class TermIndex:
    def __init__(self, documents: Sequence[Mapping[str, int]]) -> None:
        n = len(documents)
        frequency = Counter(term for document in documents for term in document)
        self.idf = {t: math.log((1 + n) / (1 + df)) + 1 for t, df in frequency.items()}
        self.unseen_idf = math.log(1 + n) + 1
        self.documents = documents
        postings: dict[str, tuple[list[int], list[float]]] = {}
        # Each document's squared norm, kept for `similarity_without`.
        self.squares = [sum((c * self.idf[t]) ** 2 for t, c in d.items()) for d in documents]
        for i, document in enumerate(documents):
            norm = math.sqrt(self.squares[i]) or 1.0
            for term, count in document.items():
                tools, weights = postings.setdefault(term, ([], []))
                tools.append(i)
                weights.append(count * self.idf[term] / norm)
        self.postings = {
            t: (np.array(ix, dtype=np.intp), np.array(w)) for t, (ix, w) in postings.items()
        }

    def _query_norm(self, terms: Sequence[str]) -> float:
        return math.sqrt(sum(self.idf.get(t, self.unseen_idf) ** 2 for t in terms)) or 1.0

    def similarity(self, terms: Sequence[str]) -> Array:
        """Each document's cosine with these terms (distinct)."""
        scores = np.zeros(len(self.documents))
        norm = self._query_norm(terms)
        for term in terms:
            posting = self.postings.get(term)
            if posting is not None:
                scores[posting[0]] += posting[1] * (self.idf[term] / norm)
        return scores

    def similarity_without(self, document: int, terms: Sequence[str]) -> float:
        """Document `document`'s cosine with `terms`, once the terms themselves are taken out
        of it (one count each): a training request's similarity with a usage it is part of,
        as a new request would find it."""
        # Only the terms both hold change: (c - 1)^2 = c^2 - (2c - 1), so the norm follows from
        # the document's own, whatever its length.
        counts = self.documents[document]
        shared = [(c, self.idf[t] ** 2) for t in set(terms) if (c := counts.get(t, 0))]
        square = self.squares[document] - sum((2 * c - 1) * w for c, w in shared)
        norm = math.sqrt(max(square, 0.0)) or 1.0
        dot = sum((c - 1) * w for c, w in shared)
        return dot / (norm * self._query_norm(terms))
