"""The comparison page: a candidate beside the active version and the baseline, its charts,
and the candidate's shadow mode. Administrators only."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe
from matplotlib.figure import Figure

from ml import evaluate, taxonomy
from ml.report import confusion_figure
from routing.learning import comparison as comparisons
from routing.learning import services
from routing.learning.charts import png_response
from routing.learning.models import Comparison, ModelVersion
from routing.learning.predictor import ModelNotReady
from routing.learning.views import admin_view

# The rows of the metric tables: (field, metric, name); primary metrics are marked.
METRIC_ROWS = [
    ("department", "macro_f1", gettext_lazy("Förvaltning, makro-F1")),
    ("department", "accuracy", gettext_lazy("Förvaltning, träffsäkerhet")),
    ("case_type", "macro_f1", gettext_lazy("Ärendetyp, makro-F1")),
    ("sentiment", "macro_f1", gettext_lazy("Sentiment, makro-F1")),
    ("severity", "spearman", gettext_lazy("Allvarlighet, Spearman")),
    ("severity", "recall_at_4", gettext_lazy("Allvarlighet, recall@4")),
    ("severity", "mae", gettext_lazy("Allvarlighet, medelfel (lägre är bättre)")),
    ("tags", "micro_f1", gettext_lazy("Taggar, mikro-F1")),
    ("keywords", "f1", gettext_lazy("Nyckelord, F1")),
]
LOWER_IS_BETTER = {("severity", "mae")}
DATASETS = {"test": gettext_lazy("den fasta testdelen"), "labels": gettext_lazy("nya etiketter")}
CURVE_PANELS = [
    ("department.macro_f1", gettext_lazy("Förvaltning, makro-F1")),
    ("case_type.macro_f1", gettext_lazy("Ärendetyp, makro-F1")),
    ("sentiment.macro_f1", gettext_lazy("Sentiment, makro-F1")),
    ("severity.spearman", gettext_lazy("Allvarlighet, Spearman")),
]


def roles(item: Comparison, version: ModelVersion) -> list[str]:
    names = []
    if version.pk == item.candidate_id:
        names.append(_("kandidat"))
    if version.pk == item.active_id:
        names.append(_("aktiv"))
    if version.pk == item.baseline_id:
        names.append(_("baslinje"))
    return names


def metric_table(item: Comparison, versions: list[ModelVersion], dataset: str) -> list[dict]:
    """One row per metric: each version's value (None where missing) and the best marked."""
    scores = item.results.get("versions", {})
    rows = []
    for field, metric, name in METRIC_ROWS:
        values = []
        for version in versions:
            block = (scores.get(version.version) or {}).get(dataset) or {}
            values.append((block.get(field) or {}).get(metric))
        present = [v for v in values if v is not None]
        best = None
        if len(set(present)) > 1:  # ties everywhere: nothing to point out
            best = min(present) if (field, metric) in LOWER_IS_BETTER else max(present)
        n = None
        if dataset == "labels":
            blocks = [((scores.get(v.version) or {}).get(dataset) or {}) for v in versions]
            n = next(((b.get(field) or {}).get("n") for b in blocks if b.get(field)), None)
        rows.append(
            {
                "name": name,
                "primary": (field, metric) in evaluate.PRIMARY_METRICS,
                "n": n,
                "cells": [{"value": v, "best": v is not None and v == best} for v in values],
            }
        )
    return rows


def department_table(item: Comparison, versions: list[ModelVersion]) -> list[dict]:
    """Per department: each version's F1 on the test split and on the new labels, and support."""
    scores = item.results.get("versions", {})
    rows = []
    for code, name in taxonomy.DEPARTMENTS.items():
        cells = []
        support = {}
        for version in versions:
            for dataset in DATASETS:
                block = ((scores.get(version.version) or {}).get(dataset) or {}).get(
                    "departments"
                ) or {}
                figures = (block.get("classes") or {}).get(code)
                cells.append(None if figures is None else figures["f1"])
                if figures is not None:
                    support[dataset] = figures["support"]
        rows.append({"code": code, "name": name, "cells": cells, "support": support})
    return rows


def _comparison(pk: int) -> tuple[Comparison, list[ModelVersion]]:
    item = get_object_or_404(
        Comparison.objects.select_related("candidate", "active", "baseline", "requested_by"), pk=pk
    )
    return item, item.versions()


@admin_view
@require_safe
def comparison_page(request, pk: int):
    item, versions = _comparison(pk)
    if request.headers.get("HX-Request"):
        # The status fragment polled while the comparison runs; reload the page once done.
        response = render(request, "learning/_comparison_status.html", {"item": item})
        if not item.is_active:
            response["HX-Refresh"] = "true"
        return response
    columns = [{"version": v, "roles": roles(item, v)} for v in versions]
    context = {
        "nav": "models",
        "item": item,
        "columns": columns,
        "candidate": item.candidate,
        "test_rows": metric_table(item, versions, "test"),
        "label_rows": metric_table(item, versions, "labels"),
        "department_rows": department_table(item, versions),
        "labels": item.results.get("labels") or {},
        "agreement": item.results.get("agreement"),
        "curve": item.results.get("learning_curve") or {},
        "datasets": DATASETS,
        "earlier": item.candidate.comparisons.exclude(pk=item.pk).only(
            "pk", "status", "created_at", "candidate_id"
        )[:10],
    }
    return render(request, "learning/comparison.html", context)


@admin_view
@require_POST
def start_comparison(request, pk: int):
    version = get_object_or_404(ModelVersion, pk=pk)
    item = comparisons.start_comparison(version, user=request.user)
    messages.success(request, _("Jämförelsen är köad."))
    return redirect("learning:comparison", item.pk)


@admin_view
@require_POST
def toggle_shadow(request, pk: int):
    version = get_object_or_404(ModelVersion, pk=pk)
    turn_on = request.POST.get("on") == "1"
    if turn_on and version.is_active:
        messages.info(request, _("Den aktiva versionen fördelar redan ärendena."))
    else:
        try:
            services.set_shadow(version, turn_on)
        except ModelNotReady as error:
            messages.error(request, _("Kan inte köras i skuggläge: %(error)s") % {"error": error})
        else:
            messages.success(
                request,
                _("Skuggläge på för %(version)s: den förutsäger nya ärenden utan att fördela dem.")
                % {"version": version.version}
                if version.shadow
                else _("Skuggläge av för %(version)s.") % {"version": version.version},
            )
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return redirect("learning:models")


@admin_view
@require_safe
def confusion_chart(request, pk: int, version_pk: int, dataset: str):
    """The department confusion matrix of one compared version on one dataset (PNG)."""
    item, versions = _comparison(pk)
    version = next((v for v in versions if v.pk == version_pk), None)
    if version is None or dataset not in DATASETS:
        raise Http404
    block = ((item.results.get("versions", {}).get(version.version) or {}).get(dataset)) or {}
    departments = block.get("departments") or {}
    if not departments.get("confusion"):
        raise Http404
    names = [taxonomy.DEPARTMENTS.get(code, code) for code in departments["labels"]]
    title = _("Förvaltning: %(version)s på %(dataset)s") % {
        "version": version.version,
        "dataset": DATASETS[dataset],
    }
    return png_response(confusion_figure(departments["confusion"], names, title))


@admin_view
@require_safe
def learning_curve_chart(request, pk: int):
    """The baseline at growing training sizes, the compared versions as points, and a
    transformer's validation score per epoch (PNG)."""
    item, _versions = _comparison(pk)
    curve = item.results.get("learning_curve")
    if not curve:
        raise Http404
    # A Figure of its own, not pyplot's global state: requests are served by many threads.
    figure = Figure(figsize=(13, 7))
    panels = list(figure.subplots(2, 3).flat)
    for axis, (key, title) in zip(panels, CURVE_PANELS, strict=False):
        points = [
            (row["n_train"], row[key]) for row in curve["baseline"] if row.get(key) is not None
        ]
        if points:
            axis.plot(*zip(*points, strict=True), marker="o", label=_("baslinjen, växande data"))
        for version in curve["versions"]:
            if version.get(key) is not None:
                axis.scatter(
                    [version["n_train"]],
                    [version[key]],
                    marker="*",
                    s=120,
                    label=version["version"],
                )
        axis.set_xscale("log")
        axis.set_title(str(title))
        axis.set_xlabel(_("träningsexempel (logaritmisk skala)"))
        axis.grid(alpha=0.3)
    panels[0].legend(fontsize=7)
    history_axis = panels[4]
    history_axis.set_title(_("Transformer: validering per epok"))
    drawn = False
    for version in curve["versions"]:
        history = version.get("history") or []
        if history:
            history_axis.plot(
                [h["epoch"] for h in history],
                [h["validation_score"] for h in history],
                marker=".",
                label=version["version"],
            )
            drawn = True
    if drawn:
        history_axis.set_xlabel(_("epok"))
        history_axis.legend(fontsize=7)
        history_axis.grid(alpha=0.3)
    else:
        history_axis.text(0.5, 0.5, _("Ingen transformer jämförs."), ha="center", va="center")
        history_axis.set_axis_off()
    panels[5].set_axis_off()
    figure.tight_layout()
    return png_response(figure)
