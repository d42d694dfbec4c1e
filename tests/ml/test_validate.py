"""`python -m ml validate`: every kind of problem is found, named and located by line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ml import validate
from tests.conftest import REPO_ROOT

TEXTS = [
    "Gatlampan utanför Tallbacksvägen 12 har varit släckt sedan i fredags.",
    "Soptunnan på Björkgatan 3 blev inte tömd i tisdags, det luktar redan illa.",
    "Hur ansöker jag om bygglov för ett uterum på 15 kvadratmeter?",
    "Tack till personalen på Solbackens förskola för en fin vårfest!",
]


def record(n: int = 0, **changes) -> dict:
    """A valid record, varied by n, with any field replaced."""
    base = {
        "id": f"r-{n:06d}",
        "channel": "web",
        "subject": None,
        "text": TEXTS[n % len(TEXTS)],
        "department": "belysning",
        "case_type": "felanmalan",
        "sentiment": "neutral",
        "severity": 2,
        "tags": [],
        "keywords": TEXTS[n % len(TEXTS)].split()[:2],
    }
    base.update(changes)
    return base


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run `python -m ml ARGS` from the repository root, optionally feeding stdin."""
    return subprocess.run(
        [sys.executable, "-m", "ml", *args],
        cwd=REPO_ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def problems_of(path) -> list[str]:
    return [p.format(path) for p in validate.validate_file(path)[1]]


def test_a_valid_file_passes_and_prints_stats(write_jsonl):
    path = write_jsonl([record(n) for n in range(4)])
    result = run_cli("validate", str(path), "--stats")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "department:" in result.stdout
    assert "belysning" in result.stdout
    assert "4 records, 0 problems" in result.stderr


def test_invalid_json_is_reported_by_line_and_other_lines_are_still_checked(write_jsonl):
    path = write_jsonl([record(0), '{"id": "r-1", "text": ', record(2, severity=9)])
    result = run_cli("validate", str(path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"{path}:2: invalid JSON") for line in lines)
    assert any(line.startswith(f"{path}:3: severity: 9 is outside 1-5") for line in lines)
    assert len(lines) == 2


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"department": "gatubelysning"}, "department: unknown code 'gatubelysning'"),
        ({"case_type": "klagomål"}, "case_type: unknown code 'klagomål'"),
        ({"sentiment": "arg"}, "sentiment: unknown code 'arg'"),
        ({"channel": "fax"}, "channel: unknown code 'fax'"),
        ({"severity": 0}, "severity: 0 is outside 1-5"),
        ({"severity": 2.5}, "severity: must be an integer"),
        ({"severity": "3"}, "severity: must be an integer"),
        ({"severity": True}, "severity: must be an integer"),
        ({"tags": ["barn", "farlig"]}, "tags: unknown code 'farlig'"),
        ({"tags": ["barn", "barn"]}, "tags: listed twice"),
        ({"tags": "barn"}, "tags: must be a list"),
        ({"text": "   "}, "text: must be a non-empty string"),
        ({"subject": ""}, "subject: must be null or a non-empty string"),
        ({"id": ""}, "id: must be a non-empty string"),
        ({"keywords": ["Gatlampan"]}, "keywords: 1 given, expected 2-6"),
        ({"keywords": ["Gatlampan", "lampa"]}, "keywords: 'lampa' is not copied verbatim"),
        ({"keywords": ["Gatlampan", "gatlampan"]}, "keywords: listed twice"),
        ({"keywords": ["Gatlampan", "utanför", "", "har"]}, "keywords: '' is not a non-empty"),
        ({"priority": "hög"}, "unknown field 'priority'"),
    ],
)
def test_each_kind_of_bad_record_is_named(write_jsonl, changes, expected):
    path = write_jsonl([record(0, **changes), record(1)])
    problems = problems_of(path)
    assert any(p.startswith(f"{path}:1: {expected}") for p in problems), problems
    assert not any(p.startswith(f"{path}:2:") for p in problems)


def test_missing_fields_are_named(write_jsonl):
    row = record(0)
    del row["severity"], row["keywords"]
    path = write_jsonl([row])
    problems = problems_of(path)
    assert f"{path}:1: missing field 'keywords'" in problems
    assert f"{path}:1: missing field 'severity'" in problems


def test_keywords_are_matched_with_their_case(write_jsonl):
    path = write_jsonl([record(0, keywords=["gatlampan", "släckt"])])
    assert problems_of(path) == [
        f"{path}:1: keywords: 'gatlampan' is not copied verbatim from the text"
    ]


def test_duplicate_ids_are_reported_with_the_first_line(write_jsonl):
    path = write_jsonl([record(0), record(1), record(2, id="r-000000")])
    assert problems_of(path) == [f"{path}:3: duplicate id 'r-000000' (first on line 1)"]


def test_exact_duplicate_texts_ignore_case_and_whitespace(write_jsonl):
    shouted = TEXTS[0].upper().replace(" ", "  ")
    path = write_jsonl(
        [record(0), record(1), record(4, text=shouted, keywords=["GATLAMPAN", "SLÄCKT"])]
    )
    assert problems_of(path) == [f"{path}:3: duplicate text (same as line 1)"]


def test_a_report_with_a_few_words_swapped_is_a_near_duplicate(write_jsonl):
    long_text = (
        "Hej! Sedan två veckor är gatlampan utanför vårt hus på Tallbacksvägen 12 släckt. "
        "Det är helt mörkt när barnen går till skolan på morgonen och jag har redan ringt "
        "en gång utan att något hänt. Kan ni skicka någon? Hälsningar Eva"
    )
    swapped = long_text.replace("Tallbacksvägen 12", "Tallbacksvägen 14").replace("Eva", "Lars")
    path = write_jsonl(
        [
            record(0, text=long_text, keywords=["gatlampan", "släckt"]),
            record(1),
            record(2, text=swapped, keywords=["gatlampan", "släckt"]),
        ]
    )
    problems = problems_of(path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:3: near-duplicate text of line 1 (id 'r-000000'")


def test_different_reports_on_the_same_topic_are_not_near_duplicates():
    texts = [
        "Gatlampan utanför Tallbacksvägen 12 har varit släckt sedan i fredags.",
        "Lyktstolpen vid busshållplatsen Kvarnbacken lutar efter att en bil backat in i den.",
        "det är becksvart på gångvägen mellan skolan och idrottshallen, ingen lampa funkar",
    ]
    assert validate.near_duplicate_pairs(texts) == []


def test_a_file_that_is_not_utf8_gives_a_clear_error(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"text": "gatlampan är släckt"}\n'.encode("latin-1"))
    result = run_cli("validate", str(path))
    assert result.returncode == 1
    assert "not UTF-8" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_file_gives_a_clear_error(tmp_path):
    result = run_cli("validate", str(tmp_path / "nope.jsonl"))
    assert result.returncode == 1
    assert "no such file" in result.stderr


def test_an_empty_file_is_a_problem(write_jsonl):
    path = write_jsonl([""])
    assert problems_of(path) == [f"{path}: no records"]
