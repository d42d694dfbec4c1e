"""Scoring on partial labels, per-class figures and the primary-metric margins."""

from __future__ import annotations

import pytest

from ml import evaluate


def prediction(department, case_type="felanmalan", severity=2, score=2.0):
    return {
        "department": {"label": department, "confidence": 0.9},
        "case_type": {"label": case_type, "confidence": 0.9},
        "sentiment": {"label": "neutral", "confidence": 0.9},
        "severity": {"label": severity, "score": score},
        "tags": [],
        "keywords": [],
    }


def test_partial_records_are_scored_field_by_field():
    records = [
        {"department": "avfall", "case_type": "fraga"},
        {"department": "avfall"},
        {"department": "belysning", "case_type": None},
    ]
    predictions = [prediction("avfall", "fraga"), prediction("belysning"), prediction("belysning")]
    result = evaluate.score_available(records, predictions)
    assert result["department"]["n"] == 3
    assert result["department"]["accuracy"] == pytest.approx(2 / 3)
    assert result["case_type"] == {"macro_f1": 1.0, "accuracy": 1.0, "n": 1}
    assert "sentiment" not in result
    assert "tags" not in result


def test_per_class_counts_and_confusion_follow_the_taxonomy_order():
    records = [{"department": "avfall"}, {"department": "avfall"}, {"department": "belysning"}]
    predictions = [prediction("avfall"), prediction("belysning"), prediction("belysning")]
    result = evaluate.per_class(records, predictions)
    labels = result["labels"]
    avfall, belysning = labels.index("avfall"), labels.index("belysning")
    assert result["confusion"][avfall][avfall] == 1
    assert result["confusion"][avfall][belysning] == 1
    assert result["confusion"][belysning][belysning] == 1
    assert sum(map(sum, result["confusion"])) == 3
    assert result["classes"]["avfall"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3),
        "support": 2,
    }
    assert result["classes"]["belysning"]["precision"] == 0.5


def test_primary_margins_name_each_primary_metric():
    better = {"department": {"macro_f1": 0.9}, "case_type": {"macro_f1": 0.8}}
    worse = {"department": {"macro_f1": 0.85}, "case_type": {"macro_f1": 0.82}}
    margins = evaluate.primary_margins(better, worse)
    assert margins["department.macro_f1"] == pytest.approx(0.05)
    assert margins["case_type.macro_f1"] == pytest.approx(-0.02)
    assert margins["sentiment.macro_f1"] is None
    assert set(margins) == {f"{f}.{m}" for f, m in evaluate.PRIMARY_METRICS}
