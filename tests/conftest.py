"""Shared fixtures for the whole suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def write_jsonl(tmp_path):
    """Write records (dicts, or raw strings taken as lines) to a .jsonl file; return its path."""

    def write(rows, name="data.jsonl"):
        path = tmp_path / name
        lines = [
            row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write
