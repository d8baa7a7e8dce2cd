"""A lean TF-IDF vectoriser for prediction speed, equivalent to scikit-learn's ``TfidfVectorizer``
with a callable analyzer, ``sublinear_tf=True``, ``smooth_idf=True`` and L2 normalisation.

scikit-learn's generic implementation spends most of its time in per-feature Python bookkeeping;
here the features of a whole batch are mapped to columns in one C-level ``map(dict.get, ...)``,
and counting, weighting and normalisation are sparse-matrix operations. Tests check it
gives the same matrix as scikit-learn.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from itertools import repeat

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import normalize


class LeanTfidf(BaseEstimator, TransformerMixin):
    def __init__(self, analyzer: Callable[[str], list[str]] | None = None, min_df: int = 2, max_df: float = 1.0,
                 max_features: int | None = None) -> None:
        self.analyzer = analyzer
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features

    def fit(self, X: Iterable[str], y: object = None) -> LeanTfidf:
        documents = list(X)
        frequency: Counter[str] = Counter()
        for document in documents:
            frequency.update(set(self.analyzer(document)))
        n = len(documents)
        ceiling = self.max_df * n if isinstance(self.max_df, float) else self.max_df
        kept = [(f, df) for f, df in frequency.items() if self.min_df <= df <= ceiling]
        if self.max_features is not None and len(kept) > self.max_features:
            kept.sort(key=lambda item: (-item[1], item[0]))
            kept = kept[: self.max_features]
        kept.sort()
        # Stored as an array (compact in a skops file); the lookup dict is rebuilt on first use.
        self.terms_ = np.asarray([feature for feature, _ in kept], dtype=str)
        df = np.asarray([df for _, df in kept], dtype=np.float64)
        self.idf_ = (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)
        return self

    @property
    def vocabulary_(self) -> dict[str, int]:
        vocabulary = self.__dict__.get("_vocabulary")
        if vocabulary is None:
            vocabulary = {str(term): index for index, term in enumerate(self.terms_)}
            self.__dict__["_vocabulary"] = vocabulary
        return vocabulary

    def __getstate__(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "_vocabulary"}

    def transform(self, X: Iterable[str]) -> sp.csr_matrix:
        analyzer = self.analyzer
        features: list[str] = []
        lengths: list[int] = []
        for document in X:
            grams = analyzer(document)
            features.extend(grams)
            lengths.append(len(grams))
        n_docs = len(lengths)
        # One C-level pass maps every feature of the batch to its column (-1 when unknown).
        columns = np.fromiter(map(self.vocabulary_.get, features, repeat(-1, len(features))), dtype=np.int64,
                              count=len(features))
        rows = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        known = columns >= 0
        matrix = sp.csr_matrix((np.ones(int(known.sum()), dtype=np.float32), (rows[known], columns[known])),
                               shape=(n_docs, len(self.vocabulary_)), dtype=np.float32)
        matrix.sum_duplicates()
        matrix.data = (np.log(matrix.data) + 1) * self.idf_[matrix.indices]
        return normalize(matrix, copy=False)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return self.terms_.astype(object)
