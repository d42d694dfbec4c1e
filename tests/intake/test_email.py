"""Email intake: real .eml files parsed, filed as reports or replies, by service and command."""

from __future__ import annotations

import io
import logging
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError

from routing.intake import services
from routing.intake.email import (
    MalformedEmail,
    html_to_text,
    is_mbox,
    parse_email,
    split_mbox,
    strip_quotes_and_signature,
)
from routing.intake.mail_intake import MailResult, ingest_email
from routing.intake.management.commands.ingest_email import Command as IngestEmailCommand
from routing.intake.models import Attachment, Message, Report
from routing.intake.services import AttachmentInfo

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
MAIL = REPO_ROOT / "tests" / "fixtures" / "mail"


def mail_bytes(name: str) -> bytes:
    return (MAIL / f"{name}.eml").read_bytes()


def with_headers(raw: bytes, **headers: str) -> bytes:
    """The mail with these headers replaced, or added where missing (In_Reply_To= for
    In-Reply-To)."""
    for name, value in headers.items():
        name = name.replace("_", "-")
        line = f"{name}: {value}".encode()
        pattern = rb"(?im)^" + re.escape(name.encode()) + rb":.*$"
        raw, replaced = re.subn(pattern, lambda _, line=line: line, raw, count=1)
        if not replaced:
            raw = line + b"\n" + raw
    return raw


def reply_on(case: Report, **headers: str) -> bytes:
    """reply.eml (from Karin Berg, answering the acknowledgement) with the case's number."""
    raw = mail_bytes("reply").replace(b"[2026-00001]", f"[{case.case_number}]".encode())
    return with_headers(raw, **headers)


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


def test_in_reply_to_and_references_are_parsed_in_order_without_repeats():
    raw = with_headers(
        mail_bytes("reply"),
        References="<root@example.se>\n <176353814.12.ack@kommun.example> (ack)\n\t<x@y>",
    )
    assert parse_email(raw).references == (
        "<176353814.12.ack@kommun.example>",
        "<root@example.se>",
        "<x@y>",
    )
    assert parse_email(mail_bytes("plain_utf8")).references == ()


@pytest.mark.parametrize("name", ["alternative", "attachment", "windows1252"])
def test_the_original_is_the_message_as_received(name):
    raw = mail_bytes(name)
    assert parse_email(raw).original == raw.decode("utf-8", errors="backslashreplace")


def test_the_original_escapes_nul():
    raw = mail_bytes("plain_utf8").replace(b"Kan ni", b"Kan\x00 ni")
    assert "Kan\\0 ni" in parse_email(raw).original
    assert "\x00" not in parse_email(raw).original


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


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("html_only", "Content-Transfer-Encoding: quoted-printable\n\n<!DOCTYPE html>"),
        ("html_only", '<script>window.trackOpen && trackOpen("abc");</script>'),
        ("alternative", "\n--000000000000a1b2c3d4e5f6\nContent-Type: text/html"),
        ("attachment", 'Content-Disposition: attachment; filename="gungan.jpg"'),
    ],
)
@pytest.mark.django_db
def test_the_raw_source_is_the_mime_source_as_received(name, source):
    report = ingest_email(mail_bytes(name)).report
    assert source in report.raw_source
    assert report.raw_source == mail_bytes(name).decode()


@pytest.mark.django_db
def test_a_mail_with_nul_bytes_is_stored_with_the_nul_escaped():
    raw = (
        mail_bytes("plain_utf8")
        .replace(b"Kan ni", b"Kan\x00 ni")
        .replace(b"Storgatan", b"Stor\x00gatan")
    )
    case = ingest_email(raw).report
    reply = reply_on(case).replace(b"Nu \xc3\xa4r", b"Nu\x00 \xc3\xa4r")

    message = ingest_email(reply).message

    case.refresh_from_db()
    assert "Kan\\0 ni" in case.raw_source
    assert "Nu\\0 är" in message.raw_source
    for value in (case.text, case.subject, case.raw_source, message.text, message.raw_source):
        assert "\x00" not in value
    assert "Kan ni skicka" in case.text
    assert message.text.startswith("Nu är det två lampor")


def address_of_length(length: int) -> str:
    """A valid address (Django's validator takes up to 320 characters) of this length."""
    domain = "b" * 63 + "." + "c" * 63 + "." + "d" * 60 + ".se"
    return "a" * (length - len(domain) - 1) + "@" + domain


@pytest.mark.parametrize(("length", "kept"), [(254, True), (255, False), (320, False)])
@pytest.mark.django_db
def test_a_sender_address_too_long_for_the_column_is_left_out(length, kept):
    address = address_of_length(length)
    raw = with_headers(mail_bytes("plain_utf8"), From=f"Karin Berg <{address}>")

    outcome = ingest_email(raw)

    assert outcome.result == MailResult.CREATED
    assert outcome.report.reporter_email == (address if kept else "")
    assert address in outcome.report.raw_source


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
def test_reply_from_the_reporter_joins_whatever_the_case_of_the_address():
    case = ingest_email(mail_bytes("plain_utf8")).report

    outcome = ingest_email(reply_on(case, From="Karin Berg <Karin.BERG@Example.SE>"))

    assert (outcome.result, outcome.report) == (MailResult.ADDED, case)


@pytest.mark.django_db
def test_reply_from_another_address_joins_when_it_answers_the_report():
    case = ingest_email(mail_bytes("plain_utf8")).report
    reply = reply_on(case, From="Per Berg <per.berg@example.org>", In_Reply_To=case.message_id)

    outcome = ingest_email(reply)

    assert (outcome.result, outcome.report) == (MailResult.ADDED, case)
    assert Message.objects.get().sender == "Per Berg <per.berg@example.org>"


@pytest.mark.django_db
def test_reply_from_another_address_joins_when_its_references_name_a_message_of_the_case():
    case = ingest_email(mail_bytes("plain_utf8")).report
    earlier = ingest_email(reply_on(case)).message
    reply = reply_on(
        case,
        From="Per Berg <per.berg@example.org>",
        Message_ID="<second-reply@example.org>",
        References=f"<176353814.12.ack@kommun.example> {earlier.message_id}",
    )

    outcome = ingest_email(reply)

    assert (outcome.result, outcome.report) == (MailResult.ADDED, case)
    assert case.messages.count() == 2


@pytest.mark.django_db
def test_a_stranger_naming_a_case_number_files_a_new_report(caplog):
    caplog.set_level(logging.INFO, logger="routing.intake.mail_intake")
    case = ingest_email(mail_bytes("plain_utf8")).report
    # The number of the acknowledgement, but not from the reporter and answering nothing
    # of the case (an unknown Message-ID, or none at all).
    stranger = reply_on(case, From="Okänd <stranger@example.net>")

    outcome = ingest_email(stranger)

    assert outcome.result == MailResult.CREATED
    assert outcome.report != case
    assert case.case_number in outcome.report.subject
    assert outcome.report.reporter_email == "stranger@example.net"
    assert not Message.objects.exists()
    assert f"names case {case.case_number}" in caplog.text


@pytest.mark.django_db
def test_an_auto_reply_from_a_stranger_naming_a_case_is_refused():
    case = ingest_email(mail_bytes("plain_utf8")).report
    raw = reply_on(case, From="robot@example.net", Auto_Submitted="auto-replied")
    assert ingest_email(raw).result == MailResult.REJECTED
    assert Report.objects.count() == 1
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_reply_to_a_closed_case_joins_it_and_is_logged(caplog):
    caplog.set_level(logging.INFO, logger="routing.intake.mail_intake")
    case = ingest_email(mail_bytes("plain_utf8")).report
    Report.objects.filter(pk=case.pk).update(status=Report.Status.CLOSED)

    outcome = ingest_email(reply_on(case))

    assert (outcome.result, outcome.report) == (MailResult.ADDED, case)
    assert Report.objects.get(pk=case.pk).status == Report.Status.CLOSED
    [record] = [r for r in caplog.records if "closed case" in r.getMessage()]
    assert record.levelno == logging.INFO
    assert case.case_number in record.getMessage()


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

    with pytest.raises(CommandError, match="1 of 3 messages rejected") as raised:
        call_command("ingest_email", "-", stdin=io.BytesIO(data), stdout=out)

    assert raised.value.returncode == 1

    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["created", "rejected", "created"]
    assert lines[1].startswith("rejected <broken-mime-0001@example.invalid>: Meddelandets MIME")
    assert Report.objects.count() == 2


@pytest.mark.parametrize("error", [OperationalError("the database went away"), KeyError("bug")])
@pytest.mark.django_db
def test_command_defers_a_mail_it_could_not_store_and_files_the_rest(monkeypatch, caplog, error):
    html_only = "<CAF7b2xQ1mPz=html-only@mail.example.org>"
    ingest_report = services.ingest_report

    def failing_for_one(new):
        if new.message_id == html_only:
            raise error
        return ingest_report(new)

    monkeypatch.setattr(services, "ingest_report", failing_for_one)
    names = ("plain_utf8", "broken_mime", "html_only", "latin1_qp")
    data = mbox(*(mail_bytes(name) for name in names))
    out = io.StringIO()

    with pytest.raises(CommandError, match="1 of 4 messages not stored") as raised:
        call_command("ingest_email", "-", stdin=io.BytesIO(data), stdout=out)

    # EX_TEMPFAIL: the mail server keeps the mail and delivers it again later.
    assert raised.value.returncode == os.EX_TEMPFAIL == 75
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["created", "rejected", "deferred", "created"]
    assert lines[2] == f"deferred message 3 of 4: {type(error).__name__}"
    assert Report.objects.count() == 2
    [logged] = [record for record in caplog.records if record.exc_info]
    assert logged.exc_info[1] is error

    monkeypatch.undo()  # the database is back; the mail server delivers the mail again
    out = io.StringIO()
    call_command("ingest_email", "-", stdin=io.BytesIO(mail_bytes("html_only")), stdout=out)
    assert out.getvalue().startswith("created ")
    assert Report.objects.filter(message_id=html_only).exists()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(("name", "status"), [("plain_utf8", 75), ("broken_mime", 1)])
def test_manage_py_exits_75_while_the_database_is_down_and_1_for_malformed_mail(name, status):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/arendeflode",
    }
    run = subprocess.run(
        [sys.executable, "manage.py", "ingest_email", "-"],
        input=mail_bytes(name),
        capture_output=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=120,
    )
    assert run.returncode == status, run.stderr.decode(errors="replace")[-2000:]
    if status == 75:
        assert b"Traceback" in run.stderr
        assert b"OperationalError" in run.stderr


def test_command_help_documents_the_exit_codes():
    text = IngestEmailCommand().create_parser("manage.py", "ingest_email").format_help()
    text = " ".join(text.split())
    assert "0 when every message was stored" in text
    assert "75 (EX_TEMPFAIL) when a message could not be stored for now" in text
    assert "1 when a message was rejected for good" in text


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
    assert ack.extra_headers["Auto-Submitted"] == "auto-replied"
    assert ack.extra_headers["In-Reply-To"] == report.message_id


@pytest.mark.django_db
def test_a_reply_to_the_acknowledgement_from_another_address_joins_the_case(settings):
    from routing.intake.services import send_acknowledgement

    report = ingest_email(mail_bytes("plain_utf8")).report
    assert send_acknowledgement(report.pk)
    [ack] = mail.outbox
    reply = (
        f"From: Karin <karin.jobb@example.org>\r\nTo: arenden@kommun.example\r\n"
        f"Subject: SV: {ack.subject}\r\nMessage-ID: <svar-1@example.org>\r\n"
        f"In-Reply-To: <ack-1@kommun.example>\r\n"
        f"References: {ack.extra_headers['References']} <ack-1@kommun.example>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\nNu lyser lampan igen, tack!\r\n"
    ).encode()
    outcome = ingest_email(reply)
    assert outcome.result == MailResult.ADDED
    assert outcome.report == report
