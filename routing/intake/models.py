"""Reports, the departments they are routed to, their predictions and the API clients."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ml import taxonomy


class Department(models.Model):
    """A municipal department; one per taxonomy code, seeded by a migration."""

    code = models.CharField(
        _("kod"), max_length=32, unique=True, choices=list(taxonomy.DEPARTMENTS.items())
    )
    name = models.CharField(_("namn"), max_length=100)
    contact_email = models.EmailField(_("kontaktadress"), blank=True)
    active = models.BooleanField(_("aktiv"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("förvaltning")
        verbose_name_plural = _("förvaltningar")

    def __str__(self) -> str:
        return self.name


class Report(models.Model):
    """One resident's report, saved before anything else happens to it."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Mottaget")
        ROUTED = "routed", _("Fördelat")
        IN_PROGRESS = "in_progress", _("Pågår")
        CLOSED = "closed", _("Avslutat")

    case_number = models.CharField(_("ärendenummer"), max_length=16, unique=True)
    channel = models.CharField(_("kanal"), max_length=16, choices=list(taxonomy.CHANNELS.items()))
    subject = models.CharField(_("rubrik"), max_length=200, blank=True)
    # The text the model reads; for email, without quoted replies and signature.
    text = models.TextField(_("text"))
    location_text = models.CharField(_("plats"), max_length=300, blank=True)
    latitude = models.DecimalField(
        _("latitud"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitud"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    reporter_name = models.CharField(_("namn"), max_length=200, blank=True)
    reporter_email = models.EmailField(_("e-post"), blank=True)
    reporter_phone = models.CharField(_("telefon"), max_length=40, blank=True)
    received_at = models.DateTimeField(_("mottaget"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("uppdaterat"), auto_now=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("förvaltning"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reports",
    )
    # The prediction that routed the report, and its figures for sorting and filtering.
    prediction = models.ForeignKey(
        "Prediction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    severity_score = models.FloatField(_("allvarlighet (poäng)"), null=True, blank=True)
    routing_confidence = models.FloatField(_("säkerhet"), null=True, blank=True)
    # The current labels: predicted at routing, then as confirmed or corrected by people.
    case_type = models.CharField(
        _("ärendetyp"), max_length=16, blank=True, choices=list(taxonomy.CASE_TYPES.items())
    )
    sentiment = models.CharField(
        _("ton"), max_length=16, blank=True, choices=list(taxonomy.SENTIMENTS.items())
    )
    severity = models.PositiveSmallIntegerField(
        _("allvarlighet"), null=True, blank=True, choices=list(taxonomy.SEVERITIES.items())
    )
    # Tag codes between spaces (" barn trygghet "): filterable with a plain LIKE on every
    # database, SQLite included.
    tag_codes = models.CharField(_("taggar"), max_length=300, blank=True, default="")
    keywords = models.JSONField(_("nyckelord"), default=list, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handläggare"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_reports",
    )
    routed_at = models.DateTimeField(_("fördelat"), null=True, blank=True)
    # When routing was last handed to the broker; the sweeper waits a while after that.
    routing_enqueued_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Audit: the request body or the whole email as received.
    raw_source = models.TextField(_("original"), blank=True)
    message_id = models.CharField(
        _("Message-ID"), max_length=998, null=True, blank=True, unique=True
    )
    api_client = models.ForeignKey(
        "ApiClient", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    acknowledged_at = models.DateTimeField(_("kvittens skickad"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("ärende")
        verbose_name_plural = _("ärenden")
        indexes = [
            models.Index(fields=["status", "received_at"]),
            models.Index(fields=["department", "status", "-severity_score"]),
            models.Index(fields=["department", "-severity_score", "received_at"]),
            models.Index(fields=["routing_confidence"]),
            # Similar reports: the latest of a department.
            models.Index(fields=["department", "-received_at"]),
        ]

    def __str__(self) -> str:
        return self.case_number

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED

    # The predicted fields people confirm or correct, in the taxonomy's order.
    LABEL_FIELDS = (*taxonomy.SINGLE_LABEL_FIELDS, "severity", "tags", "keywords")

    @property
    def tags(self) -> list[str]:
        return self.tag_codes.split()

    def label_value(self, field: str):
        """A label field's current value, in the form labels store it (tags sorted)."""
        if field == "department":
            return self.department.code if self.department_id else None
        if field == "tags":
            return sorted(self.tags)
        if field == "keywords":
            return list(self.keywords)
        return getattr(self, field) or None

    @staticmethod
    def encode_tags(tags) -> str:
        """Tag codes in taxonomy order, space-delimited with spaces around (see tag_codes)."""
        chosen = [tag for tag in taxonomy.TAGS if tag in set(tags)]
        return f" {' '.join(chosen)} " if chosen else ""


class CaseNumberCounter(models.Model):
    """The last case number handed out per year (rows locked while counting)."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Prediction(models.Model):
    """What one model version predicted for one report (the `ml predict` JSON)."""

    class Source(models.TextChoices):
        ROUTING = "routing", _("fördelning")
        SHADOW = "shadow", _("skuggläge")
        COMPARISON = "comparison", _("jämförelse")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="predictions")
    model_version = models.CharField(_("modellversion"), max_length=64)
    # Why the prediction was made: to route the report, beside the active model in shadow
    # mode, or to score a version in a comparison (never routing anything but the first).
    source = models.CharField(
        _("källa"), max_length=16, choices=Source.choices, default=Source.ROUTING
    )
    model_kind = models.CharField(_("modelltyp"), max_length=32)
    data = models.JSONField(_("prediktion"))
    department = models.CharField(_("förvaltning"), max_length=32, db_index=True)
    department_confidence = models.FloatField(_("säkerhet"))
    severity_score = models.FloatField(_("allvarlighet (poäng)"), db_index=True)
    created_at = models.DateTimeField(_("skapad"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("prediktion")
        verbose_name_plural = _("prediktioner")
        constraints = [
            models.UniqueConstraint(
                fields=["report", "model_version"], name="one_prediction_per_report_and_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.report} · {self.model_version}"


class Message(models.Model):
    """A later email on a case: a reply from the reporter, or one that refers to the case's mail."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="messages")
    message_id = models.CharField(max_length=998, null=True, blank=True, unique=True)
    sender = models.CharField(_("avsändare"), max_length=300, blank=True)
    subject = models.CharField(_("ämne"), max_length=998, blank=True)
    text = models.TextField(_("text"))
    raw_source = models.TextField(_("original"), blank=True)
    received_at = models.DateTimeField(_("mottaget"), default=timezone.now)

    class Meta:
        ordering = ["received_at"]
        verbose_name = _("meddelande")
        verbose_name_plural = _("meddelanden")

    def __str__(self) -> str:
        return f"{self.report} · {self.subject or self.sender}"


class Attachment(models.Model):
    """An email attachment, recorded (name, type, size) but never opened or executed."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    filename = models.CharField(_("filnamn"), max_length=300)
    content_type = models.CharField(_("typ"), max_length=200)
    size = models.PositiveIntegerField(_("storlek (byte)"))

    class Meta:
        verbose_name = _("bilaga")
        verbose_name_plural = _("bilagor")

    def __str__(self) -> str:
        return self.filename


class ApiClient(models.Model):
    """A system allowed to file reports through the API or Open311; the key is kept hashed."""

    name = models.CharField(_("namn"), max_length=100, unique=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(_("nyckelprefix"), max_length=8, editable=False)
    active = models.BooleanField(_("aktiv"), default=True)
    created_at = models.DateTimeField(_("skapad"), default=timezone.now)
    last_used_at = models.DateTimeField(_("senast använd"), null=True, blank=True)

    class Meta:
        verbose_name = _("API-klient")
        verbose_name_plural = _("API-klienter")

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def create_with_key(cls, name: str) -> tuple[ApiClient, str]:
        """Create a client; return it with its key, which is shown only this once."""
        key = secrets.token_urlsafe(32)
        client = cls.objects.create(name=name, key_hash=cls.hash_key(key), key_prefix=key[:8])
        return client, key

    @classmethod
    def for_key(cls, key: str) -> ApiClient | None:
        if not key:
            return None
        return cls.objects.filter(key_hash=cls.hash_key(key), active=True).first()

    @classmethod
    def authenticate(cls, key: str) -> ApiClient | None:
        """The active client with this key, its use noted (at most one write a minute)."""
        client = cls.for_key(key)
        if client is not None:
            now = timezone.now()
            if client.last_used_at is None or now - client.last_used_at > timedelta(minutes=1):
                cls.objects.filter(pk=client.pk).update(last_used_at=now)
        return client
