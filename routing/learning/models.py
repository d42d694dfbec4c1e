"""Model versions: trained model directories registered with the application."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from routing.intake.models import Report


class JobStatus(models.TextChoices):
    """Where a worker's job (a training run, a comparison) stands."""

    QUEUED = "queued", _("I kö")
    RUNNING = "running", _("Pågår")
    SUCCEEDED = "succeeded", _("Klar")
    FAILED = "failed", _("Misslyckades")


class ModelVersion(models.Model):
    """One model directory written by `ml train`; at most one version is active."""

    class Kind(models.TextChoices):
        BASELINE = "baseline", _("Baslinje (TF-IDF)")
        TRANSFORMER = "transformer", _("Transformer")

    version = models.CharField(_("version"), max_length=64, unique=True)
    kind = models.CharField(_("typ"), max_length=16, choices=Kind.choices)
    base_model = models.CharField(_("basmodell"), max_length=300, blank=True)
    directory = models.CharField(_("katalog"), max_length=500)
    data_hash = models.CharField(_("datahash"), max_length=64, blank=True)
    training_records = models.PositiveIntegerField(_("träningsexempel"), default=0)
    training_seconds = models.FloatField(_("träningstid (s)"), null=True, blank=True)
    metrics = models.JSONField(_("mått på testdelen"), default=dict, blank=True)
    meta = models.JSONField(_("meta.json"), default=dict, blank=True)
    created_at = models.DateTimeField(_("registrerad"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("tränad av"),
    )
    is_active = models.BooleanField(_("aktiv"), default=False)
    # In shadow mode a version predicts every incoming report beside the active one, without
    # routing anything; the comparison page scores it on what case workers decide since.
    shadow = models.BooleanField(_("skuggläge"), default=False)
    # The case workers' labels given up to this time are in the training data; later ones
    # are unseen by this version and fair to measure it on.
    data_until = models.DateTimeField(_("etiketter till och med"), null=True, blank=True)
    training_run = models.ForeignKey(
        "TrainingRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="versions",
        verbose_name=_("träningskörning"),
    )
    activated_at = models.DateTimeField(_("aktiverad"), null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("aktiverad av"),
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("modellversion")
        verbose_name_plural = _("modellversioner")
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_model_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.version}"

    @property
    def department_macro_f1(self) -> float | None:
        return (self.metrics.get("department") or {}).get("macro_f1")

    @property
    def labels_seen_until(self):
        """The newest label time this version may have been trained on."""
        return self.data_until or self.created_at


class Label(models.Model):
    """A person's verdict on one predicted field of a report: confirmed or corrected.

    Retraining reads these: a corrected value overrides the model's for that report.
    """

    FIELDS = Report.LABEL_FIELDS

    report = models.ForeignKey("intake.Report", on_delete=models.CASCADE, related_name="labels")
    field = models.CharField(
        _("fält"), max_length=16, choices=[(f, f) for f in FIELDS], db_index=True
    )
    predicted_value = models.JSONField(_("predikterat värde"), null=True, blank=True)
    value = models.JSONField(_("rätt värde"))
    confirmed = models.BooleanField(_("bekräftelse"), default=False)
    model_version = models.CharField(_("modellversion"), max_length=64, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="labels"
    )
    created_at = models.DateTimeField(_("tid"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("etikett")
        verbose_name_plural = _("etiketter")

    def __str__(self) -> str:
        return f"{self.report} · {self.field} = {self.value}"


class TrainingRun(models.Model):
    """One retraining requested from the "Modeller" page, done by a worker on the training queue.

    Only one run may be queued or running at a time: the partial unique constraint on the
    constant `single` field makes the database refuse a second one, whatever the race.
    """

    Status = JobStatus

    class Kind(models.TextChoices):
        BASELINE = "baseline", _("Baslinje (TF-IDF)")
        TRANSFORMER = "transformer", _("Transformer")
        BOTH = "both", _("Baslinje och transformer")

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(_("typ"), max_length=16, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    # Always True: the column the one-run-at-a-time constraint is unique on.
    single = models.BooleanField(default=True, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("begärd av"),
    )
    created_at = models.DateTimeField(_("begärd"), default=timezone.now, db_index=True)
    started_at = models.DateTimeField(_("startad"), null=True, blank=True)
    finished_at = models.DateTimeField(_("avslutad"), null=True, blank=True)
    epoch = models.PositiveIntegerField(_("epok"), default=0)
    step = models.PositiveIntegerField(_("steg"), default=0)
    total_steps = models.PositiveIntegerField(_("antal steg"), default=0)
    loss = models.FloatField(_("förlust"), null=True, blank=True)
    eta_seconds = models.FloatField(_("beräknad tid kvar (s)"), null=True, blank=True)
    progress_at = models.DateTimeField(_("senaste förlopp"), null=True, blank=True)
    log = models.TextField(_("logg"), blank=True)
    error = models.TextField(_("fel"), blank=True)
    data_stats = models.JSONField(_("träningsdata"), default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("träningskörning")
        verbose_name_plural = _("träningskörningar")
        constraints = [
            models.UniqueConstraint(
                fields=["single"],
                condition=Q(status__in=["queued", "running"]),
                name="one_training_run_at_a_time",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @staticmethod
    def kinds_of(kind: str) -> list[str]:
        """The model kinds a run of `kind` trains, in order (the baseline first: it is quick)."""
        if kind == TrainingRun.Kind.BOTH:
            return [ModelVersion.Kind.BASELINE, ModelVersion.Kind.TRANSFORMER]
        return [kind]

    @property
    def percent(self) -> int | None:
        if not self.total_steps:
            return None
        return min(100, round(100 * self.step / self.total_steps))


class ActivationLog(models.Model):
    """The audit log of activations: which version replaced which, by whom, when and why."""

    class Action(models.TextChoices):
        ACTIVATE = "activate", _("Aktivering")
        ROLLBACK = "rollback", _("Återställning")
        AUTOMATIC = "auto", _("Automatisk aktivering")

    model_version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        related_name="activations",
        verbose_name=_("aktiverad version"),
    )
    previous = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("tidigare aktiv version"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("användare"),
    )
    action = models.CharField(
        _("åtgärd"), max_length=16, choices=Action.choices, default=Action.ACTIVATE
    )
    created_at = models.DateTimeField(_("tid"), default=timezone.now, db_index=True)
    reason = models.TextField(_("anledning"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("aktivering")
        verbose_name_plural = _("aktiveringslogg")

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.previous or '—'} → {self.model_version}"


class Comparison(models.Model):
    """A candidate version measured beside the active version and the newest baseline, on
    the same data: the fixed test split and the reports case workers labelled after every
    compared version's training data was taken. Done by a worker on the training queue."""

    Status = JobStatus

    candidate = models.ForeignKey(
        ModelVersion,
        on_delete=models.CASCADE,
        related_name="comparisons",
        verbose_name=_("kandidat"),
    )
    active = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("aktiv version"),
    )
    baseline = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("baslinje"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("begärd av"),
    )
    created_at = models.DateTimeField(_("begärd"), default=timezone.now, db_index=True)
    started_at = models.DateTimeField(_("startad"), null=True, blank=True)
    finished_at = models.DateTimeField(_("klar"), null=True, blank=True)
    labels_since = models.DateTimeField(_("etiketter efter"), null=True, blank=True)
    results = models.JSONField(_("resultat"), default=dict, blank=True)
    decision = models.TextField(_("beslut om automatisk aktivering"), blank=True)
    error = models.TextField(_("fel"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("jämförelse")
        verbose_name_plural = _("jämförelser")

    def __str__(self) -> str:
        return f"{self.candidate} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    def versions(self) -> list[ModelVersion]:
        """The compared versions, the candidate first, each once."""
        seen: dict[int, ModelVersion] = {}
        for version in (self.candidate, self.active, self.baseline):
            if version is not None and version.pk not in seen:
                seen[version.pk] = version
        return list(seen.values())
