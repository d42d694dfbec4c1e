"""Typed helpers that read settings from the environment and fail loudly on bad values.

A value may also come from a file named by ``<NAME>_FILE`` (for Docker and Kubernetes secrets).
"""

from __future__ import annotations

import os
from pathlib import Path


class ImproperSetting(ValueError):
    """An environment variable holds a value the setting cannot use."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def raw(name: str, default: str | None = None) -> str | None:
    """Return the variable's value, or the contents of the file named by ``NAME_FILE``."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperSetting(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def string(name: str, default: str) -> str:
    value = raw(name, default)
    assert value is not None
    return value


def boolean(name: str, default: bool) -> bool:
    value = raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperSetting(f"{name}={value!r} is not a boolean (use 1/0, true/false, yes/no)")


def integer(name: str, default: int) -> int:
    value = raw(name)
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperSetting(f"{name}={value!r} is not an integer") from None


def string_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; empty items are dropped."""
    value = raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]
