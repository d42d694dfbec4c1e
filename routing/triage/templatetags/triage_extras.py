"""Template tags of the report detail page's insight sections: explanation and similar reports."""

from __future__ import annotations

from django import template
from django.utils.text import Truncator

from ml import taxonomy
from routing.learning.predictor import ModelNotReady, explain_report
from routing.triage.similar import similar_reports

register = template.Library()

# The query parameter that asks for the explanation: computing it costs a model call, so
# the page shows it only on request (a plain link, no JavaScript needed).
EXPLAIN_PARAMETER = "forklaring"
# How much of a similar report's text the list shows.
FIRST_WORDS = 12


@register.simple_tag
def report_explanation(report, request) -> dict:
    """What the explanation section shows: a link to ask for it, or the weighted words."""
    query = request.GET.copy()
    query[EXPLAIN_PARAMETER] = "1"
    context = {
        "requested": request.GET.get(EXPLAIN_PARAMETER) == "1",
        "url": f"?{query.urlencode()}",
    }
    if not context["requested"]:
        return context
    try:
        explanation = explain_report(report)
    except ModelNotReady:
        return {**context, "unavailable": True}
    if explanation is None:
        return {**context, "no_model": True}
    total = sum(weight for _, weight in explanation["words"]) or 1.0
    routed_by = report.prediction.model_version if report.prediction_id else None
    return {
        **context,
        "explanation": explanation,
        "department_name": taxonomy.DEPARTMENTS.get(
            explanation["department"], explanation["department"]
        ),
        "words": [
            {"text": word, "weight": weight, "share": round(100 * weight / total)}
            for word, weight in explanation["words"]
        ],
        "confidence_percent": round(100 * explanation["confidence"]),
        "version": explanation["model"]["version"],
        "routed_by": routed_by,
        "other_version": routed_by is not None and routed_by != explanation["model"]["version"],
    }


@register.simple_tag
def similar_reports_for(report, user, limit: int = 5) -> list[dict]:
    """The reports most like this one that the user may see, for the similar section."""
    return [
        {
            "report": other,
            "percent": round(100 * similarity),
            "first_words": Truncator(" ".join(other.snippet.split())).words(FIRST_WORDS),
        }
        for other, similarity in similar_reports(report, user, limit=limit)
    ]
