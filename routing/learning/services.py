"""Learning verbs: route a report with the active model, train, register and activate versions."""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ml import modeldir, taxonomy
from ml import train as ml_train
from routing.intake.models import Department, Prediction, Report
from routing.learning import predictor as active
from routing.learning.models import Label, ModelVersion

log = logging.getLogger(__name__)


class RoutingOutcome:
    ROUTED = "routed"
    ALREADY_ROUTED = "already-routed"
    MISSING = "missing"


def route_report(report_id: int) -> str:
    """Predict a report with the active model, store the prediction and route it.

    Safe to run twice: the prediction is stored once per model version, and the report is
    routed by a conditional update that only changes a report still waiting for routing.
    Raises ModelNotReady when no model can be used (the task retries later).
    """
    report = Report.objects.filter(pk=report_id).only("pk", "status", "text", "subject").first()
    if report is None:
        return RoutingOutcome.MISSING
    if report.status != Report.Status.RECEIVED:
        return RoutingOutcome.ALREADY_ROUTED
    version, predictor = active.active_predictor()
    [output] = predictor.predict([{"text": report.text, "subject": report.subject or None}])
    department_code = output["department"]["label"]
    # The departments are seeded from the taxonomy; a missing row is recreated, not skipped.
    department, _ = Department.objects.get_or_create(
        code=department_code, defaults={"name": taxonomy.DEPARTMENTS[department_code]}
    )
    with transaction.atomic():
        prediction, _created = Prediction.objects.get_or_create(
            report_id=report.pk,
            model_version=version.version,
            defaults={
                "model_kind": version.kind,
                "data": output,
                "department": department_code,
                "department_confidence": output["department"]["confidence"],
                "severity_score": output["severity"]["score"],
            },
        )
        data = prediction.data
        changed = Report.objects.filter(pk=report.pk, status=Report.Status.RECEIVED).update(
            status=Report.Status.ROUTED,
            department=department,
            prediction=prediction,
            severity_score=prediction.severity_score,
            routing_confidence=prediction.department_confidence,
            case_type=data["case_type"]["label"],
            sentiment=data["sentiment"]["label"],
            severity=data["severity"]["label"],
            tag_codes=Report.encode_tags(tag for tag, _p in data["tags"]),
            keywords=data["keywords"],
            routed_at=timezone.now(),
        )
    if not changed:
        return RoutingOutcome.ALREADY_ROUTED
    log.info(
        "report %s routed to %s (%.2f) by %s",
        report_id,
        department_code,
        prediction.department_confidence,
        version.version,
    )
    return RoutingOutcome.ROUTED


def training_data_path(stamp: str) -> Path:
    """Write the data a training run reads (corpus plus case workers' labels) and return it.

    The file is kept beside the models, so every version's data hash can be traced.
    """
    from routing.learning.dataset import write_training_data

    path = Path(settings.MODEL_DIR) / "training-data" / f"training-{stamp}.jsonl"
    stats = write_training_data(path)
    log.info("training data %s: %s", path.name, stats)
    return path


def train_model_version(
    kind: str,
    *,
    base_models: list[str] | None = None,
    options: dict | None = None,
    user=None,
    progress=None,
) -> ModelVersion:
    """Train a model directory under MODEL_DIR and register it (inactive)."""
    root = Path(settings.MODEL_DIR)
    root.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
    data_path = training_data_path(stamp)
    out = root / f"{kind}-{stamp}"
    meta = ml_train.train(
        kind,
        data_path,
        out,
        base_models=base_models or settings.ROUTING_BASE_MODELS or None,
        options=options,
        progress=progress,
    )
    return register_model_version(out, user=user, meta=meta)


def register_model_version(directory: Path | str, *, user=None, meta: dict | None = None):
    """Record a model directory as a version (idempotent by its meta.json version)."""
    directory = Path(directory).resolve()
    meta = meta or modeldir.read_meta(directory)
    version, _ = ModelVersion.objects.get_or_create(
        version=meta["version"],
        defaults={
            "kind": meta["kind"],
            "base_model": meta.get("base_model") or "",
            "directory": str(directory),
            "data_hash": meta.get("data", {}).get("sha256", ""),
            "training_records": meta.get("data", {}).get("n_train", 0),
            "training_seconds": meta.get("training_seconds"),
            "metrics": meta.get("metrics", {}),
            "meta": meta,
            "created_by": user,
        },
    )
    return version


def activate_model_version(version: ModelVersion, *, user=None) -> ModelVersion:
    """Make this version the one the workers use (the others are deactivated atomically)."""
    active.load(version)  # refuse a directory that cannot be loaded before switching
    with transaction.atomic():
        ModelVersion.objects.select_for_update().filter(is_active=True).exclude(
            pk=version.pk
        ).update(is_active=False)
        ModelVersion.objects.filter(pk=version.pk).update(
            is_active=True, activated_at=timezone.now(), activated_by=user
        )
    version.refresh_from_db()
    log.info("model version %s activated", version.version)
    return version


def predicted_value(report: Report, field: str):
    """What the routing prediction said about one field, in label form."""
    if report.prediction_id is None:
        return None
    data = report.prediction.data
    if field in ("department", "case_type", "sentiment", "severity"):
        return data[field]["label"]
    if field == "tags":
        return sorted(tag for tag, _p in data["tags"])
    return list(data["keywords"])


def record_label(report: Report, field: str, value, *, user, confirmed: bool) -> Label:
    """Store a person's verdict on one field; retraining uses it."""
    return Label.objects.create(
        report=report,
        field=field,
        predicted_value=predicted_value(report, field),
        value=value,
        confirmed=confirmed,
        model_version=report.prediction.model_version if report.prediction_id else "",
        user=user,
    )
