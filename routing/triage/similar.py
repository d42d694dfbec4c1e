"""Similar reports: the nearest neighbours of a report by text, to spot duplicates.

Character n-grams (3-5, within words) with TF-IDF and cosine similarity, computed on each
request over a bounded set of candidates, so the cost does not grow with the number of
reports and nothing is cached that could go stale.

The n-gram counts are exactly those of scikit-learn's ``char_wb`` analyzer, but built per
distinct word and combined with one sparse product: words repeat across reports, so this
is several times faster than analysing every report's characters in Python.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import scipy.sparse as sp
from django.db.models import Q
from django.db.models.functions import Substr
from django.utils import timezone
from sklearn.feature_extraction.text import TfidfTransformer

from routing.intake.models import Report
from routing.triage.permissions import sees_everything, visible_reports

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
NGRAM_RANGE = (3, 5)


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
    counts = char_wb_counts(texts)
    if counts[0].nnz == 0:  # nothing to compare: a report of whitespace only
        return []
    matrix = TfidfTransformer(sublinear_tf=True).fit_transform(counts)
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


def char_wb_counts(texts: list[str], ngram_range: tuple[int, int] = NGRAM_RANGE) -> sp.csr_matrix:
    """Documents x character n-grams counts, as scikit-learn's char_wb analyzer counts them.

    Each lower-cased, whitespace-separated word is padded with one space on each side and
    yields its n-grams; a word no longer than n yields itself once and no longer n-grams.
    """
    low, high = ngram_range
    word_ids: dict[str, int] = {}
    columns, row_starts = [], [0]
    for text in texts:
        columns.extend(word_ids.setdefault(word, len(word_ids)) for word in text.lower().split())
        row_starts.append(len(columns))
    documents = sp.csr_matrix(
        (np.ones(len(columns)), columns, row_starts), shape=(len(texts), len(word_ids))
    )
    gram_ids: dict[str, int] = {}
    grams, word_starts = [], [0]
    for word in word_ids:
        padded = f" {word} "
        for n in range(low, high + 1):
            for start in range(max(1, len(padded) - n + 1)):
                grams.append(gram_ids.setdefault(padded[start : start + n], len(gram_ids)))
            if len(padded) <= n:
                break
        word_starts.append(len(grams))
    words = sp.csr_matrix(
        (np.ones(len(grams)), grams, word_starts), shape=(len(word_ids), len(gram_ids))
    )
    return (documents @ words).tocsr()


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
    if not sees_everything(user):
        return same_department  # a case worker sees no unrouted report: no query for them
    unrouted = list(reports.filter(department__isnull=True)[:UNROUTED_CANDIDATES])
    return same_department + unrouted
