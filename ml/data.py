"""Reading corpus files and the fixed, deterministic train/test split."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parent / "data" / "reports_sv.jsonl"
# Which writing batch (municipality and writer mix) each corpus report came from, for
# validation that holds out whole municipalities (see ml/data/README.md).
DEFAULT_PROVENANCE = DEFAULT_CORPUS.parent / "provenance.csv"
TEST_FRACTION = 0.15


class DataError(ValueError):
    """A corpus file cannot be read as JSON Lines records."""


def iter_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, line) for each non-blank line of a UTF-8 file."""
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None


def load_records(path: str | Path) -> list[dict]:
    """Load every record of a JSON Lines corpus; raise DataError naming the first bad line."""
    records = []
    for number, line in iter_lines(path):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
        if not isinstance(record, dict):
            raise DataError(f"{path}:{number}: expected a JSON object")
        records.append(record)
    return records


def load_provenance(path: str | Path = DEFAULT_PROVENANCE) -> dict[str, str]:
    """Map each corpus report id to the writing batch it came from."""
    with open(path, encoding="utf-8", newline="") as handle:
        return {row["id"]: row["batch"] for row in csv.DictReader(handle)}


def data_hash(path: str | Path) -> str:
    """SHA-256 of the file's bytes: identifies exactly which data a model was trained on."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _id_rank(report_id: str) -> str:
    # A cryptographic hash gives an order that is fixed by the id alone and unrelated to
    # the order in which reports were written or added.
    return hashlib.sha256(f"arendeflode-split:{report_id}".encode()).hexdigest()


def held_out_ids(records: Iterable[dict], fraction: float = TEST_FRACTION) -> set[str]:
    """Ids of the fixed test split, stratified by department.

    Within each department the reports are ordered by a hash of their id and the first
    ``round(fraction * n)`` form the test split. The choice depends only on the ids, so it
    is the same on every machine and run; adding reports moves only the margin.
    """
    by_department: dict[str, list[str]] = defaultdict(list)
    for record in records:
        by_department[record["department"]].append(record["id"])
    chosen: set[str] = set()
    for ids in by_department.values():
        ranked = sorted(ids, key=_id_rank)
        chosen.update(ranked[: round(fraction * len(ranked))])
    return chosen


def split(
    records: list[dict], fraction: float = TEST_FRACTION, test_ids: set[str] | None = None
) -> tuple[list[dict], list[dict]]:
    """Return (train, test) with the fixed test split of ``held_out_ids``.

    ``test_ids`` names the test split outright instead: a corpus's own split, kept fixed
    while reports labelled elsewhere are added to its training part.
    """
    chosen = held_out_ids(records, fraction) if test_ids is None else set(test_ids)
    train = [r for r in records if r["id"] not in chosen]
    test = [r for r in records if r["id"] in chosen]
    return train, test


def model_input(record: dict) -> str:
    """The text a model reads: the subject (when there is one) and the body."""
    subject = (record.get("subject") or "").strip()
    text = record.get("text") or ""
    return f"{subject}\n{text}" if subject else text


__all__ = [
    "DEFAULT_CORPUS",
    "DEFAULT_PROVENANCE",
    "TEST_FRACTION",
    "DataError",
    "data_hash",
    "held_out_ids",
    "iter_lines",
    "load_provenance",
    "load_records",
    "model_input",
    "split",
]
