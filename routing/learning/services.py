"""Learning verbs: route a report with the active model, train, register and activate versions."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ml import modeldir, taxonomy
from ml import train as ml_train
from routing.intake.models import Department, Prediction, Report
from routing.learning import comparison
from routing.learning import predictor as active
from routing.learning.models import ActivationLog, Label, ModelVersion, TrainingRun

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
        prediction = comparison.store_prediction(
            report.pk, version, output, Prediction.Source.ROUTING
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


def write_training_data(stamp: str, until=None) -> tuple[Path, dict]:
    """Write the data a training run reads (corpus plus the case workers' labels given up to
    `until`) and return its path and counts.

    The file is kept beside the models, so every version's data hash can be traced.
    """
    from routing.learning import dataset

    path = _training_data_dir() / f"training-{stamp}.jsonl"
    stats = dataset.write_training_data(path, until=until)
    log.info("training data %s: %s", path.name, stats)
    return path, stats


def _training_data_dir() -> Path:
    return Path(settings.MODEL_DIR) / "training-data"


def training_data_file(version: ModelVersion) -> Path | None:
    """The data file a version trained on, when a run wrote it here and it is still there."""
    name = (version.meta.get("data") or {}).get("path")
    path = _training_data_dir() / name if name else None
    return path if path is not None and path.is_file() else None


def train_model_version(
    kind: str,
    *,
    base_models: list[str] | None = None,
    options: dict | None = None,
    user=None,
    progress=None,
    data: tuple[Path, object] | None = None,
    training_run: TrainingRun | None = None,
) -> ModelVersion:
    """Train a model directory under MODEL_DIR and register it (inactive).

    `data` is a training data file already written and the label time it was cut at;
    without it, the corpus and every label given until now are written first.
    """
    root = Path(settings.MODEL_DIR)
    root.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
    if data is None:
        until = timezone.now()
        data = (write_training_data(stamp, until)[0], until)
    data_path, until = data
    out = root / f"{kind}-{stamp}"
    from routing.learning.dataset import corpus_test_ids

    meta = ml_train.train(
        kind,
        data_path,
        out,
        base_models=base_models or settings.ROUTING_BASE_MODELS or None,
        options=options,
        progress=progress,
        # Every version is measured on the corpus's own test split, however many labels.
        test_ids=corpus_test_ids(),
    )
    return register_model_version(
        out, user=user, meta=meta, data_until=until, training_run=training_run
    )


def register_model_version(
    directory: Path | str,
    *,
    user=None,
    meta: dict | None = None,
    data_until=None,
    training_run: TrainingRun | None = None,
):
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
            "data_until": data_until,
            "training_run": training_run,
        },
    )
    return version


class ActivationConflict(Exception):
    """The active version changed since the caller looked (an automatic activation gives way)."""


def activate_model_version(
    version: ModelVersion,
    *,
    user=None,
    action: str = "activate",
    reason: str = "",
    replacing: ModelVersion | None = None,
) -> ModelVersion:
    """Make this version the one the workers use (the others are deactivated atomically).

    Every activation is written to the audit log (ActivationLog) in the same transaction.
    With `replacing`, the switch happens only while that version is still the active one
    (else ActivationConflict): an automatic activation never overrides a person's choice.
    """
    # Refuse a directory that cannot be loaded before switching: read from disk, as every
    # worker will, and not kept in this (web) process.
    active.check(version)
    with transaction.atomic():
        # The lock serialises concurrent activations, so the logged previous version is right.
        previous = ModelVersion.objects.select_for_update().filter(is_active=True).first()
        if replacing is not None and previous != replacing:
            raise ActivationConflict(version.version)
        ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
        # The active version routes; it no longer runs in shadow mode beside itself.
        ModelVersion.objects.filter(pk=version.pk).update(
            is_active=True, shadow=False, activated_at=timezone.now(), activated_by=user
        )
        ActivationLog.objects.create(
            model_version=version, previous=previous, user=user, action=action, reason=reason
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


# Training runs: requested from the "Modeller" page, done by a worker on the training queue.


class TrainingRunRefused(Exception):
    """A training run cannot be started (one is already queued or running)."""


class RollbackRefused(Exception):
    """A version cannot be rolled back to (it is the active one, or was never active)."""


# Progress is written to the database at most this often; a transformer steps many times
# a second on a GPU, and the page polls every two seconds anyway.
PROGRESS_INTERVAL_S = 2.0
# How much of a traceback a failed run keeps in its log.
TRACEBACK_TAIL_CHARS = 4000


def start_training_run(kind: str, user=None) -> TrainingRun:
    """Queue a training run of `kind` and enqueue its task once the transaction commits.

    Raises TrainingRunRefused while another run is queued or running: the partial unique
    constraint on TrainingRun decides, so two admins clicking at once cannot start two.
    """
    from django.db import IntegrityError
    from django.utils.translation import gettext as _

    if kind not in TrainingRun.Kind.values:
        raise ValueError(f"unknown model kind {kind!r}")
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(kind=kind, requested_by=user)
    except IntegrityError:
        raise TrainingRunRefused(_("En träning pågår redan.")) from None
    transaction.on_commit(lambda: _enqueue_training(run.pk))
    log.info("training run %s (%s) queued by %s", run.pk, kind, user)
    return run


def _enqueue_training(run_id: int) -> None:
    from routing.learning import tasks

    # A run that never reached the broker would stay queued and block every later run.
    tasks.enqueue_or_fail(tasks.train_model, TrainingRun, run_id)


def _append_log(run_id: int, *lines: str) -> None:
    from django.db.models import F, TextField, Value
    from django.db.models.functions import Concat

    stamp = timezone.localtime().strftime("%H:%M:%S")
    text = "".join(f"{stamp} {line}\n" for line in lines)
    TrainingRun.objects.filter(pk=run_id).update(
        log=Concat(F("log"), Value(text), output_field=TextField())
    )


def _finish(run_id: int, status: str, **fields) -> None:
    TrainingRun.objects.filter(pk=run_id).update(
        status=status, finished_at=timezone.now(), eta_seconds=None, **fields
    )


class _ProgressWriter:
    """The `progress` callback of ml training: writes epoch, step, loss and ETA to the run,
    at most every PROGRESS_INTERVAL_S seconds (and always at an epoch's start or the end)."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.last_write = 0.0
        self.epoch = 0

    def __call__(self, update: dict) -> None:
        import time

        now = time.monotonic()
        epoch = int(update.get("epoch") or 0)
        step = int(update.get("step") or 0)
        total = int(update.get("total_steps") or 0)
        new_epoch = epoch != self.epoch
        if not new_epoch and step < total and now - self.last_write < PROGRESS_INTERVAL_S:
            return
        self.last_write = now
        loss = update.get("loss")
        eta = update.get("eta_s")
        TrainingRun.objects.filter(pk=self.run_id, status=TrainingRun.Status.RUNNING).update(
            epoch=epoch,
            step=step,
            total_steps=total,
            loss=None if loss is None else float(loss),
            eta_seconds=None if eta is None else max(0.0, float(eta)),
            progress_at=timezone.now(),
        )
        if new_epoch:
            self.epoch = epoch
            _append_log(self.run_id, f"epoch {epoch} started (step {step} of {total})")


class _RunLogHandler(logging.Handler):
    """Copies the ml package's log lines (epochs, validation scores) into the run's log."""

    def __init__(self, run_id: int):
        super().__init__(level=logging.INFO)
        self.run_id = run_id

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _append_log(self.run_id, self.format(record))
        except Exception:
            self.handleError(record)


def run_training(run_id: int) -> str:
    """Do a queued training run: train, register the version (inactive), record the outcome.

    Safe to run twice: the run is claimed by a conditional update from queued to running,
    and only the task that changed that one row trains. Whatever happens during training,
    the run ends succeeded or failed, never left running.
    """
    import traceback

    claimed = TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.QUEUED).update(
        status=TrainingRun.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return "not-queued"
    run = TrainingRun.objects.select_related("requested_by").get(pk=run_id)
    handler = _RunLogHandler(run_id)
    ml_log = logging.getLogger("ml")
    ml_log.addHandler(handler)
    versions: list[ModelVersion] = []
    try:
        # One data file for every kind the run trains, cut at one moment: labels given
        # later are unseen by these versions (and fair to measure them on).
        until = timezone.now()
        stamp = until.strftime("%Y%m%d-%H%M%S-%f")
        data_path, stats = write_training_data(stamp, until)
        TrainingRun.objects.filter(pk=run_id).update(data_stats=stats)
        _append_log(
            run_id,
            "training data: {corpus} corpus reports, {labelled} labelled reports "
            "({replaced} replace corpus reports), {total} in all".format(**stats),
        )
        for kind in TrainingRun.kinds_of(run.kind):
            _append_log(run_id, f"{kind} training started")
            version = train_model_version(
                kind,
                options=settings.TRANSFORMER_TRAINING_OPTIONS if kind == "transformer" else None,
                user=run.requested_by,
                progress=_ProgressWriter(run_id),
                data=(data_path, until),
                training_run=run,
            )
            versions.append(version)
            f1 = version.department_macro_f1
            _append_log(
                run_id,
                f"registered {version.version}"
                + (f"; department macro-F1 {f1:.3f} on the test split" if f1 is not None else ""),
            )
    except BaseException as exc:
        tail = traceback.format_exc()[-TRACEBACK_TAIL_CHARS:]
        _append_log(run_id, f"failed: {exc}", tail.rstrip())
        _finish(run_id, TrainingRun.Status.FAILED, error=str(exc) or type(exc).__name__)
        log.exception("training run %s failed", run_id)
        if not isinstance(exc, Exception):
            raise  # a worker shutting down: the run is recorded, the exit goes on
        if versions:
            # The baseline of a run of both registered before the transformer failed: it is
            # compared all the same, so the admin can still use it.
            _compare_newest(run_id, versions, run.requested_by)
        return "failed"
    finally:
        ml_log.removeHandler(handler)
    # The newest version (the transformer of a run of both) is compared with the active one
    # and the baseline; the comparison may activate it when so configured. It is queued
    # before the run ends, so the page that reloads at the end already links to it.
    _compare_newest(run_id, versions, run.requested_by)
    _finish(run_id, TrainingRun.Status.SUCCEEDED)
    return "succeeded"


def _compare_newest(run_id: int, versions: list[ModelVersion], user) -> None:
    try:
        comparison.start_comparison(versions[-1], user=user)
    except Exception:
        log.exception("training run %s: the comparison could not be started", run_id)


def rollback_to(version: ModelVersion, user=None, reason: str = "") -> ModelVersion:
    """Make an earlier active version the active one again (logged as a rollback)."""
    from django.utils.translation import gettext as _

    if version.is_active:
        raise RollbackRefused(_("Den versionen är redan aktiv."))
    if version.activated_at is None:
        raise RollbackRefused(_("Den versionen har aldrig varit aktiv; aktivera den i stället."))
    return activate_model_version(version, user=user, action="rollback", reason=reason)


def fail_stale_training_runs() -> int:
    """Mark failed the runs whose worker died: no progress for TRAINING_STALE_MINUTES.

    A killed worker's run would otherwise stay "running" and block every later run. The
    conditional update only touches runs that are still running and still silent.
    """
    cutoff = timezone.now() - timedelta(minutes=settings.TRAINING_STALE_MINUTES)
    silent = Q(progress_at__lt=cutoff) | Q(progress_at__isnull=True, started_at__lt=cutoff)
    stale = TrainingRun.objects.filter(silent, status=TrainingRun.Status.RUNNING)
    count = stale.update(
        status=TrainingRun.Status.FAILED,
        finished_at=timezone.now(),
        eta_seconds=None,
        error=f"no progress for {settings.TRAINING_STALE_MINUTES} minutes: the worker stopped",
    )
    if count:
        log.warning("%d training run(s) without progress marked failed", count)
    # A run still queued that long was never picked up (no worker on the training queue):
    # it would block every later run, the schedule's included.
    never = TrainingRun.objects.filter(status=TrainingRun.Status.QUEUED, created_at__lt=cutoff)
    count += never.update(
        status=TrainingRun.Status.FAILED,
        finished_at=timezone.now(),
        error=f"no worker took the run in {settings.TRAINING_STALE_MINUTES} minutes: "
        "is a worker consuming the training queue?",
    )
    # A comparison whose worker died blocks nothing, but its page would wait for ever. One
    # queued behind a long training run may wait a day before it is given up.
    from routing.learning.models import Comparison

    stuck = Comparison.objects.filter(
        Q(status=Comparison.Status.RUNNING, started_at__lt=cutoff)
        | Q(status=Comparison.Status.QUEUED, created_at__lt=timezone.now() - timedelta(days=1))
    ).update(
        status=Comparison.Status.FAILED,
        finished_at=timezone.now(),
        error="not finished in time: the worker stopped or no worker serves the training queue",
    )
    if stuck:
        log.warning("%d comparison(s) without a result marked failed", stuck)
    return count


# Shadow mode: a candidate predicts every incoming report beside the active version.


def shadow_versions():
    return ModelVersion.objects.filter(shadow=True, is_active=False)


def shadow_predict(report_id: int) -> int:
    """Store the shadow version's prediction of a report (never routing it); the count.

    A version that fails is logged and skipped: shadow mode never disturbs anything else.
    """
    report = Report.objects.filter(pk=report_id).only("pk", "text", "subject").first()
    if report is None:
        return 0
    done = 0
    for version in shadow_versions():
        try:
            [output] = active.load(version).predict(
                [{"text": report.text, "subject": report.subject or None}]
            )
            comparison.store_prediction(report.pk, version, output, Prediction.Source.SHADOW)
        except Exception:
            log.warning(
                "shadow prediction of report %s by %s failed",
                report_id,
                version.version,
                exc_info=True,
            )
            continue
        done += 1
    return done


def set_shadow(version: ModelVersion, on: bool) -> ModelVersion:
    """Turn shadow mode on or off for a version. One version at a time runs in shadow mode
    (turning one on turns the others off), and never the active one: the inference workers
    then hold two models, the active and the candidate."""
    if on:
        active.check(version)  # refuse a directory that cannot be loaded
    with transaction.atomic():
        if on:
            ModelVersion.objects.filter(shadow=True).exclude(pk=version.pk).update(shadow=False)
        ModelVersion.objects.filter(pk=version.pk).update(shadow=on and not version.is_active)
    version.refresh_from_db()
    log.info("shadow mode %s for %s", "on" if version.shadow else "off", version.version)
    return version


# Scheduled retraining (beat): only when enough new labels arrived.


def labels_since_last_training() -> int:
    """Reports whose department a person first labelled after the data of the newest version
    of the kind the schedule trains."""
    from django.db.models import Min

    # The newest version of the kind the schedule trains last (the transformer of a run of
    # both): a run whose transformer failed after its baseline is tried again.
    kind = TrainingRun.kinds_of(settings.RETRAIN_KIND)[-1]
    newest = ModelVersion.objects.filter(kind=kind).order_by("-created_at").first()
    firsts = (
        Label.objects.filter(field="department")
        .values("report_id")
        .annotate(first=Min("created_at"))
    )
    if newest is not None:
        firsts = firsts.filter(first__gt=newest.labels_seen_until)
    return firsts.count()


def retrain_if_enough_labels() -> str:
    """Start a run of RETRAIN_KIND when at least RETRAIN_MIN_NEW_LABELS reports were labelled
    since the newest version's training data was cut; otherwise do nothing (logged)."""
    new = labels_since_last_training()
    if new < settings.RETRAIN_MIN_NEW_LABELS:
        log.info(
            "scheduled retraining skipped: %d new labelled reports, %d needed",
            new,
            settings.RETRAIN_MIN_NEW_LABELS,
        )
        return "too-few-labels"
    try:
        run = start_training_run(settings.RETRAIN_KIND)
    except TrainingRunRefused:
        log.info("scheduled retraining skipped: a run is already going")
        return "busy"
    _append_log(run.pk, f"started by the schedule: {new} newly labelled reports")
    return "started"
