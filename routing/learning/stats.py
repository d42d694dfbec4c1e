"""Label statistics for administrators: what case workers confirmed and corrected, how often
they kept the model's value, which departments the model mixes up, and how many reports the
model sent to review.

Every figure is one GROUP BY in the database over the chosen period (whole ISO weeks, local
time), so the page costs a fixed handful of queries however many reports there are; Python
only pivots the few grouped rows. How labels are counted:

- Every label is one verdict. A report confirmed twice, or corrected and then confirmed,
  counts each time in the table and in the agreement: each is a person's decision that
  week, and the agreement is the share of those decisions that kept the model's value
  (`value == predicted_value`, whether the label is a confirmation or a correction). Labels
  without a prediction (a report routed by hand) have no model value and are left out of
  the agreement.
- For "confused most" a report counts once, by its latest department label: a later
  re-label supersedes an earlier one, so a mistaken correction that was put right does not
  stay in the ranking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.translation import gettext

from ml import taxonomy
from routing.intake.models import Department, Report
from routing.learning.models import Label
from routing.triage.queue import needs_review

DEFAULT_WEEKS = 12
MAX_WEEKS = 104
TOP_CONFUSIONS = 10
FIELDS = Report.LABEL_FIELDS


@dataclass(frozen=True)
class Period:
    """The last `weeks` ISO weeks up to and including the current one, in local time."""

    weeks: int
    start: datetime  # Monday 00:00 of the first week, aware
    week_starts: tuple[date, ...]

    @classmethod
    def ending_now(cls, weeks: int = DEFAULT_WEEKS, now: datetime | None = None) -> Period:
        today = timezone.localdate(now or timezone.now())
        monday = today - timedelta(days=today.weekday())
        first = monday - timedelta(weeks=weeks - 1)
        start = timezone.make_aware(datetime.combine(first, time.min))
        return cls(weeks, start, tuple(first + timedelta(weeks=i) for i in range(weeks)))


def week_of(value: datetime) -> date:
    """The local date of a TruncWeek value (Monday), the key the weeks are matched on."""
    return timezone.localtime(value).date()


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percent(value: float | None) -> int | None:
    """A share as a whole percentage for tables (the charts plot the exact share)."""
    return None if value is None else round(100 * value)


def department_names() -> dict[str, str]:
    """Department codes to their Swedish names (the database's, else the taxonomy's)."""
    names = dict(taxonomy.DEPARTMENTS)
    names.update(Department.objects.values_list("code", "name"))
    return names


# Labels per department and field ------------------------------------------------------------


@dataclass
class LabelRow:
    """One department's labels in the period: per field, and confirmations vs corrections."""

    name: str
    by_field: dict[str, int] = field(default_factory=dict)
    confirmed: int = 0
    corrected: int = 0

    @property
    def counts(self) -> list[int]:
        return [self.by_field.get(name, 0) for name in FIELDS]

    @property
    def total(self) -> int:
        return self.confirmed + self.corrected


@dataclass
class LabelTable:
    rows: list[LabelRow]
    totals: LabelRow


def labels_by_department(period: Period) -> LabelTable:
    """Labels given in the period per report's current department and field.

    Every department has a row (a department without labels is worth seeing); reports
    without a department get a row of their own only when they have labels.
    """
    grouped = (
        Label.objects.filter(created_at__gte=period.start)
        .values("report__department_id", "field")
        .annotate(n=Count("pk"), confirmed=Count("pk", filter=Q(confirmed=True)))
        .order_by()
    )
    rows = {pk: LabelRow(name) for pk, name in Department.objects.values_list("pk", "name")}
    totals = LabelRow("")
    for group in grouped:
        department = group["report__department_id"]
        if department not in rows:
            rows[department] = LabelRow(gettext("Ingen förvaltning"))
        for row in (rows[department], totals):
            row.by_field[group["field"]] = row.by_field.get(group["field"], 0) + group["n"]
            row.confirmed += group["confirmed"]
            row.corrected += group["n"] - group["confirmed"]
    ordered = sorted(
        rows.items(), key=lambda item: (item[0] is None, item[1].name.casefold(), item[0] or 0)
    )
    return LabelTable([row for _pk, row in ordered], totals)


# Agreement per week -------------------------------------------------------------------------


@dataclass
class Agreement:
    """One field's verdicts in one week, and how many kept the model's value."""

    kept: int = 0
    total: int = 0

    @property
    def share(self) -> float | None:
        return share(self.kept, self.total)

    @property
    def percent(self) -> int | None:
        return percent(self.share)


@dataclass
class AgreementWeek:
    week: date
    fields: dict[str, Agreement]

    @property
    def cells(self) -> list[Agreement]:
        return [self.fields[name] for name in FIELDS]


def agreement_by_week(period: Period) -> list[AgreementWeek]:
    """Per ISO week and field: the labels that kept the model's predicted value."""
    grouped = (
        Label.objects.filter(created_at__gte=period.start, predicted_value__isnull=False)
        .annotate(week=TruncWeek("created_at"))
        .values("week", "field")
        .annotate(total=Count("pk"), kept=Count("pk", filter=Q(value=F("predicted_value"))))
        .order_by()
    )
    weeks = {
        week: AgreementWeek(week, {name: Agreement() for name in FIELDS})
        for week in period.week_starts
    }
    for group in grouped:
        week = weeks.get(week_of(group["week"]))
        if week is not None and group["field"] in week.fields:
            week.fields[group["field"]] = Agreement(group["kept"], group["total"])
    return list(weeks.values())


# Departments confused most ------------------------------------------------------------------


@dataclass(frozen=True)
class Confusion:
    predicted: str  # department names
    corrected: str
    count: int


def confused_departments(period: Period, limit: int = TOP_CONFUSIONS) -> list[Confusion]:
    """The (model's → case worker's) department pairs that differ most often.

    Each report counts once, by its latest department label, if that label was given in
    the period and disagrees with the prediction.
    """
    department_labels = Label.objects.filter(field="department")
    later = department_labels.filter(report=OuterRef("report")).filter(
        Q(created_at__gt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk"))
    )
    grouped = (
        department_labels.filter(created_at__gte=period.start, predicted_value__isnull=False)
        .exclude(value=F("predicted_value"))
        .exclude(Exists(later))
        .values("predicted_value", "value")
        .annotate(n=Count("pk"))
        .order_by("-n", "predicted_value", "value")[:limit]
    )
    names = department_names()
    return [
        Confusion(
            names.get(group["predicted_value"], str(group["predicted_value"])),
            names.get(group["value"], str(group["value"])),
            group["n"],
        )
        for group in grouped
    ]


# Reports sent to review per week ------------------------------------------------------------


@dataclass
class ReviewWeek:
    """Reports received in one ISO week and how many the model was unsure of.

    `unsure` is fixed once the report is routed (its confidence was below the threshold);
    `waiting` is how many of them need review now, by the review queue's own definition.
    """

    week: date
    received: int = 0
    unsure: int = 0
    waiting: int = 0

    @property
    def share(self) -> float | None:
        return share(self.unsure, self.received)

    @property
    def percent(self) -> int | None:
        return percent(self.share)


def review_by_week(period: Period) -> list[ReviewWeek]:
    """Per ISO week of receipt: reports received, routed below the confidence threshold,
    and still in "Behöver granskning" today."""
    received = Report.objects.filter(received_at__gte=period.start)
    unsure = Q(routing_confidence__lt=settings.REVIEW_CONFIDENCE_THRESHOLD)
    grouped = (
        received.annotate(week=TruncWeek("received_at"))
        .values("week")
        .annotate(received=Count("pk"), unsure=Count("pk", filter=unsure))
        .order_by()
    )
    waiting = (
        needs_review(received)
        .annotate(week=TruncWeek("received_at"))
        .values("week")
        .annotate(n=Count("pk"))
        .order_by()
    )
    weeks = {week: ReviewWeek(week) for week in period.week_starts}
    for group in grouped:
        week = weeks.get(week_of(group["week"]))
        if week is not None:
            week.received, week.unsure = group["received"], group["unsure"]
    for group in waiting:
        week = weeks.get(week_of(group["week"]))
        if week is not None:
            week.waiting = group["n"]
    return list(weeks.values())
