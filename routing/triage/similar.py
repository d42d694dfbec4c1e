"""Similar reports: the nearest neighbours of a report by text, to spot duplicates.

Character n-grams (3-5, within words) with TF-IDF and cosine similarity, computed on each
request over a bounded set of candidates, so the cost does not grow with the number of
reports and nothing is cached that could go stale.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.db.models.functions import Substr
from django.utils import timezone
from sklearn.feature_extraction.text import TfidfVectorizer

from routing.intake.models import Report
from routing.triage.permissions import visible_reports

# The latest reports of the same department (or, for an unrouted report, of all visible
# departments) are compared, plus the latest unrouted ones: duplicates arrive close together
# in time, and a bounded set keeps a detail page at a few hundred milliseconds.
CANDIDATES = 2000
UNROUTED_CANDIDATES = 500
# Reports received after the one shown are candidates only while this recent.
RECENT = timedelta(days=90)
# Only this much of each text is compared; duplicates show in their first lines.
COMPARED_CHARS = 1000
# Below this cosine similarity, reports of the same department merely share vocabulary.
MIN_SIMILARITY = 0.3
FIELDS = ("id", "case_number", "subject", "received_at", "status", "department__name")


def similar_reports(
    report: Report, user, limit: int = 5, min_similarity: float = MIN_SIMILARITY
) -> list[tuple[Report, float]]:
    """Up to `limit` (report, similarity) pairs among the reports the user may see, most
    similar first: received before `report` or within the last 90 days, never `report`."""
    candidates = _candidates(report, user)
    if not candidates:
        return []
    texts = [_compared_text(report.subject, report.text[:COMPARED_CHARS])]
    texts += [_compared_text(c.subject, c.snippet) for c in candidates]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # no n-gram at all (texts of punctuation only)
        return []
    # Rows are L2-normalised, so the dot product is the cosine similarity.
    similarities = (matrix[1:] @ matrix[0].T).toarray().ravel()
    ranked = sorted(
        (
            (candidate, float(similarity))
            for candidate, similarity in zip(candidates, similarities, strict=True)
            if similarity >= min_similarity
        ),
        key=lambda pair: (-pair[1], -pair[0].received_at.timestamp()),
    )
    return ranked[:limit]


def _compared_text(subject: str, text: str) -> str:
    return f"{subject}\n{text}" if subject else text


def _candidates(report: Report, user) -> list[Report]:
    reports = (
        visible_reports(user)
        .exclude(pk=report.pk)
        .filter(Q(received_at__lt=report.received_at) | Q(received_at__gte=timezone.now() - RECENT))
        .select_related("department")
        .only(*FIELDS)
        .annotate(snippet=Substr("text", 1, COMPARED_CHARS))
        .order_by("-received_at", "-pk")
    )
    if report.department_id is None:
        return list(reports[:CANDIDATES])
    same_department = list(reports.filter(department_id=report.department_id)[:CANDIDATES])
    unrouted = list(reports.filter(department__isnull=True)[:UNROUTED_CANDIDATES])
    return same_department + unrouted
