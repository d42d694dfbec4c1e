"""The model directory, the unit of deployment: weights, label maps and a self-describing meta."""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

META_FILE = "meta.json"
FORMAT_VERSION = 1
KINDS = ("baseline", "transformer")


class ModelDirError(Exception):
    """A directory is missing, corrupt, or not an Ärendeflöde model directory."""


def library_versions(*names: str) -> dict[str, str]:
    """Installed versions of the libraries that produced a model, for meta.json."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def new_version(kind: str, data_hash: str) -> str:
    """A readable, unique version name: kind, UTC time and the start of the data hash."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{kind}-{stamp}-{data_hash[:8]}"


def write_meta(directory: Path, meta: dict) -> None:
    meta = {"format_version": FORMAT_VERSION, **meta}
    (directory / META_FILE).write_text(
        json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


def read_meta(directory: str | Path) -> dict:
    """Read and check meta.json; raise ModelDirError with a message a person can act on."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelDirError(f"{directory}: no such model directory")
    path = directory / META_FILE
    if not path.is_file():
        raise ModelDirError(f"{directory}: not a model directory ({META_FILE} is missing)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelDirError(f"{path}: corrupt ({exc})") from None
    if not isinstance(meta, dict) or meta.get("kind") not in KINDS:
        raise ModelDirError(f"{path}: not an Ärendeflöde model (unknown kind)")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelDirError(
            f"{path}: format version {meta.get('format_version')!r} is not supported "
            f"(this code reads version {FORMAT_VERSION}); retrain the model"
        )
    return meta
