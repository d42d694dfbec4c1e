"""A candidate version measured beside the active version and the baseline, on the same data.

The data every compared version is scored on:
- the corpus's fixed test split (no version trains on it);
- the reports case workers labelled after the newest training data among the compared
  versions was cut, so none of them has seen those labels. A report counts once a person
  confirmed or corrected its department; each other field is scored on the reports where a
  person also gave that field. Predictions already stored for a report (routing, shadow
  mode) are reused; missing ones are predicted and stored, never routed.

Shadow mode: how often the candidate's shadow predictions agree with the active version's
routing of the same reports (each Prediction says why it was made: routing, shadow mode or
a comparison).

A comparison may activate the candidate on its own when AUTO_ACTIVATE_MARGIN is set: the
candidate must beat the active version by that margin on every primary metric of the test
split, and, given enough held-out labels, must not be worse on them.
"""

from __future__ import annotations

import logging
import tempfile
from collections import defaultdict
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from ml import data, evaluate
from ml import learning_curve as ml_learning_curve
from routing.intake.models import Prediction, Report
from routing.learning import dataset
from routing.learning import predictor as loaded
from routing.learning.models import ActivationLog, Comparison, Label, ModelVersion

log = logging.getLogger(__name__)

# How many labelled reports a comparison scores at most (the newest).
MAX_LABELLED_REPORTS = 5000
# The fields whose agreement shadow mode reports.
AGREEMENT_FIELDS = ("department", "case_type", "sentiment", "severity")


def start_comparison(candidate: ModelVersion, user=None) -> Comparison:
    """Queue a comparison of `candidate` with the active version and the baseline; while one
    of the candidate is queued or running, that one is returned instead of a second."""
    pending = Comparison.objects.filter(
        candidate=candidate, status__in=[Comparison.Status.QUEUED, Comparison.Status.RUNNING]
    ).first()
    if pending is not None:
        return pending
    active = ModelVersion.objects.filter(is_active=True).first()
    if candidate.kind == ModelVersion.Kind.BASELINE:
        baseline = candidate
    else:
        # The baseline trained on the same data when there is one, else the newest.
        baselines = ModelVersion.objects.filter(kind=ModelVersion.Kind.BASELINE)
        baseline = (
            candidate.training_run_id
            and baselines.filter(training_run_id=candidate.training_run_id).first()
        ) or baselines.first()
    comparison = Comparison.objects.create(
        candidate=candidate, active=active, baseline=baseline, requested_by=user
    )
    transaction.on_commit(lambda: _enqueue(comparison.pk))
    return comparison


def _enqueue(comparison_id: int) -> None:
    from routing.learning import tasks

    tasks.enqueue_or_fail(tasks.compare_versions, Comparison, comparison_id)


def run_comparison(comparison_id: int) -> str:
    """Do a queued comparison (claimed by a conditional update, so safe to run twice)."""
    claimed = Comparison.objects.filter(pk=comparison_id, status=Comparison.Status.QUEUED).update(
        status=Comparison.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return "not-queued"
    comparison = Comparison.objects.select_related("candidate", "active", "baseline").get(
        pk=comparison_id
    )
    try:
        results, since = compare(comparison.versions())
    except Exception as exc:
        log.exception("comparison %s failed", comparison_id)
        Comparison.objects.filter(pk=comparison_id).update(
            status=Comparison.Status.FAILED,
            finished_at=timezone.now(),
            error=str(exc) or type(exc).__name__,
        )
        return "failed"
    comparison.results = results
    comparison.labels_since = since
    comparison.status = Comparison.Status.SUCCEEDED
    activate, comparison.decision = auto_activation_decision(comparison)
    if activate:
        # Activated first, the decision saved after: the page never shows an activation that
        # did not happen. An admin's switch in the meantime wins.
        from routing.learning import services

        try:
            services.activate_model_version(
                comparison.candidate,
                action=ActivationLog.Action.AUTOMATIC,
                reason=comparison.decision,
                replacing=comparison.active,
            )
        except services.ActivationConflict:
            comparison.decision = _(
                "Inte aktiverad: den aktiva versionen byttes medan jämförelsen pågick."
            )
        except loaded.ModelNotReady as exc:
            comparison.decision = _("Inte aktiverad: %(error)s") % {"error": exc}
    comparison.finished_at = timezone.now()
    comparison.save(update_fields=["results", "labels_since", "status", "finished_at", "decision"])
    return "succeeded"


def compare(versions: list[ModelVersion]) -> tuple[dict, object]:
    """Score each version on the test split and on the held-out labels; the shadow agreement
    and the learning curve. Returns the results (JSON) and the label cut-off used."""
    corpus = data.load_records(settings.TRAINING_DATA)
    test_ids = dataset.corpus_test_ids(corpus)
    _train, test_records = data.split(corpus, test_ids=test_ids)
    since = max(v.labels_seen_until for v in versions)
    reports, gold = held_out_labels(since)
    results: dict = {"versions": {}, "labels": {"n": len(reports), "since": since.isoformat()}}
    for version in versions:
        predictor = loaded.load(version)
        test_predictions = predictor.predict(test_records)
        entry = {
            "test": {
                **evaluate.score(test_records, test_predictions),
                "departments": evaluate.per_class(test_records, test_predictions),
            },
            "labels": None,
        }
        if reports:
            predictions = stored_predictions(version, reports)
            entry["labels"] = {
                **evaluate.score_available(gold, predictions),
                "departments": evaluate.per_class(gold, predictions),
            }
        results["versions"][version.version] = entry
    candidate, *others = versions
    active = next((v for v in others if v.is_active), None)
    # The agreement and the curve are extras: if one fails, the scores above still stand.
    results["agreement"] = _optional(
        results, "agreement", lambda: shadow_agreement(candidate, active) if active else None
    )
    results["learning_curve"] = _optional(
        results,
        "learning_curve",
        lambda: learning_curve(versions, since, results["versions"], test_ids),
    )
    return results, since


def _optional(results: dict, name: str, compute):
    try:
        return compute()
    except Exception as exc:
        log.exception("comparison: %s failed", name)
        results.setdefault("errors", {})[name] = str(exc) or type(exc).__name__
        return None


def held_out_labels(since, *, text: bool = True) -> tuple[list[Report], list[dict]]:
    """The reports whose department a person first labelled after `since` (newest first, at
    most MAX_LABELLED_REPORTS), and their gold records: each field's latest label, None for
    the fields nobody labelled. Each report carries `first_labelled_at`; `text=False`
    leaves the texts unread (scoring stored predictions does not need them)."""
    firsts = dict(
        Label.objects.filter(field="department")
        .values("report_id")
        .annotate(first=Min("created_at"))
        .filter(first__gt=since)
        .order_by("-first")
        .values_list("report_id", "first")[:MAX_LABELLED_REPORTS]
    )
    reports = Report.objects.filter(pk__in=list(firsts)).order_by("pk")
    reports = list(reports if text else reports.only("pk"))
    latest: dict[int, dict] = {report.pk: {} for report in reports}
    labels = Label.objects.filter(report_id__in=latest).order_by("created_at", "pk")
    for label in labels.values("report_id", "field", "value"):
        latest[label["report_id"]][label["field"]] = label["value"]
    for report in reports:
        report.first_labelled_at = firsts[report.pk]
    gold = [
        {field: latest[report.pk].get(field) for field in Report.LABEL_FIELDS} for report in reports
    ]
    return reports, gold


def stored_predictions(version: ModelVersion, reports: list[Report]) -> list[dict]:
    """The version's predictions of the reports: stored ones reused, missing ones predicted
    and stored (as a record of what this version said, never routing anything)."""
    stored = dict(
        Prediction.objects.filter(
            model_version=version.version, report__in=[r.pk for r in reports]
        ).values_list("report_id", "data")
    )
    missing = [r for r in reports if r.pk not in stored]
    if missing:
        outputs = loaded.load(version).predict(
            [{"text": r.text, "subject": r.subject or None} for r in missing]
        )
        for report, output in zip(missing, outputs, strict=True):
            store_prediction(report.pk, version, output, Prediction.Source.COMPARISON)
            stored[report.pk] = output
    return [stored[r.pk] for r in reports]


def store_prediction(
    report_id: int, version: ModelVersion, output: dict, source: str
) -> Prediction:
    """Record what one version predicted for one report (once per report and version)."""
    prediction, _created = Prediction.objects.get_or_create(
        report_id=report_id,
        model_version=version.version,
        defaults={
            "source": source,
            "model_kind": version.kind,
            "data": output,
            "department": output["department"]["label"],
            "department_confidence": output["department"]["confidence"],
            "severity_score": output["severity"]["score"],
        },
    )
    return prediction


def shadow_agreement(candidate: ModelVersion, active: ModelVersion) -> dict:
    """How often the candidate, in shadow mode, agreed with the active version's routing, per
    field (the newest MAX_LABELLED_REPORTS reports the candidate predicted in shadow mode)."""
    mine = dict(
        Prediction.objects.filter(model_version=candidate.version, source=Prediction.Source.SHADOW)
        .order_by("-created_at")
        .values_list("report_id", "data")[:MAX_LABELLED_REPORTS]
    )
    theirs = dict(
        Prediction.objects.filter(
            model_version=active.version,
            source=Prediction.Source.ROUTING,
            report_id__in=list(mine),
        ).values_list("report_id", "data")
    )
    shared = [report_id for report_id in mine if report_id in theirs]
    result: dict = {"n": len(shared)}
    for field in AGREEMENT_FIELDS:
        same = sum(mine[r][field]["label"] == theirs[r][field]["label"] for r in shared)
        result[field] = same / len(shared) if shared else None
    return result


def learning_curve(
    versions: list[ModelVersion], since, scores: dict, test_ids: set[str]
) -> dict | None:
    """The baseline trained on growing shares of the training data (labels up to `since`),
    scored on the corpus's test split like the tables; the compared versions as points
    (their scores in this comparison); a transformer's validation score per epoch."""
    from routing.learning import services

    sizes = [int(n) for n in settings.LEARNING_CURVE_SIZES]
    if not sizes:
        return None  # turned off (LEARNING_CURVE_SIZES empty)
    # The newest version's own data file is that data: read it rather than write it again.
    newest = next((v for v in versions if v.data_until == since), None)
    path = services.training_data_file(newest) if newest else None
    with tempfile.TemporaryDirectory() as tmp:
        if path is None:
            path = Path(tmp) / "training.jsonl"
            n_train = dataset.write_training_data(path, until=since)["total"] - len(test_ids)
        else:
            n_train = newest.training_records
        sizes = [n for n in sizes if n < n_train] + [None]
        rows = ml_learning_curve.run(path, sizes, ["baseline"], test_ids=test_ids)
    return {
        "baseline": [
            {
                "n_train": row["n_train"],
                **{f"{f}.{m}": row["metrics"][f][m] for f, m in evaluate.PRIMARY_METRICS},
            }
            for row in rows
        ],
        "versions": [
            {
                "version": v.version,
                "kind": v.kind,
                "n_train": v.training_records,
                **{
                    f"{f}.{m}": scores[v.version]["test"][f][m] for f, m in evaluate.PRIMARY_METRICS
                },
                "history": v.meta.get("history") or [],
            }
            for v in versions
        ],
    }


def recent_label_metrics(versions: list[ModelVersion], days: int) -> dict[int, dict | None]:
    """Each version's scores on the reports case workers labelled in the last `days` days and
    after its training data was cut, from its stored predictions only (nothing is predicted
    here: the page must stay fast). None for a version that predicted none of them."""
    if not versions:
        return {}
    window = timezone.now() - timezone.timedelta(days=days)
    cuts = {v.pk: max(v.labels_seen_until, window) for v in versions}
    reports, gold = held_out_labels(min(cuts.values()), text=False)
    stored = defaultdict(dict)
    rows = Prediction.objects.filter(
        model_version__in=[v.version for v in versions], report__in=[r.pk for r in reports]
    ).values_list("model_version", "report_id", "data")
    for version, report_id, output in rows:
        stored[version][report_id] = output
    result: dict[int, dict | None] = {}
    for version in versions:
        mine = stored.get(version.version, {})
        chosen = [
            i
            for i, report in enumerate(reports)
            if report.pk in mine and report.first_labelled_at > cuts[version.pk]
        ]
        result[version.pk] = (
            evaluate.score_available(
                [gold[i] for i in chosen], [mine[reports[i].pk] for i in chosen]
            )
            if chosen
            else None
        )
    return result


def auto_activation_decision(comparison: Comparison) -> tuple[bool, str]:
    """Whether the comparison's candidate is activated without an admin, and why (Swedish:
    it is shown on the comparison page and written to the audit log)."""
    margin = settings.AUTO_ACTIVATE_MARGIN
    candidate, active = comparison.candidate, comparison.active
    if margin is None:
        return False, _("Automatisk aktivering är avstängd.")
    if active is None or active.pk == candidate.pk:
        return False, _("Ingen annan aktiv version att jämföra med.")
    if candidate.activated_at is not None:
        return False, _("Versionen har varit aktiv tidigare; den aktiveras bara för hand.")
    if not ModelVersion.objects.filter(pk=active.pk, is_active=True).exists():
        return False, _("Den aktiva versionen har bytts sedan jämförelsen begärdes.")
    scores = comparison.results["versions"]
    lost = [
        name
        for name, lead in evaluate.primary_margins(
            scores[candidate.version]["test"], scores[active.version]["test"]
        ).items()
        if lead is None or lead < margin
    ]
    if lost:
        return False, _(
            "Inte aktiverad: slår inte den aktiva versionen med minst %(margin).3f på "
            "testdelen i %(metrics)s."
        ) % {"margin": margin, "metrics": ", ".join(lost)}
    # On the held-out labels only the department counts: a confirmation labels every field
    # with what the active version showed, which favours it on the other fields.
    mine, theirs = scores[candidate.version]["labels"], scores[active.version]["labels"]
    n = comparison.results["labels"]["n"]
    if mine and theirs and n >= settings.AUTO_ACTIVATE_MIN_LABELS:
        worse = [
            f"department.{metric}"
            for metric in ("macro_f1", "accuracy")
            if mine["department"][metric] < theirs["department"][metric]
        ]
        if worse:
            return False, _(
                "Inte aktiverad: sämre än den aktiva versionen på %(n)d nya etiketter i "
                "%(metrics)s."
            ) % {"n": n, "metrics": ", ".join(worse)}
    return True, _(
        "Aktiverad automatiskt: slår den aktiva versionen med minst %(margin).3f på testdelen "
        "i alla primära mått."
    ) % {"margin": margin}
