"""`python -m ml agreement`: per-field agreement of two labellings of the same reports."""

from __future__ import annotations

import json

import pytest

from ml import agreement
from tests.ml.test_validate import record, run_cli


def test_keyword_f1_is_a_case_insensitive_set_f1():
    assert agreement.keyword_f1(["Lampan", "Storgatan 14"], ["lampan", "storgatan 14"]) == 1.0
    assert agreement.keyword_f1(["lampan", "mörkt"], ["lampan", "Storgatan 14"]) == 0.5
    assert agreement.keyword_f1(["lampan"], ["Storgatan 14", "släckt", "lampan"]) == 0.5
    assert agreement.keyword_f1(["mörkt"], ["lampan"]) == 0.0


def test_identical_labellings_agree_fully():
    departments = ["belysning", "avfall", "bygg", "skola"]
    rows = [record(n, department=d, severity=n + 1) for n, d in enumerate(departments)]
    result = agreement.compare(rows, rows)
    assert result["n"] == 4
    assert result["department"] == {"accuracy": 1.0, "kappa": 1.0}
    assert result["severity"]["weighted_kappa"] == 1.0
    assert result["department_confusions"] == []


def test_disagreements_lower_accuracy_and_kappa_and_are_listed():
    gold = [record(n, department=d) for n, d in enumerate(["belysning", "avfall"] * 4)]
    other = [dict(r) for r in gold]
    other[0] = dict(other[0], department="gata_trafik", severity=5, tags=["skaderisk"])
    result = agreement.compare(gold, other)
    assert result["department"]["accuracy"] == 7 / 8
    assert 0 < result["department"]["kappa"] < 1
    assert result["severity"]["accuracy"] == 7 / 8
    assert result["severity"]["within_one"] == 7 / 8
    assert result["tags"]["exact_set"] == 7 / 8
    assert result["department_confusions"] == [("belysning", "gata_trafik", 1)]


def test_only_shared_ids_are_compared():
    gold = [record(n) for n in range(4)]
    assert agreement.compare(gold, gold[:2])["n"] == 2
    with pytest.raises(ValueError, match="share no report ids"):
        agreement.compare(gold[:2], gold[2:])


def test_the_command_prints_json(write_jsonl):
    gold = write_jsonl([record(n) for n in range(4)], "gold.jsonl")
    other = write_jsonl([record(n, sentiment="negativ") for n in range(4)], "other.jsonl")
    result = run_cli("agreement", str(gold), str(other), "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["sentiment"]["accuracy"] == 0.0
    assert figures["department"]["accuracy"] == 1.0
    assert figures["department"]["kappa"] is None  # one department only: kappa is undefined
