"""Training a model directory: split, fit, evaluate on the fixed test split, save."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path

from ml import data, evaluate, modeldir, predictor, taxonomy
from ml.baseline import BaselineModel

log = logging.getLogger(__name__)


class TrainingError(Exception):
    """Training cannot start: bad data or an unusable output directory."""


def build_model(kind: str, base_models: list[str] | None, options: dict):
    """A fresh, untrained model of the kind asked for; the resolved base for a transformer."""
    if kind == "baseline":
        return BaselineModel(), None, {}
    if kind == "transformer":
        from ml import base_models as bases
        from ml.transformer import TransformerConfig, TransformerModel

        try:
            resolved = bases.resolve(base_models)
        except bases.NoBaseModel as exc:
            raise TrainingError(str(exc)) from None
        try:
            config = TransformerConfig(**options)
        except (TypeError, ValueError) as exc:
            raise TrainingError(f"bad transformer option: {exc}") from None
        base = {"name": resolved.name, "path": resolved.path, "skipped": resolved.skipped}
        return TransformerModel(config, resolved), resolved.name, {"base": base}
    raise TrainingError(f"unknown model kind {kind!r}")


def train(
    kind: str,
    data_path: str | Path,
    out: str | Path,
    base_models: list[str] | None = None,
    options: dict | None = None,
    progress=None,
    test_ids: set[str] | None = None,
) -> dict:
    """Train on the training part of the fixed split, write a model directory, return its meta.

    ``test_ids`` fixes the test split by id (see ``data.split``); the meta records whether.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise TrainingError(f"{out}: exists and is not an empty directory")
    try:
        records = data.load_records(data_path)
    except data.DataError as exc:
        raise TrainingError(str(exc)) from None
    train_records, test_records = data.split(records, test_ids=test_ids)
    missing = set(taxonomy.DEPARTMENTS) - {r["department"] for r in train_records}
    if missing:
        raise TrainingError(f"no training reports for department(s): {', '.join(sorted(missing))}")

    model, base_model, extra = build_model(kind, base_models, options or {})
    started = time.perf_counter()
    model.fit(train_records, progress=progress)
    extra.update(model.extra_meta())
    training_seconds = time.perf_counter() - started
    log.info("trained %s on %d reports in %.1f s", kind, len(train_records), training_seconds)

    data_hash = data.data_hash(data_path)
    meta = {
        "kind": kind,
        "version": modeldir.new_version(kind, data_hash),
        "base_model": base_model,
        **extra,
        "config": model.config_dict(),
        "data": {
            "path": Path(data_path).name,
            "sha256": data_hash,
            "n_reports": len(records),
            "n_train": len(train_records),
            "n_test": len(test_records),
            "test_split": "given" if test_ids is not None else "held_out_ids",
        },
        "labels": {
            **{field: list(codes) for field, codes in taxonomy.SINGLE_LABEL_FIELDS.items()},
            "severity": list(taxonomy.SEVERITIES),
            "tags": list(taxonomy.TAGS),
        },
        "training_seconds": round(training_seconds, 2),
        "device": _device_name(),
        "libraries": modeldir.library_versions(
            "scikit-learn", "numpy", "scipy", "joblib", "torch", "transformers", "tokenizers"
        ),
    }
    # Write into a temporary sibling and rename, so a crash never leaves a half-written model.
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        model.save(staging)
        modeldir.write_meta(staging, meta)
        if test_records:
            meta["metrics"] = evaluate.evaluate(predictor.load(staging), test_records)
            modeldir.write_meta(staging, meta)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return modeldir.read_meta(out)


def _device_name() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    return "cpu"
