"""Email intake: one raw mail in, a new report, a message on an existing case, or a refusal.

The parser (`intake.email`) decides what the mail says; this module decides what to store,
through the intake verbs in `services`. The command, the IMAP poller and tests all call
`ingest_email`.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from routing.intake import services
from routing.intake.email import MalformedEmail, ParsedEmail, parse_email
from routing.intake.models import Message, Report
from routing.intake.services import IntakeError, NewReport

log = logging.getLogger(__name__)


class MailResult(enum.StrEnum):
    CREATED = "created"
    ADDED = "added"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class MailOutcome:
    result: MailResult
    report: Report | None = None
    message: Message | None = None
    # Why a mail was rejected (Swedish, shown to people).
    reason: str = ""
    message_id: str = ""

    @property
    def stored(self) -> bool:
        """True when the mail is in the database (now or from an earlier delivery)."""
        return self.result != MailResult.REJECTED

    def describe(self) -> str:
        """One line for operators: what happened to the mail."""
        if self.result == MailResult.CREATED:
            return f"created {self.report.case_number} {self.message_id}"
        if self.result == MailResult.ADDED:
            return f"added to case {self.report.case_number} {self.message_id}"
        if self.result == MailResult.DUPLICATE:
            case = f" ({self.report.case_number})" if self.report else ""
            return f"duplicate {self.message_id}{case}"
        return f"rejected {self.message_id}: {self.reason}"


def ingest_email(raw: bytes) -> MailOutcome:
    """File one RFC 822 mail: a reply on a case joins it, anything else becomes a report.

    A mail joins the case whose number its subject names only when it comes from the
    case's reporter or answers a mail of the case (see `_case_to_join`). Safe to run twice:
    a mail already stored (same Message-ID, or the same bytes when it has none) is reported
    as a duplicate. A rejected mail is logged and nothing of it is stored. Database errors
    are raised, not turned into rejections: the mail can be stored later.
    """
    limit = settings.EMAIL_MAX_BYTES
    if len(raw) > limit:
        return _rejected(
            _("Meddelandet är för stort (högst %(limit)s byte).") % {"limit": limit}, ""
        )
    try:
        parsed = parse_email(raw)
    except MalformedEmail as exc:
        return _rejected(str(exc), exc.message_id)
    duplicate = _already_stored(parsed.message_id)
    if duplicate:
        return duplicate
    case = _case_to_join(parsed)
    try:
        if case is not None:
            return _add_to_case(case, parsed)
        if parsed.auto_submitted:
            # Answering an auto-reply with an acknowledgement can start a mail loop.
            return _rejected(_("Automatiskt skickat meddelande; inget ärende skapas."), parsed)
        return _create_report(parsed)
    except IntakeError as exc:
        return _rejected(str(exc), parsed)


def _already_stored(message_id: str) -> MailOutcome | None:
    report = Report.objects.filter(message_id=message_id).first()
    if report is None:
        message = Message.objects.filter(message_id=message_id).select_related("report").first()
        report = message.report if message else None
    if report is None:
        return None
    return MailOutcome(MailResult.DUPLICATE, report=report, message_id=message_id)


def _case_to_join(parsed: ParsedEmail) -> Report | None:
    """The case named in the subject, if the mail may join it.

    Case numbers are sequential and printed on every acknowledgement, so a number in the
    subject proves nothing: the mail must come from the case's reporter (the address is
    compared without regard to case) or answer one of the case's mails (In-Reply-To or
    References holds the Message-ID of its report or of one of its messages). Anything
    else is filed as a report of its own; its subject keeps the number for a case worker.
    """
    case = services.find_case(parsed.subject)
    if case is None:
        return None
    if not (_from_reporter(case, parsed) or _answers_case(case, parsed)):
        log.info(
            "email %s names case %s but neither comes from its reporter nor answers its mail;"
            " filed as a new report",
            parsed.message_id,
            case.case_number,
        )
        return None
    if not case.is_open:
        # Whether a reply reopens a closed case is for triage to decide.
        log.info("email %s joins closed case %s", parsed.message_id, case.case_number)
    return case


def _from_reporter(case: Report, parsed: ParsedEmail) -> bool:
    reporter = case.reporter_email.strip().lower()
    return bool(reporter) and parsed.sender_address.strip().lower() == reporter


def _answers_case(case: Report, parsed: ParsedEmail) -> bool:
    references = set(parsed.references)
    if not references:
        return False
    if case.message_id in references:
        return True
    return case.messages.filter(message_id__in=references).exists()


def _create_report(parsed: ParsedEmail) -> MailOutcome:
    report = services.ingest_report(
        NewReport(
            channel="email",
            text=parsed.text,
            subject=_shorten(parsed.subject, services.max_length("subject")),
            reporter_name=parsed.sender_name,
            reporter_email=_valid_address(parsed.sender_address),
            raw_source=parsed.original,
            message_id=parsed.message_id,
            attachments=list(parsed.attachments),
        )
    )
    # A concurrent delivery of the same mail gets the same report back from ingest_report
    # (and both say "created"); the unique Message-ID keeps it to one row.
    return MailOutcome(MailResult.CREATED, report=report, message_id=parsed.message_id)


def _add_to_case(case: Report, parsed: ParsedEmail) -> MailOutcome:
    sender = parsed.sender_address
    if parsed.sender_name:
        sender = f"{parsed.sender_name} <{parsed.sender_address}>"
    # A concurrent delivery of the same reply is settled inside add_message (it returns the
    # stored one).
    message = services.add_message(
        case,
        text=parsed.text,
        sender=sender,
        subject=parsed.subject,
        raw_source=parsed.original,
        message_id=parsed.message_id,
        attachments=list(parsed.attachments),
    )
    return MailOutcome(MailResult.ADDED, report=case, message=message, message_id=parsed.message_id)


def _valid_address(address: str) -> str:
    """The sender's address if an acknowledgement can go to it; a broken From header is
    no reason to refuse the report (the header stays in the original)."""
    # Django's validator accepts 320 characters; the column (RFC 5321 paths) holds 254.
    if len(address) > Report._meta.get_field("reporter_email").max_length:
        return ""
    try:
        validate_email(address)
    except ValidationError:
        return ""
    return address


def _shorten(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _rejected(reason: str, parsed: ParsedEmail | str) -> MailOutcome:
    message_id = parsed.message_id if isinstance(parsed, ParsedEmail) else parsed
    log.warning("email %s rejected: %s", message_id, reason)
    return MailOutcome(MailResult.REJECTED, reason=reason, message_id=message_id)
