"""The "Modeller" page for administrators: versions, training runs, activation and rollback."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from routing.learning import comparison, services
from routing.learning.forms import TrainForm
from routing.learning.models import ActivationLog, Comparison, ModelVersion, TrainingRun
from routing.learning.predictor import ModelNotReady
from routing.triage.permissions import admin_required

# How many activations and runs the page lists; older ones stay in the Django admin.
AUDIT_ROWS = 50
RUN_ROWS = 10
VERSION_ROWS = 30


# Login required; a logged-in user who is not an administrator gets 403.
admin_view = admin_required


def current_run() -> TrainingRun | None:
    """The queued or running run, else the latest one."""
    runs = TrainingRun.objects.select_related("requested_by").prefetch_related("versions")
    return runs.filter(status__in=TrainingRun.ACTIVE_STATUSES).first() or runs.first()


@admin_view
@require_safe
def models_page(request):
    runs = TrainingRun.objects.order_by("-created_at", "-pk").prefetch_related("versions")
    # Only a link to the latest comparison is shown: its results (matrices, curves) stay unread.
    comparisons = Comparison.objects.order_by("-created_at", "-pk").only(
        "pk", "status", "created_at", "candidate_id"
    )
    versions = list(
        ModelVersion.objects.select_related("created_by", "activated_by", "training_run")
        .prefetch_related(Prefetch("comparisons", queryset=comparisons, to_attr="latest"))
        # The active version first, whatever its age; then the newest.
        .order_by("-is_active", "-created_at")[:VERSION_ROWS]
    )
    # Scored from stored predictions only: the active version's and those in shadow mode.
    recent = comparison.recent_label_metrics(versions, settings.RECENT_LABEL_DAYS)
    for version in versions:
        version.recent = recent[version.pk]
    activations = ActivationLog.objects.select_related("model_version", "previous", "user")
    run = current_run()
    context = {
        "nav": "models",
        "versions": versions,
        "recent_days": settings.RECENT_LABEL_DAYS,
        "run": run,
        "runs": runs.select_related("requested_by")[:RUN_ROWS],
        "activations": activations[:AUDIT_ROWS],
        "train_kinds": TrainingRun.Kind,
    }
    return render(request, "learning/models.html", context)


@admin_view
@require_safe
def run_progress(request):
    """The progress fragment the page polls (htmx) while a run is queued or running."""
    run = current_run()
    response = render(request, "learning/_run.html", {"run": run})
    if request.headers.get("HX-Request") and (run is None or not run.is_active):
        # The run has ended: reload the whole page, which lists the new version.
        response["HX-Refresh"] = "true"
    return response


@admin_view
@require_POST
def start_training(request):
    form = TrainForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Välj baslinjen, transformern eller båda."))
        return redirect("learning:models")
    try:
        run = services.start_training_run(form.cleaned_data["kind"], request.user)
    except services.TrainingRunRefused as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("Träningen av %(kind)s är köad.") % {"kind": run.get_kind_display()}
        )
    return redirect("learning:models")


@admin_view
@require_POST
def activate(request, pk: int):
    version = get_object_or_404(ModelVersion, pk=pk)
    if version.is_active:
        messages.info(request, _("Den versionen är redan aktiv."))
        return redirect("learning:models")
    try:
        services.activate_model_version(version, user=request.user)
    except ModelNotReady as error:
        messages.error(request, _("Kan inte aktiveras: %(error)s") % {"error": error})
    else:
        messages.success(request, _("%(version)s är nu aktiv.") % {"version": version.version})
    return redirect("learning:models")


@admin_view
@require_POST
def rollback(request, pk: int):
    version = get_object_or_404(ModelVersion, pk=pk)
    try:
        services.rollback_to(version, request.user)
    except (services.RollbackRefused, ModelNotReady) as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("Återställt: %(version)s är aktiv igen.") % {"version": version.version}
        )
    return redirect("learning:models")
