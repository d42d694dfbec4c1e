"""Checking a corpus file against the taxonomy: schema, codes, keywords and duplicates."""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from ml import data, taxonomy

# Cosine similarity of character 3-5-gram TF-IDF vectors above which two texts count as
# near-duplicates. Chosen by reading pairs around it: above 0.8, pairs are the same
# report with a few words swapped; below it they share phrasing but tell different things.
NEAR_DUPLICATE_THRESHOLD = 0.8

_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_SWEDISH_LETTERS = re.compile(r"[åäöÅÄÖ]")
# A quoted earlier message: "> " lines, Outlook's header, or a mail client's "... skrev:" line.
_QUOTED_REPLY = re.compile(r"^>|Ursprungligt meddelande|skrev:", re.MULTILINE)


@dataclass(frozen=True)
class Problem:
    """One violation, located by its line in the file (None for file-level problems)."""

    line: int | None
    message: str

    def format(self, path: str | Path) -> str:
        return f"{path}:{self.line}: {self.message}" if self.line else f"{path}: {self.message}"


def _one_of(value: object, codes: dict, field: str) -> list[str]:
    if value not in codes:
        return [f"{field}: unknown code {value!r} (expected one of {', '.join(map(str, codes))})"]
    return []


def check_record(record: dict) -> list[str]:
    """Problems of one record taken alone (schema, codes, severity, tags, keywords)."""
    problems = [
        f"missing field {name!r}" for name in taxonomy.REQUIRED_FIELDS if name not in record
    ]
    problems += [
        f"unknown field {name!r}" for name in record if name not in taxonomy.REQUIRED_FIELDS
    ]

    report_id = record.get("id")
    if "id" in record and (not isinstance(report_id, str) or not report_id.strip()):
        problems.append("id: must be a non-empty string")
    if "channel" in record:
        problems += _one_of(record["channel"], taxonomy.CHANNELS, "channel")
    subject = record.get("subject")
    if subject is not None and (not isinstance(subject, str) or not subject.strip()):
        problems.append("subject: must be null or a non-empty string")
    text = record.get("text")
    text_ok = isinstance(text, str) and bool(text.strip())
    if "text" in record and not text_ok:
        problems.append("text: must be a non-empty string")
    for field, codes in taxonomy.SINGLE_LABEL_FIELDS.items():
        if field in record:
            problems += _one_of(record[field], codes, field)

    if "severity" in record:
        severity = record["severity"]
        if not isinstance(severity, int) or isinstance(severity, bool):
            problems.append(f"severity: must be an integer, got {severity!r}")
        elif not taxonomy.SEVERITY_MIN <= severity <= taxonomy.SEVERITY_MAX:
            problems.append(
                f"severity: {severity} is outside {taxonomy.SEVERITY_MIN}-{taxonomy.SEVERITY_MAX}"
            )

    if "tags" in record:
        tags = record["tags"]
        if not isinstance(tags, list):
            problems.append("tags: must be a list")
        else:
            problems += [
                f"tags: unknown code {tag!r}"
                for tag in tags
                if not isinstance(tag, str) or tag not in taxonomy.TAGS
            ]
            if len(set(map(str, tags))) != len(tags):
                problems.append("tags: listed twice")

    if "keywords" in record:
        problems += _check_keywords(record["keywords"], text if text_ok else None)
    return problems


def _check_keywords(keywords: object, text: str | None) -> list[str]:
    low, high = taxonomy.KEYWORDS_MIN, taxonomy.KEYWORDS_MAX
    if not isinstance(keywords, list):
        return ["keywords: must be a list of strings"]
    problems = []
    if not low <= len(keywords) <= high:
        problems.append(f"keywords: {len(keywords)} given, expected {low}-{high}")
    for keyword in keywords:
        if not isinstance(keyword, str) or not keyword.strip():
            problems.append(f"keywords: {keyword!r} is not a non-empty string")
        elif text is not None and not occurs_as_words(keyword, text):
            problems.append(f"keywords: {keyword!r} is not copied verbatim from the text")
    folded = [k.casefold() for k in keywords if isinstance(k, str)]
    if len(set(folded)) != len(folded):
        problems.append("keywords: listed twice")
    return problems


def occurs_as_words(phrase: str, text: str) -> bool:
    """True if phrase occurs in text exactly, starting and ending at word boundaries."""
    pattern = rf"(?<!\w){re.escape(phrase)}(?!\w)"
    return re.search(pattern, text) is not None


def normalise(text: str) -> str:
    """Lower-case text with runs of whitespace folded: the form duplicates are compared in."""
    return _WHITESPACE.sub(" ", text.casefold()).strip()


def near_duplicate_pairs(
    texts: list[str], threshold: float = NEAR_DUPLICATE_THRESHOLD, block: int = 512
) -> list[tuple[int, int, float]]:
    """Pairs (i, j, similarity), i < j, whose character n-gram cosine similarity >= threshold.

    Character n-grams (3-5, within word boundaries) see through typos, missing å/ä/ö and
    swapped names, which is what makes a paraphrase loop or a copied template visible.
    """
    present = [i for i, text in enumerate(texts) if text.strip()]
    if len(present) < 2:
        return []
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    matrix = vectorizer.fit_transform([normalise(texts[i]) for i in present])
    pairs = []
    for start in range(0, matrix.shape[0], block):
        similarity = (matrix[start : start + block] @ matrix.T).toarray()
        rows, cols = np.nonzero(similarity >= threshold)
        for row, col in zip(rows, cols, strict=True):
            i = start + row
            if col > i:
                pairs.append((present[i], present[col], float(similarity[row, col])))
    return pairs


def validate_file(
    path: str | Path, near_duplicate_threshold: float | None = NEAR_DUPLICATE_THRESHOLD
) -> tuple[list[dict], list[Problem]]:
    """Read and check a corpus file; return the parsed records and every problem found.

    near_duplicate_threshold=None skips the near-duplicate search (schema checks only).
    """
    records: list[dict] = []
    lines: list[int] = []
    problems: list[Problem] = []
    for number, line in data.iter_lines(path):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(number, f"invalid JSON: {exc.msg} (column {exc.colno})"))
            continue
        if not isinstance(record, dict):
            problems.append(Problem(number, "expected a JSON object"))
            continue
        problems += [Problem(number, message) for message in check_record(record)]
        records.append(record)
        lines.append(number)
    if not records and not problems:
        problems.append(Problem(None, "no records"))

    first_line_of_id: dict[str, int] = {}
    first_line_of_text: dict[str, int] = {}
    for record, number in zip(records, lines, strict=True):
        report_id = record.get("id")
        if isinstance(report_id, str):
            if report_id in first_line_of_id:
                problems.append(
                    Problem(
                        number,
                        f"duplicate id {report_id!r} (first on line {first_line_of_id[report_id]})",
                    )
                )
            first_line_of_id.setdefault(report_id, number)
        text = record.get("text")
        if isinstance(text, str) and text.strip():
            key = normalise(text)
            if key in first_line_of_text:
                problems.append(
                    Problem(number, f"duplicate text (same as line {first_line_of_text[key]})")
                )
            first_line_of_text.setdefault(key, number)

    texts = [r["text"] if isinstance(r.get("text"), str) else "" for r in records]
    pairs = (
        near_duplicate_pairs(texts, near_duplicate_threshold)
        if near_duplicate_threshold is not None
        else []
    )
    for i, j, similarity in pairs:
        if normalise(texts[i]) == normalise(texts[j]):
            continue  # already reported as an exact duplicate
        problems.append(
            Problem(
                lines[j],
                f"near-duplicate text of line {lines[i]} (id {records[i].get('id')!r}, "
                f"similarity {similarity:.2f})",
            )
        )
    problems.sort(key=lambda p: (p.line or 0, p.message))
    return records, problems


def _table(title: str, counts: Counter, total: int, order: list | None = None) -> list[str]:
    keys = order if order is not None else sorted(counts, key=lambda k: (-counts[k], str(k)))
    width = max([len(str(k)) for k in keys] + [len(title)])
    lines = [f"{title}:"]
    lines += [f"  {k!s:<{width}} {counts[k]:>6} {100 * counts[k] / total:6.1f}%" for k in keys]
    return lines


def stats(records: list[dict]) -> str:
    """Human-readable label distributions of (valid) records, for `validate --stats`."""
    total = len(records)
    if not total:
        return "0 records"
    train, test = data.split(records)
    out = [f"records: {total} (train {len(train)}, test {len(test)})"]
    for field, codes in taxonomy.SINGLE_LABEL_FIELDS.items():
        out += _table(field, Counter(r[field] for r in records), total, list(codes))
    out += _table(
        "severity", Counter(r["severity"] for r in records), total, list(taxonomy.SEVERITIES)
    )
    out += _table("channel", Counter(r["channel"] for r in records), total, list(taxonomy.CHANNELS))
    tag_counts = Counter(t for r in records for t in r["tags"])
    tag_counts["(no tag)"] = sum(1 for r in records if not r["tags"])
    out += _table("tags", tag_counts, total, [*taxonomy.TAGS, "(no tag)"])
    words = [len(r["text"].split()) for r in records]
    deciles = statistics.quantiles(words, n=10) if total > 1 else words * 9
    out.append(
        f"words per text: min {min(words)}, median {statistics.median(words):g}, "
        f"mean {statistics.mean(words):.1f}, p90 {deciles[-1]:g}, max {max(words)}; "
        f"{100 * sum(w <= 15 for w in words) / total:.1f}% have <= 15 words, "
        f"{100 * sum(w > 60 for w in words) / total:.1f}% > 60"
    )
    with_subject = sum(1 for r in records if r["subject"])
    out.append(f"with subject: {with_subject} ({100 * with_subject / total:.1f}%)")
    out.append(f"keywords per report: {statistics.mean(len(r['keywords']) for r in records):.2f}")
    without_aao = sum(1 for r in records if not _SWEDISH_LETTERS.search(r["text"]))
    quoting = sum(1 for r in records if _QUOTED_REPLY.search(r["text"]))
    forms = {word.casefold() for r in records for word in _WORD.findall(r["text"])}
    out.append(
        f"register: {100 * without_aao / total:.1f}% without å/ä/ö, "
        f"{100 * quoting / total:.1f}% quote an earlier message, {len(forms)} distinct word forms"
    )
    # One similarity search at the looser threshold; the stricter one is a subset of it.
    loose = near_duplicate_pairs([r["text"] for r in records], 0.7)
    for threshold in (0.7, NEAR_DUPLICATE_THRESHOLD):
        pairs = [pair for pair in loose if pair[2] >= threshold]
        involved = {i for pair in pairs for i in pair[:2]}
        out.append(
            f"near-duplicates at similarity >= {threshold}: {len(pairs)} pairs, "
            f"{len(involved)} reports ({100 * len(involved) / total:.2f}%)"
        )
    return "\n".join(out)
