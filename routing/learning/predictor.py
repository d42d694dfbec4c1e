"""The one place where Django meets `ml`: the active model, loaded once per process.

Each call checks which version is active (one indexed query), so workers pick up a newly
activated version without a restart and keep the loaded model otherwise.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from ml import predictor as ml_predictor
from ml.modeldir import ModelDirError
from routing.learning.models import ModelVersion

log = logging.getLogger(__name__)

_lock = threading.Lock()
# Loaded versions, least recently used first: the active one, a candidate in shadow mode and
# (on the training worker) the baseline of a comparison. Older ones are dropped.
_loaded: OrderedDict[str, ml_predictor.Predictor] = OrderedDict()
MAX_LOADED = 3


class ModelNotReady(RuntimeError):
    """No model version is active, or its directory cannot be loaded."""


def active_version() -> ModelVersion:
    version = ModelVersion.objects.filter(is_active=True).first()
    if version is None:
        raise ModelNotReady("no model version is active; run `manage.py train --activate`")
    return version


def load(version: ModelVersion) -> ml_predictor.Predictor:
    """The loaded predictor of a version (cached; the least recently used is dropped)."""
    with _lock:
        predictor = _loaded.get(version.version)
        if predictor is not None:
            _loaded.move_to_end(version.version)
        else:
            predictor = _read(version)
            _loaded[version.version] = predictor
            while len(_loaded) > MAX_LOADED:
                _loaded.popitem(last=False)
            log.info(
                "loaded model %s (%s) from %s", version.version, version.kind, version.directory
            )
        return predictor


def check(version: ModelVersion) -> None:
    """Load a version's directory once, uncached, to refuse one that cannot be loaded (a web
    process activating a version must not keep its weights in memory)."""
    _read(version)


def _read(version: ModelVersion) -> ml_predictor.Predictor:
    try:
        return ml_predictor.load(version.directory)
    except ModelDirError as exc:
        raise ModelNotReady(str(exc)) from exc


def active_predictor() -> tuple[ModelVersion, ml_predictor.Predictor]:
    version = active_version()
    return version, load(version)


def explain_report(report) -> dict | None:
    """The words that drive the active model's department for a report (`ml.explain`).

    None when no model version is active; ModelNotReady when the active one cannot be
    loaded. The explanation names its model version, which may be newer than the one that
    routed the report.
    """
    version = ModelVersion.objects.filter(is_active=True).first()
    if version is None:
        return None
    return load(version).explain({"text": report.text, "subject": report.subject or None})
