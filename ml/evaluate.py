"""Scoring predictions against gold labels, with exactly the keys of the evaluate contract."""

from __future__ import annotations

import statistics
import time

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import accuracy_score, f1_score
from sklearn.preprocessing import MultiLabelBinarizer

from ml import taxonomy
from ml.agreement import keyword_f1


def recall_at_k_severe(gold: list[int], scores: list[float], severe: int = 4) -> float:
    """Of the reports with gold severity >= severe, the share ranked in the top k by score.

    k is the number of such reports, so a perfect ranking scores 1.0.
    """
    severe_rows = {i for i, g in enumerate(gold) if g >= severe}
    if not severe_rows:
        return 0.0
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    top = set(order[: len(severe_rows)].tolist())
    return len(top & severe_rows) / len(severe_rows)


def score(records: list[dict], predictions: list[dict]) -> dict:
    """Every metric of the contract except throughput."""
    result: dict = {"n": len(records)}
    for field in taxonomy.SINGLE_LABEL_FIELDS:
        gold = [r[field] for r in records]
        predicted = [p[field]["label"] for p in predictions]
        result[field] = {
            "macro_f1": float(
                f1_score(
                    gold, predicted, average="macro", labels=sorted(set(gold)), zero_division=0
                )
            ),
            "accuracy": float(accuracy_score(gold, predicted)),
        }
    gold_severity = [r["severity"] for r in records]
    severity_scores = [p["severity"]["score"] for p in predictions]
    rho = spearmanr(gold_severity, severity_scores).statistic if len(records) > 1 else 0.0
    result["severity"] = {
        "mae": float(np.mean(np.abs(np.subtract(gold_severity, severity_scores)))),
        "spearman": 0.0 if np.isnan(rho) else float(rho),
        "recall_at_4": recall_at_k_severe(gold_severity, severity_scores),
    }
    binarizer = MultiLabelBinarizer(classes=list(taxonomy.TAGS))
    gold_tags = binarizer.fit_transform([r["tags"] for r in records])
    predicted_tags = binarizer.transform([[t for t, _ in p["tags"]] for p in predictions])
    result["tags"] = {
        "micro_f1": float(f1_score(gold_tags, predicted_tags, average="micro", zero_division=0))
    }
    result["keywords"] = {
        "f1": statistics.mean(
            keyword_f1(p["keywords"], r["keywords"])
            for r, p in zip(records, predictions, strict=True)
        )
    }
    return result


def evaluate(predictor, records: list[dict]) -> dict:
    """Predict the records, score them and measure throughput (reports per second)."""
    started = time.perf_counter()
    predictions = predictor.predict(records)
    elapsed = time.perf_counter() - started
    result = score(records, predictions)
    result["throughput"] = {"reports_per_s": len(records) / elapsed if elapsed > 0 else 0.0}
    return result


def best_f1_threshold(gold: np.ndarray, probability: np.ndarray) -> float:
    """The probability threshold that maximises F1 for one tag on out-of-fold predictions."""
    if gold.sum() == 0:
        return 0.5
    candidates = np.linspace(0.1, 0.9, 33)
    scores = [f1_score(gold, probability >= t, zero_division=0) for t in candidates]
    return float(candidates[int(np.argmax(scores))])
