"""Corpus reading and the split function on small, hand-made data."""

from __future__ import annotations

import pytest

from ml import data


def rows(department: str, n: int, start: int = 0) -> list[dict]:
    return [{"id": f"{department}-{i}", "department": department} for i in range(start, start + n)]


def test_each_department_holds_out_fifteen_percent():
    records = rows("belysning", 100) + rows("avfall", 40)
    train, test = data.split(records)
    assert sum(r["department"] == "belysning" for r in test) == 15
    assert sum(r["department"] == "avfall" for r in test) == 6
    assert len(train) + len(test) == 140


def test_adding_reports_to_another_department_leaves_a_department_unchanged():
    before = data.held_out_ids(rows("belysning", 100))
    after = data.held_out_ids(rows("belysning", 100) + rows("avfall", 60))
    assert {i for i in after if i.startswith("belysning")} == before


def test_adding_a_few_reports_moves_only_the_margin():
    before = data.held_out_ids(rows("bygg", 200))
    after = data.held_out_ids(rows("bygg", 210))
    assert len(before - after) <= 2


def test_model_input_puts_the_subject_before_the_text():
    assert data.model_input({"subject": "Trasig lampa", "text": "Den är släckt."}) == (
        "Trasig lampa\nDen är släckt."
    )
    assert data.model_input({"subject": None, "text": "Den är släckt."}) == "Den är släckt."


def test_load_records_names_the_bad_line(write_jsonl):
    path = write_jsonl(['{"id": "a"}', "not json"])
    with pytest.raises(data.DataError, match=r":2: invalid JSON"):
        data.load_records(path)


def test_data_hash_changes_with_the_bytes(write_jsonl):
    first = data.data_hash(write_jsonl(['{"id": "a"}'], "a.jsonl"))
    second = data.data_hash(write_jsonl(['{"id": "b"}'], "b.jsonl"))
    assert first != second
    assert len(first) == 64
