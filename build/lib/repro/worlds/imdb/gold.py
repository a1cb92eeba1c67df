"""The gold reward: P(positive sentiment) from TF-IDF (1-2-grams) + logistic regression.

Fit on reviews no policy ever sees, on full texts and on short prefixes, so that it
scores ~50-word generations sensibly (prefix accuracy is reported at build time).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

MODEL_FILE = "gold.pkl"


class GoldReward:
    def __init__(self, pipeline):
        self.pipeline = pipeline

    @classmethod
    def fit(cls, texts: list[str], labels: list[int], seed: int) -> "GoldReward":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        pipe = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=200_000, sublinear_tf=True),
            LogisticRegression(C=4.0, max_iter=1000, random_state=seed),
        )
        pipe.fit(texts, labels)
        return cls(pipe)

    def score(self, texts: list[str]) -> np.ndarray:
        """P(positive) per text, in [0, 1]."""
        return self.pipeline.predict_proba(texts)[:, 1]

    def accuracy(self, texts: list[str], labels: list[int]) -> float:
        return float(((self.score(texts) > 0.5).astype(int) == np.asarray(labels)).mean())

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / MODEL_FILE, "wb") as f:
            pickle.dump(self.pipeline, f)

    @classmethod
    def load(cls, folder: Path) -> "GoldReward":
        with open(folder / MODEL_FILE, "rb") as f:
            return cls(pickle.load(f))
