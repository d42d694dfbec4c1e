"""The JSON Lines loop behind `python -m ml predict`: bad lines are reported, never fatal."""

from __future__ import annotations

import json
from typing import TextIO

# Longer input is accepted but truncated; the models read far less than this anyway.
MAX_TEXT_CHARS = 20_000


def parse_line(line: str) -> dict:
    """One input line as a record for the predictor; ValueError with a readable reason."""
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(value, dict):
        raise ValueError('expected a JSON object such as {"text": "..."}')
    text = value.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError('"text" must be a non-empty string')
    subject = value.get("subject")
    if subject is not None and not isinstance(subject, str):
        raise ValueError('"subject" must be a string or null')
    return {"text": text[:MAX_TEXT_CHARS], "subject": subject}


def run(predictor, lines: TextIO, out: TextIO, err: TextIO, batch_size: int = 32) -> int:
    """Predict every valid line, in order; return the number of lines that failed.

    A failed line still gets an output line ({"error": ...}) so that output line N always
    answers input line N, and a message on stderr that names the line.
    """
    failures = 0
    pending: list[dict | str] = []  # records to predict, or error messages, in input order
    records: list[dict] = []

    def flush() -> None:
        predictions = iter(predictor.predict(records))
        for item in pending:
            answer = next(predictions) if isinstance(item, dict) else {"error": item}
            out.write(json.dumps(answer, ensure_ascii=False) + "\n")
        out.flush()
        pending.clear()
        records.clear()

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = parse_line(line)
        except ValueError as exc:
            failures += 1
            err.write(f"line {number}: {exc}\n")
            pending.append(f"line {number}: {exc}")
            continue
        pending.append(record)
        records.append(record)
        if len(records) >= batch_size:
            flush()
    flush()
    return failures
