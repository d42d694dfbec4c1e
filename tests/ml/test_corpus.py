"""The committed corpus: valid, large and varied enough, and with a split that never drifts."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from ml import data, taxonomy, validate

TEST_IDS_FILE = data.DEFAULT_CORPUS.parent / "test_ids.txt"


@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    return data.load_records(data.DEFAULT_CORPUS)


def test_the_corpus_validates_clean():
    _, problems = validate.validate_file(data.DEFAULT_CORPUS)
    assert [p.format("reports_sv.jsonl") for p in problems] == []


def test_the_corpus_is_large_enough_in_every_department(corpus):
    assert len(corpus) >= 3000
    per_department = Counter(r["department"] for r in corpus)
    assert set(per_department) == set(taxonomy.DEPARTMENTS)
    assert min(per_department.values()) >= 150, per_department


@pytest.mark.parametrize(
    ("field", "codes"),
    [
        ("case_type", taxonomy.CASE_TYPES),
        ("sentiment", taxonomy.SENTIMENTS),
        ("severity", taxonomy.SEVERITIES),
        ("channel", taxonomy.CHANNELS),
    ],
)
def test_every_label_value_is_at_least_three_percent(corpus, field, codes):
    counts = Counter(r[field] for r in corpus)
    rare = {code: counts[code] for code in codes if counts[code] < 0.03 * len(corpus)}
    assert rare == {}


def test_every_tag_is_on_thirty_reports_and_many_reports_have_none(corpus):
    counts = Counter(tag for r in corpus for tag in r["tags"])
    assert {tag: counts[tag] for tag in taxonomy.TAGS if counts[tag] < 30} == {}
    untagged = sum(1 for r in corpus if not r["tags"])
    assert untagged >= 0.25 * len(corpus)


def test_lengths_vary_from_a_few_words_to_long_emails(corpus):
    words = [len(r["text"].split()) for r in corpus]
    assert sum(w <= 15 for w in words) >= 0.10 * len(corpus)
    assert sum(w >= 100 for w in words) >= 0.03 * len(corpus)


def test_near_duplicates_are_under_one_percent_even_at_a_looser_threshold(corpus):
    pairs = validate.near_duplicate_pairs([r["text"] for r in corpus], threshold=0.7)
    involved = {i for i, j, _ in pairs} | {j for i, j, _ in pairs}
    assert len(involved) < 0.01 * len(corpus)


def test_the_split_matches_the_committed_test_ids(corpus):
    committed = TEST_IDS_FILE.read_text(encoding="utf-8").split()
    assert sorted(data.held_out_ids(corpus)) == sorted(committed)


def test_the_split_is_stratified_and_about_fifteen_percent(corpus):
    _, test = data.split(corpus)
    assert abs(len(test) / len(corpus) - data.TEST_FRACTION) < 0.005
    total = Counter(r["department"] for r in corpus)
    held_out = Counter(r["department"] for r in test)
    for department, n in total.items():
        assert held_out[department] == round(data.TEST_FRACTION * n)


def test_the_split_depends_only_on_the_ids(corpus):
    shuffled = corpus[:]
    random.Random(3).shuffle(shuffled)
    assert data.held_out_ids(shuffled) == data.held_out_ids(corpus)


def test_every_report_has_its_writing_batch_recorded(corpus):
    provenance = data.load_provenance()
    assert set(provenance) == {r["id"] for r in corpus}
    assert len(set(provenance.values())) == 8
