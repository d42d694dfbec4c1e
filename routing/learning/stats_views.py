"""The label statistics page for administrators, its charts and the labelled-data download."""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib import messages
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from ml.data import DataError
from routing.learning import dataset, stats
from routing.learning.charts import png_response
from routing.learning.views import admin_view

# Column headings of the label fields, in Report.LABEL_FIELDS order (as on "Modeller").
FIELD_NAMES = {
    "department": gettext_lazy("Förvaltning"),
    "case_type": gettext_lazy("Ärendetyp"),
    "sentiment": gettext_lazy("Sentiment"),
    "severity": gettext_lazy("Allvarlighet"),
    "tags": gettext_lazy("Taggar"),
    "keywords": gettext_lazy("Nyckelord"),
}
# Lines differ in marker and dash as well as colour, so the chart reads without colour vision.
LINE_STYLES = [("o", "-"), ("s", "--"), ("^", "-."), ("D", ":"), ("v", "-"), ("X", "--")]
# At most this many week ticks on an axis; a long period shows every second or fourth week.
MAX_TICKS = 16
EXPORT_CONTENT_TYPE = "application/x-ndjson; charset=utf-8"


def weeks_from(request, notices: list) -> int:
    """The period asked for in ?veckor= (whole weeks); a bad value gives the default and a
    notice saying so."""
    raw = request.GET.get("veckor", "").strip()
    if not raw:
        return stats.DEFAULT_WEEKS
    # isdigit alone accepts other scripts' digits and int() accepts "1_0": ASCII digits only.
    if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= stats.MAX_WEEKS:
        return int(raw)
    notices.append(
        _(
            "Ogiltig period ”%(value)s”: ange ett helt antal veckor från 1 till %(max)s. "
            "Visar de senaste %(default)s veckorna."
        )
        % {"value": raw[:20], "max": stats.MAX_WEEKS, "default": stats.DEFAULT_WEEKS}
    )
    return stats.DEFAULT_WEEKS


def week_tick(day) -> str:
    return _("v. %(week)s") % {"week": day.isocalendar().week}


def plotted(value: float | None) -> float:
    return math.nan if value is None else 100 * value


@admin_view
@require_safe
def stats_page(request):
    """ "Etikettstatistik": labels per department and field, agreement per week, the
    departments confused most and the share of reports sent to review."""
    notices: list[str] = []
    weeks = weeks_from(request, notices)
    period = stats.Period.ending_now(weeks)
    query = urlencode({"veckor": weeks})
    charts = {name: f"{reverse('learning:stats_chart', args=[name])}?{query}" for name in CHARTS}
    context = {
        "notices": notices,
        "period": period,
        "weeks": weeks,
        "max_weeks": stats.MAX_WEEKS,
        "first_week": period.week_starts[0],
        "fields": [FIELD_NAMES[name] for name in stats.FIELDS],
        "table": stats.labels_by_department(period),
        "agreement": stats.agreement_by_week(period),
        "confusions": stats.confused_departments(period),
        "review": stats.review_by_week(period),
        "threshold_percent": round(settings.REVIEW_CONFIDENCE_THRESHOLD * 100),
        "charts": charts,
    }
    return render(request, "learning/stats.html", context)


# Charts ------------------------------------------------------------------------------------


def new_figure() -> Figure:
    # A Figure of its own, not pyplot's global state: safe in a threaded server.
    return Figure(figsize=(9, 4.2), layout="constrained")


def week_axis(axes, week_starts) -> None:
    step = max(1, math.ceil(len(week_starts) / MAX_TICKS))
    positions = list(range(0, len(week_starts), step))
    axes.set_xticks(positions, [week_tick(week_starts[i]) for i in positions])
    axes.set_xlim(-0.5, len(week_starts) - 0.5)
    axes.set_xlabel(_("Vecka"))


def share_axis(axes) -> None:
    axes.set_ylim(0, 105)
    # Swedish writes a space before the percent sign (a no-break space here).
    axes.yaxis.set_major_formatter(PercentFormatter(decimals=0, symbol="\N{NO-BREAK SPACE}%"))
    axes.grid(axis="y", alpha=0.3)


def agreement_figure(period: stats.Period) -> Figure:
    """One line per field: the share of labels that kept the model's value, per week."""
    weeks = stats.agreement_by_week(period)
    figure = new_figure()
    axes = figure.subplots()
    positions = range(len(weeks))
    for name, (marker, dash) in zip(stats.FIELDS, LINE_STYLES, strict=True):
        shares = [plotted(week.fields[name].share) for week in weeks]
        axes.plot(positions, shares, marker=marker, linestyle=dash, label=str(FIELD_NAMES[name]))
    week_axis(axes, period.week_starts)
    share_axis(axes)
    axes.set_ylabel(_("Behöll modellens värde"))
    axes.set_title(_("Överensstämmelse mellan modellen och handläggarna"))
    if not any(cell.total for week in weeks for cell in week.cells):
        axes.text(
            0.5, 0.5, _("Inga etiketter under perioden"), ha="center", transform=axes.transAxes
        )
    else:
        # Below the plot, where it hides no line.
        figure.legend(loc="outside lower center", ncols=len(stats.FIELDS), fontsize="small")
    return figure


def review_figure(period: stats.Period) -> Figure:
    """Bars: the share of each week's reports routed below the confidence threshold."""
    weeks = stats.review_by_week(period)
    figure = new_figure()
    axes = figure.subplots()
    shares = [plotted(week.share) for week in weeks]
    axes.bar(range(len(weeks)), [0 if math.isnan(s) else s for s in shares], color="#0b4f8a")
    week_axis(axes, period.week_starts)
    share_axis(axes)
    axes.set_ylabel(_("Andel av veckans ärenden"))
    axes.set_title(
        _("Ärenden som behövde granskning (säkerhet under %(threshold)s %%)")
        % {"threshold": round(settings.REVIEW_CONFIDENCE_THRESHOLD * 100)}
    )
    if not any(week.received for week in weeks):
        axes.text(0.5, 0.5, _("Inga ärenden under perioden"), ha="center", transform=axes.transAxes)
    return figure


# URL names of the charts (Swedish, as the rest of the URLs), and what draws them.
CHARTS = {"overensstammelse": agreement_figure, "granskning": review_figure}


@admin_view
@require_safe
def stats_chart(request, chart: str):
    """A chart of the page as PNG, for the same ?veckor= period."""
    draw = CHARTS.get(chart)
    if draw is None:
        raise Http404
    period = stats.Period.ending_now(weeks_from(request, []))
    return png_response(draw(period))


# Export ------------------------------------------------------------------------------------


@admin_view
@require_safe
def export_labels(request):
    """The labelled reports as a JSON Lines download in the corpus format, what
    `manage.py export_labels` writes; ?korpus=1 adds the corpus (`--with-corpus`)."""
    with_corpus = request.GET.get("korpus") == "1"
    try:
        records = dataset.export_records(with_corpus=with_corpus)
    except DataError as error:
        messages.error(request, _("Korpusen kunde inte läsas: %(error)s") % {"error": error})
        return redirect("learning:stats")
    stem = "etiketter-med-korpus" if with_corpus else "etiketter"
    filename = f"{stem}-{timezone.localdate():%Y%m%d}.jsonl"
    response = StreamingHttpResponse(
        (line.encode() for line in dataset.jsonl_lines(records)),
        content_type=EXPORT_CONTENT_TYPE,
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Residents' own words: never kept by a shared cache.
    response["Cache-Control"] = "private, no-store"
    return response
