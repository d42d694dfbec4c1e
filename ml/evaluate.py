"""Scoring predictions against gold labels, with exactly the keys of the evaluate contract."""

from __future__ import annotations

import statistics
import time

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)
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


# The outputs a new model must not lose on: routing, case type, tone and the severity order.
PRIMARY_METRICS: tuple[tuple[str, str], ...] = (
    ("department", "macro_f1"),
    ("case_type", "macro_f1"),
    ("sentiment", "macro_f1"),
    ("severity", "spearman"),
)


def _single(gold: list[str], predicted: list[str]) -> dict:
    return {
        "macro_f1": float(
            f1_score(gold, predicted, average="macro", labels=sorted(set(gold)), zero_division=0)
        ),
        "accuracy": float(accuracy_score(gold, predicted)),
    }


def _severity(gold: list[int], scores: list[float]) -> dict:
    rho = spearmanr(gold, scores).statistic if len(gold) > 1 else 0.0
    return {
        "mae": float(np.mean(np.abs(np.subtract(gold, scores)))),
        "spearman": 0.0 if np.isnan(rho) else float(rho),
        "recall_at_4": recall_at_k_severe(gold, scores),
    }


def _tags(gold: list[list[str]], predicted: list[list[str]]) -> dict:
    binarizer = MultiLabelBinarizer(classes=list(taxonomy.TAGS))
    gold_tags = binarizer.fit_transform(gold)
    predicted_tags = binarizer.transform(predicted)
    return {
        "micro_f1": float(f1_score(gold_tags, predicted_tags, average="micro", zero_division=0))
    }


def _keywords(gold: list[list[str]], predicted: list[list[str]]) -> dict:
    return {"f1": statistics.mean(keyword_f1(p, g) for g, p in zip(gold, predicted, strict=True))}


def _field_score(field: str, gold: list, predictions: list[dict]) -> dict:
    if field in taxonomy.SINGLE_LABEL_FIELDS:
        return _single(gold, [p[field]["label"] for p in predictions])
    if field == "severity":
        return _severity(gold, [p["severity"]["score"] for p in predictions])
    if field == "tags":
        return _tags(gold, [[t for t, _ in p["tags"]] for p in predictions])
    return _keywords(gold, [p["keywords"] for p in predictions])


SCORED_FIELDS = (*taxonomy.SINGLE_LABEL_FIELDS, "severity", "tags", "keywords")


def score(records: list[dict], predictions: list[dict]) -> dict:
    """Every metric of the contract except throughput."""
    result: dict = {"n": len(records)}
    for field in SCORED_FIELDS:
        result[field] = _field_score(field, [r[field] for r in records], predictions)
    return result


def score_available(records: list[dict], predictions: list[dict]) -> dict:
    """Like `score`, but a record may leave a field out (None): each field is scored on the
    records that have it, and says on how many (`n`). Fields no record has are left out.

    For case workers' labels, where a report may have a confirmed department and nothing else.
    """
    result: dict = {"n": len(records)}
    for field in SCORED_FIELDS:
        rows = [i for i, r in enumerate(records) if r.get(field) is not None]
        if not rows:
            continue
        gold = [records[i][field] for i in rows]
        result[field] = _field_score(field, gold, [predictions[i] for i in rows])
        result[field]["n"] = len(rows)
    return result


def per_class(records: list[dict], predictions: list[dict], field: str = "department") -> dict:
    """Precision, recall, F1 and support per class of one field, and the confusion counts
    (rows: the gold class, columns: the predicted one, both in taxonomy order)."""
    codes = [str(c) for c in _field_codes(field)]
    pairs = [
        (str(r[field]), str(p[field]["label"]))
        for r, p in zip(records, predictions, strict=True)
        if r.get(field) is not None
    ]
    gold = [g for g, _ in pairs]
    predicted = [p for _, p in pairs]
    if not pairs:
        return {"labels": codes, "classes": {}, "confusion": []}
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=codes, zero_division=0
    )
    classes = {
        code: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(n)}
        for code, p, r, f, n in zip(codes, precision, recall, f1, support, strict=True)
    }
    counts = confusion_matrix(gold, predicted, labels=codes)
    return {"labels": codes, "classes": classes, "confusion": counts.tolist()}


def _field_codes(field: str) -> list:
    if field == "severity":
        return list(taxonomy.SEVERITIES)
    return list(taxonomy.SINGLE_LABEL_FIELDS[field])


def primary_margins(candidate: dict, reference: dict) -> dict[str, float | None]:
    """The candidate's lead over the reference on each primary metric (None where missing)."""
    margins = {}
    for field, metric in PRIMARY_METRICS:
        mine = (candidate.get(field) or {}).get(metric)
        theirs = (reference.get(field) or {}).get(metric)
        key = f"{field}.{metric}"
        margins[key] = None if mine is None or theirs is None else float(mine - theirs)
    return margins


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
