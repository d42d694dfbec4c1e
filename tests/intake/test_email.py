"""Email intake: real .eml files parsed, filed as reports or replies, by service and command."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from routing.intake.email import (
    MalformedEmail,
    html_to_text,
    is_mbox,
    parse_email,
    split_mbox,
    strip_quotes_and_signature,
)
from routing.intake.mail_intake import MailResult, ingest_email
from routing.intake.models import Attachment, Message, Report
from routing.intake.services import AttachmentInfo

MAIL = Path(__file__).resolve().parent.parent / "fixtures" / "mail"


def mail_bytes(name: str) -> bytes:
    return (MAIL / f"{name}.eml").read_bytes()


def mbox(*messages: bytes) -> bytes:
    """An mbox file (mboxrd: body lines starting with "From " escaped) of the messages."""
    parts = []
    for raw in messages:
        body = raw.replace(b"\nFrom ", b"\n>From ")
        parts.append(b"From MAILER-DAEMON Mon Nov 23 12:00:00 2026\n" + body + b"\n")
    return b"".join(parts)


# The parser (no database)


@pytest.mark.parametrize(
    ("name", "subject", "charset", "words"),
    [
        ("plain_utf8", "Gatlampa släckt på Storgatan", "utf-8", "utanför Storgatan 14"),
        ("latin1_qp", "Hål i vägen vid förskolan på Kyrkvägen", "iso-8859-1", "förskolan Ängen"),
        ("windows1252", "Felaktig parkeringsbot", "windows-1252", "800 € – ursäkta"),
        ("html_only", "Skräp i Rådhusparken", "utf-8", "tömts på över en vecka"),
        ("alternative", "Plaskdammen vid Strandvägen", "utf-8", "luktar illa och är grönt."),
        ("attachment", "Trasig gunga i Ekbackens park", "utf-8", "kedjan har gått av"),
        (
            "encoded_subject",
            "Översvämning i källaren efter skyfallet på Åsgatan",
            "utf-8",
            "20 cm vatten i källaren",
        ),
        (
            "wrong_charset",
            "Trasig brevlåda vid återvinningsstationen",
            "windows-1252",
            "återvinningsstationen på Södra torget",
        ),
    ],
)
def test_each_mail_is_decoded_to_readable_text(name, subject, charset, words):
    parsed = parse_email(mail_bytes(name))
    assert parsed.subject == subject
    assert parsed.charset == charset
    assert words in parsed.text
    assert "\ufffd" not in parsed.text + parsed.subject


def test_sender_and_date_come_from_the_headers():
    parsed = parse_email(mail_bytes("latin1_qp"))
    assert (parsed.sender_name, parsed.sender_address) == (
        "Göran Åström",
        "goran.astrom@example.net",
    )
    assert parsed.message_id == "<5F3C2A10.4040309@example.net>"
    assert parsed.date.isoformat() == "2026-11-17T18:03:55+01:00"


def test_smart_quotes_survive_windows_1252():
    assert "“fri parkering helger”" in parse_email(mail_bytes("windows1252")).text


def test_plain_text_is_preferred_to_html():
    parsed = parse_email(mail_bytes("alternative"))
    assert "HTML-versionen" not in parsed.text
    assert parsed.attachments == ()


def test_html_only_mail_becomes_text_without_scripts_or_styles():
    parsed = parse_email(mail_bytes("html_only"))
    assert "trackOpen" not in parsed.full_text
    assert "font-family" not in parsed.full_text
    assert "<" not in parsed.full_text
    assert "Det gäller:\n\n- korgen vid fontänen\n- korgen vid lekplatsen" in parsed.text


def test_attachments_are_recorded_by_name_type_and_size():
    parsed = parse_email(mail_bytes("attachment"))
    assert parsed.attachments == (
        AttachmentInfo("gungan.jpg", "image/jpeg", 2070),
        AttachmentInfo("skiss över parken.pdf", "application/pdf", 964),
    )


def test_quoted_reply_and_dash_signature_are_stripped_but_kept_in_the_original():
    parsed = parse_email(mail_bytes("quoted_gmail"))
    assert parsed.text == (
        "Lindvägen är fortfarande inte plogad, och nu har bussen fastnat i backen\n"
        "vid nummer 40. Snövallen blockerar också infarten till äldreboendet."
    )
    assert "070-123 45 67" in parsed.original
    assert "> Har du hört något från kommunen" in parsed.original


def test_outlook_quote_and_swedish_closing_are_stripped():
    parsed = parse_email(mail_bytes("quoted_outlook"))
    assert parsed.text.endswith("Det är omöjligt att sova.")
    assert "Med vänlig hälsning" in parsed.full_text
    assert "Hej Anna, kan du anmäla bullret" in parsed.original


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lampan är trasig.\n\nMvh Eva", "Lampan är trasig."),
        ("Lampan är trasig.\nVänliga hälsningar,\nEva Ek\nAlléen 4", "Lampan är trasig."),
        (
            "Tack!\n\nOn Mon, 16 Nov 2026 at 07:43, Kommunen\n<arenden@kommun.example> wrote:\n"
            "> Hej",
            "Tack!",
        ),
        (
            "Ny info.\n\n16 nov. 2026 kl. 07:43 skrev Kommunen <a@kommun.example>:\n\nHej",
            "Ny info.",
        ),
        ("Ny info.\nFrån: Kommunen\nSkickat: den 16 november 2026\nÄmne: Ärende", "Ny info."),
        # A resident's own words that only look like reply headers stay.
        ("Den 3 mars skrev jag till er om lampan:\nDen är fortfarande trasig.", None),
        ("Cykelvägen är avstängd.\nFrån: Storgatan\nTill: Lillgatan", None),
        # A closing followed by a long text is no signature.
        ("Mvh\n" + "Jag vill också säga att bänken är trasig.\n" * 6, None),
    ],
)
def test_quotes_and_signatures_in_plain_text(text, expected):
    assert strip_quotes_and_signature(text) == (expected or text.strip())


def test_quoted_html_reply_is_stripped_like_plain_text():
    html = (
        "<div>Lampan lyser fortfarande inte.</div><div class=gmail_quote>"
        "Den mån 16 nov. 2026 kl 07:43 skrev Kommunen &lt;arenden@kommun.example&gt;:<br>"
        "<blockquote>Hej!<br>Tack för att du hörde av dig.</blockquote></div>"
    )
    assert strip_quotes_and_signature(html_to_text(html)) == "Lampan lyser fortfarande inte."


def test_a_mail_without_message_id_gets_a_stable_one():
    first = parse_email(mail_bytes("wrong_charset"))
    assert not first.has_message_id
    assert first.message_id.endswith("@sha256.invalid>")
    assert parse_email(mail_bytes("wrong_charset")).message_id == first.message_id


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (mail_bytes("broken_mime"), "MIME-struktur"),
        (mail_bytes("no_body"), "ingen text"),
        (b"", "tomt"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\xff\xfe", "inget e-postmeddelande"),
        (
            b"From: a@example.se\nSubject: x\nContent-Type: text/plain\n\n" + bytes(range(32)) * 8,
            "binära data",
        ),
    ],
)
def test_malformed_mail_is_refused_with_a_reason(raw, reason):
    with pytest.raises(MalformedEmail, match=reason):
        parse_email(raw)


def test_an_mbox_is_split_and_from_lines_unescaped():
    lamp = mail_bytes("plain_utf8").replace(b"\nKan ni", b"\nFrom now on: kan ni")
    data = mbox(lamp, mail_bytes("html_only"))
    assert is_mbox(data)
    assert not is_mbox(lamp)

    first, second = split_mbox(data)

    assert first == lamp
    assert parse_email(second).subject == "Skräp i Rådhusparken"


# The service (database)


@pytest.mark.django_db
def test_a_mail_becomes_an_email_report_with_the_original_kept():
    outcome = ingest_email(mail_bytes("quoted_gmail"))

    assert outcome.result == MailResult.CREATED
    report = Report.objects.get()
    assert outcome.report == report
    assert report.channel == "email"
    assert report.subject == "Re: Snöröjning Lindvägen"
    assert (report.reporter_name, report.reporter_email) == ("Johan Ek", "johan.ek@example.com")
    assert report.message_id == "<CAJq9yA1bQ7=snow@mail.example.com>"
    assert "plogbil" not in report.text
    assert "070-123 45 67" not in report.text
    assert "Message-ID: <CAJq9yA1bQ7=snow@mail.example.com>" in report.raw_source
    assert "> någon plogbil på hela helgen." in report.raw_source


@pytest.mark.django_db
def test_attachments_are_stored_with_the_report():
    report = ingest_email(mail_bytes("attachment")).report
    assert sorted(Attachment.objects.filter(report=report).values_list("filename", "size")) == [
        ("gungan.jpg", 2070),
        ("skiss över parken.pdf", 964),
    ]


@pytest.mark.parametrize("name", ["plain_utf8", "wrong_charset"])
@pytest.mark.django_db
def test_the_same_mail_twice_files_one_report(name):
    first = ingest_email(mail_bytes(name))
    second = ingest_email(mail_bytes(name))
    assert (first.result, second.result) == (MailResult.CREATED, MailResult.DUPLICATE)
    assert second.report == first.report
    assert Report.objects.count() == 1


@pytest.mark.django_db
def test_reply_with_case_number_joins_existing_report():
    case = ingest_email(mail_bytes("plain_utf8")).report
    reply = mail_bytes("reply").replace(b"[2026-00001]", f"[{case.case_number}]".encode())

    outcome = ingest_email(reply)

    assert outcome.result == MailResult.ADDED
    assert outcome.report == case
    assert Report.objects.count() == 1
    message = Message.objects.get(report=case)
    assert message.text == "Nu är det två lampor till som är släckta, på Storgatan 16 och 18."
    assert message.sender == "Karin Berg <karin.berg@example.se>"
    assert "Ditt ärende har fått nummer" in message.raw_source
    assert ingest_email(reply).result == MailResult.DUPLICATE
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_malformed_mail_is_rejected_logged_and_not_saved(caplog):
    outcome = ingest_email(mail_bytes("broken_mime"))
    assert outcome.result == MailResult.REJECTED
    assert "MIME-struktur" in outcome.reason
    assert "rejected" in caplog.text
    assert not Report.objects.exists()
    assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_mail_over_the_size_limit_is_refused_before_parsing(settings):
    raw = mail_bytes("attachment")
    settings.EMAIL_MAX_BYTES = len(raw) - 1
    outcome = ingest_email(raw)
    assert outcome.result == MailResult.REJECTED
    assert "för stort" in outcome.reason
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_an_auto_reply_opens_no_case():
    raw = mail_bytes("plain_utf8").replace(b"MIME-Version", b"Auto-Submitted: auto-replied\nMIME")
    assert ingest_email(raw).result == MailResult.REJECTED
    assert not Report.objects.exists()


# The command


@pytest.mark.django_db
def test_command_files_an_mbox_and_fails_for_the_rejected_mail():
    data = mbox(*(mail_bytes(name) for name in ("plain_utf8", "broken_mime", "html_only")))
    out = io.StringIO()

    with pytest.raises(CommandError, match="1 of 3 messages rejected"):
        call_command("ingest_email", "-", stdin=io.BytesIO(data), stdout=out)

    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["created", "rejected", "created"]
    assert lines[1].startswith("rejected <broken-mime-0001@example.invalid>: Meddelandets MIME")
    assert Report.objects.count() == 2


@pytest.mark.django_db
def test_command_reads_an_eml_file_and_reports_duplicates(tmp_path):
    path = tmp_path / "in.eml"
    path.write_bytes(mail_bytes("latin1_qp"))
    out = io.StringIO()

    call_command("ingest_email", str(path), stdout=out)
    call_command("ingest_email", str(path), stdout=out)

    created, duplicate = out.getvalue().splitlines()
    case = Report.objects.get().case_number
    assert created == f"created {case} <5F3C2A10.4040309@example.net>"
    assert duplicate == f"duplicate <5F3C2A10.4040309@example.net> ({case})"


@pytest.mark.django_db
def test_command_reads_stdin_without_an_argument():
    out = io.StringIO()
    call_command("ingest_email", stdin=io.BytesIO(mail_bytes("windows1252")), stdout=out)
    assert out.getvalue().startswith("created ")
    assert "800 €" in Report.objects.get().text


# End to end, with a real worker


@pytest.mark.django_db(transaction=True)
def test_an_email_is_routed_and_acknowledged_by_a_real_worker(
    active_model, celery_worker, wait_until
):
    report = ingest_email(mail_bytes("plain_utf8")).report

    wait_until(lambda: Report.objects.get(pk=report.pk).status == Report.Status.ROUTED)
    wait_until(lambda: mail.outbox)
    [ack] = mail.outbox
    assert ack.to == ["karin.berg@example.se"]
    assert f"[{report.case_number}]" in ack.subject
    assert report.case_number in ack.body
    assert Report.objects.get(pk=report.pk).department is not None
