"""Add-k smoothed n-gram models of symbol sequences (phones, words): how surprising each
symbol is, and how uncertain the prediction before it was.

A model of order ``n`` predicts each symbol from the ``n - 1`` before it, the sequence
padded on the left with :data:`START`; every training sequence ends with :data:`END`, which
is part of the predicted vocabulary. With counts ``c``, vocabulary size ``V`` and smoothing
``k``::

    P(w | h) = (c(h, w) + k) / (c(h) + k V)

Surprisal is ``-log2 P(w | h)`` and entropy ``-sum_w P(w | h) log2 P(w | h)``, both in bits.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence

import numpy as np
from scipy.stats import entropy as shannon_entropy

START = "<s>"
END = "</s>"


class NGramModel:
    """An add-k smoothed n-gram model fitted on symbol sequences.

    Parameters
    ----------
    sequences : training sequences of hashable symbols (e.g. a language's sentences as
        phone or word lists)
    order : n (2: bigram, 3: trigram)
    k : add-k smoothing constant (> 0)
    """

    def __init__(self, sequences: Sequence[Sequence[Hashable]], order: int = 2,
                 k: float = 0.1) -> None:
        if order < 1 or k <= 0:
            raise ValueError(f"order={order}, k={k}: need order >= 1 and k > 0.")
        self.order, self.k = order, k
        self.vocabulary = tuple(sorted({str(s) for seq in sequences for s in seq} | {END}))
        if len(self.vocabulary) == 1:
            raise ValueError("NGramModel: the training sequences are empty.")
        self._index = {s: i for i, s in enumerate(self.vocabulary)}
        self._counts: dict[tuple, Counter] = defaultdict(Counter)
        for seq in sequences:
            for history, symbol in self._events([str(s) for s in seq] + [END]):
                self._counts[history][symbol] += 1
        self._cache: dict[tuple, np.ndarray] = {}
        self._entropy: dict[tuple, float] = {}

    def _events(self, symbols: list[str]):
        padded = [START] * (self.order - 1) + symbols
        for i, symbol in enumerate(symbols):
            yield tuple(padded[i:i + self.order - 1]), symbol

    def distribution(self, history: Sequence[Hashable]) -> np.ndarray:
        """P(. | history) over :attr:`vocabulary`: array of shape (V,); ``history`` is the
        ``order - 1`` symbols before (fewer: padded with :data:`START`)."""
        history = tuple(str(s) for s in history)[-(self.order - 1):] if self.order > 1 else ()
        history = (START,) * (self.order - 1 - len(history)) + history
        if history not in self._cache:
            counts = np.full(len(self.vocabulary), self.k)
            for symbol, n in self._counts.get(history, {}).items():
                counts[self._index[symbol]] += n
            self._cache[history] = counts / counts.sum()
        return self._cache[history]

    def score(self, sequence: Sequence[Hashable]) -> tuple[np.ndarray, np.ndarray]:
        """Surprisal of each symbol of ``sequence`` and entropy of the prediction before it.

        Returns
        -------
        surprisal, entropy : arrays of shape (len(sequence),), bits
        """
        symbols = [str(s) for s in sequence]
        unknown = sorted(set(symbols) - set(self._index))
        if unknown:
            raise ValueError(f"symbols {unknown[:5]} are not in the model's vocabulary.")
        surprisal, entropy = np.zeros(len(symbols)), np.zeros(len(symbols))
        for i, (history, symbol) in enumerate(self._events(symbols)):
            p = self.distribution(history)
            if history not in self._entropy:
                self._entropy[history] = float(shannon_entropy(p, base=2))
            surprisal[i] = -np.log2(p[self._index[symbol]])
            entropy[i] = self._entropy[history]
        return surprisal, entropy
