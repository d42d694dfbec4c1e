"""The TF-IDF baseline: word and character n-grams with one linear model per output.

Trains in seconds on a CPU and is always available as a fallback. Character n-grams
survive typos and missing å/ä/ö; the classifiers are calibrated so that confidences mean
something; severity is a ridge regression whose continuous output ranks the queue; tags
are one-vs-rest with a threshold per tag chosen by cross-validation; keywords come from
the unsupervised extractor in ``ml.keywords``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import joblib
import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import cross_val_predict
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.svm import LinearSVC

from ml import taxonomy
from ml.data import model_input
from ml.evaluate import best_f1_threshold
from ml.keywords import KeywordExtractor

WEIGHTS_FILE = "baseline.joblib"
# The baseline reads at most this much of a report; the rest adds cost, not signal.
MAX_CHARS = 20_000


@dataclass
class BaselineConfig:
    """Hyper-parameters of the baseline (written into meta.json)."""

    c: float = 0.5  # LinearSVC regularisation for the single-label classifiers
    severity_alpha: float = 3.0  # Ridge regularisation for the severity score
    tag_c: float = 4.0  # LogisticRegression C for the tag classifiers
    min_df: int = 2
    max_word_ngram: int = 2
    char_ngram_range: tuple[int, int] = (2, 5)
    calibration_folds: int = 3
    seed: int = 13


def _features(config: BaselineConfig) -> FeatureUnion:
    return FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    ngram_range=(1, config.max_word_ngram),
                    min_df=config.min_df,
                    sublinear_tf=True,
                    token_pattern=r"(?u)\b\w+\b",
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=tuple(config.char_ngram_range),
                    min_df=config.min_df,
                    sublinear_tf=True,
                ),
            ),
        ]
    )


def _texts(records: list[dict]) -> list[str]:
    return [model_input(r)[:MAX_CHARS] for r in records]


class BaselineModel:
    """fit / predict / save / load, the same small interface as the transformer."""

    kind = "baseline"

    def __init__(self, config: BaselineConfig | None = None):
        self.config = config or BaselineConfig()

    def fit(self, records: list[dict], progress=None) -> BaselineModel:
        """Fit every output; `progress` is accepted for the common interface (seconds here)."""
        config = self.config
        texts = _texts(records)
        self.features = _features(config)
        matrix = self.features.fit_transform(texts)
        self.classifiers = {}
        for field in taxonomy.SINGLE_LABEL_FIELDS:
            classifier = CalibratedClassifierCV(
                LinearSVC(C=config.c, class_weight="balanced", random_state=config.seed),
                cv=config.calibration_folds,
                method="sigmoid",
            )
            self.classifiers[field] = classifier.fit(matrix, [r[field] for r in records])
        self.severity = Ridge(alpha=config.severity_alpha).fit(
            matrix, np.array([r["severity"] for r in records], dtype=float)
        )
        self.tag_binarizer = MultiLabelBinarizer(classes=list(taxonomy.TAGS))
        tags = self.tag_binarizer.fit_transform([r["tags"] for r in records])
        tag_model = OneVsRestClassifier(
            LogisticRegression(C=config.tag_c, class_weight="balanced", max_iter=2000)
        )
        # Thresholds from out-of-fold probabilities: a fixed 0.5 under-predicts rare tags.
        out_of_fold = cross_val_predict(
            tag_model, matrix, tags, cv=config.calibration_folds, method="predict_proba"
        )
        self.tag_thresholds = [
            best_f1_threshold(tags[:, i], out_of_fold[:, i]) for i in range(tags.shape[1])
        ]
        self.tags = tag_model.fit(matrix, tags)
        self.keywords = KeywordExtractor().fit(r["text"] for r in records)
        return self

    def predict(self, records: list[dict]) -> list[dict]:
        """Predictions (without the "model" key) for records with "text" and optional "subject"."""
        if not records:
            return []
        matrix = self.features.transform(_texts(records))
        probabilities = {
            field: classifier.predict_proba(matrix)
            for field, classifier in self.classifiers.items()
        }
        scores = np.clip(
            self.severity.predict(matrix), taxonomy.SEVERITY_MIN, taxonomy.SEVERITY_MAX
        )
        tag_probabilities = self.tags.predict_proba(matrix)
        predictions = []
        for row, record in enumerate(records):
            prediction = {}
            for field, classifier in self.classifiers.items():
                ranked = sorted(
                    zip(classifier.classes_, probabilities[field][row], strict=True),
                    key=lambda pair: -pair[1],
                )
                label, confidence = ranked[0]
                prediction[field] = {"label": str(label), "confidence": round(float(confidence), 4)}
                if field == "department":
                    prediction[field]["top"] = [[str(c), round(float(p), 4)] for c, p in ranked[:3]]
            score = float(scores[row])
            prediction["severity"] = {"label": round(score), "score": round(score, 3)}
            prediction["tags"] = sorted(
                (
                    [tag, round(float(p), 4)]
                    for tag, p, threshold in zip(
                        self.tag_binarizer.classes_,
                        tag_probabilities[row],
                        self.tag_thresholds,
                        strict=True,
                    )
                    if p >= threshold
                ),
                key=lambda pair: -pair[1],
            )
            prediction["keywords"] = self.keywords.extract(record.get("text") or "")
            predictions.append(prediction)
        return predictions

    def save(self, directory) -> None:
        state = {
            "features": self.features,
            "classifiers": self.classifiers,
            "severity": self.severity,
            "tag_binarizer": self.tag_binarizer,
            "tag_thresholds": self.tag_thresholds,
            "tags": self.tags,
            "keywords": self.keywords.to_dict(),
        }
        joblib.dump(state, directory / WEIGHTS_FILE, compress=3)

    @classmethod
    def load(cls, directory, meta: dict, quantize: bool = False) -> BaselineModel:
        """Load a saved baseline; `quantize` has no effect on linear models."""
        config = meta.get("config", {})
        model = cls(BaselineConfig(**config))
        state = joblib.load(directory / WEIGHTS_FILE)
        model.features = state["features"]
        model.classifiers = state["classifiers"]
        model.severity = state["severity"]
        model.tag_binarizer = state["tag_binarizer"]
        model.tag_thresholds = state["tag_thresholds"]
        model.tags = state["tags"]
        model.keywords = KeywordExtractor.from_dict(state["keywords"])
        return model

    def config_dict(self) -> dict:
        return asdict(self.config)

    def extra_meta(self) -> dict:
        """Model-specific facts for meta.json (none beyond the config for the baseline)."""
        return {}
