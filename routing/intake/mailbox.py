"""IMAP polling: file every mail of the configured folder not yet marked as filed.

Filed mail carries a private keyword, FILED_KEYWORD. \\Seen belongs to the people who read
the mailbox: whoever opens a mail in a client marks it seen, and such a mail must still be
filed, so the poller neither searches for \\Seen nor changes it. The keyword is set only
once a mail is stored (or rejected for good), so a crash in between leaves it unmarked and
the next poll files it again; Message-ID idempotency makes that harmless. Rejected mail is
also flagged, so that a person can find it in the folder.
"""

from __future__ import annotations

import imaplib
import logging
from dataclasses import dataclass, field

from django.conf import settings

from routing.intake.mail_intake import MailOutcome, MailResult, ingest_email

log = logging.getLogger(__name__)

IMAP_TIMEOUT_SECONDS = 30
# An IMAP keyword of our own (RFC 3501 flag-keyword; "$" keeps it apart from the tags that
# people set in their clients). Dovecot's Maildir and mbox keep keywords by default.
FILED_KEYWORD = "$Arendeflode"


class MailboxError(RuntimeError):
    """The IMAP server refused a command (login, select, fetch), or cannot keep our keyword."""


@dataclass
class PollResult:
    outcomes: list[MailOutcome] = field(default_factory=list)

    def count(self, result: MailResult) -> int:
        return sum(outcome.result == result for outcome in self.outcomes)


def poll_imap() -> PollResult | None:
    """Fetch and file the mail not yet filed; None when IMAP polling is off (no IMAP_HOST)."""
    if not settings.IMAP_HOST:
        return None
    result = PollResult()
    with _connect() as imap:
        _check(imap.login(settings.IMAP_USER, settings.IMAP_PASSWORD), "login")
        _check(imap.select(_quoted(settings.IMAP_FOLDER)), "select")
        _require_keywords(imap)
        status, data = imap.uid("SEARCH", None, "UNKEYWORD", FILED_KEYWORD, "UNDELETED")
        _check((status, data), "search")
        for uid in data[0].split():
            raw = _fetch(imap, uid)
            if raw is None:
                continue
            try:
                outcome = ingest_email(raw)
            except Exception:
                # Left unmarked for the next poll; one bad mail must not hold up the rest.
                log.exception("could not file IMAP message %s", uid.decode())
                continue
            result.outcomes.append(outcome)
            flags = f"({FILED_KEYWORD})" if outcome.stored else rf"({FILED_KEYWORD} \Flagged)"
            _check(imap.uid("STORE", uid, "+FLAGS", flags), "store")
        imap.close()
    if result.outcomes:
        log.info(
            "IMAP poll: %d created, %d added to cases, %d duplicates, %d rejected",
            *(result.count(kind) for kind in MailResult),
        )
    return result


def _connect() -> imaplib.IMAP4:
    if settings.IMAP_SSL:
        return imaplib.IMAP4_SSL(
            settings.IMAP_HOST, settings.IMAP_PORT, timeout=IMAP_TIMEOUT_SECONDS
        )
    return imaplib.IMAP4(settings.IMAP_HOST, settings.IMAP_PORT, timeout=IMAP_TIMEOUT_SECONDS)


def _require_keywords(imap: imaplib.IMAP4) -> None:
    """Refuse a folder that cannot keep our keyword: each poll would file all of it again.

    PERMANENTFLAGS lists the flags a client may set for good; `\\*` means new keywords too.
    A server that sends none allows every flag (RFC 3501, 7.1).
    """
    _, data = imap.response("PERMANENTFLAGS")
    permanent = " ".join(d.decode(errors="replace") for d in data if isinstance(d, bytes))
    if not permanent:
        return
    allowed = {flag.lower() for flag in permanent.strip("()").split()}
    if "\\*" not in allowed and FILED_KEYWORD.lower() not in allowed:
        raise MailboxError(
            f"IMAP folder cannot keep the keyword {FILED_KEYWORD} (PERMANENTFLAGS {permanent})"
        )


def _fetch(imap: imaplib.IMAP4, uid: bytes) -> bytes | None:
    # BODY.PEEK leaves \Seen alone: whether a person has read a mail is theirs to say.
    status, data = imap.uid("FETCH", uid, "(BODY.PEEK[])")
    _check((status, data), "fetch")
    for item in data:
        if isinstance(item, tuple):
            return item[1]
    log.warning("IMAP message %s vanished before it was fetched", uid.decode())
    return None


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(response: tuple[str, list], command: str) -> None:
    status, data = response
    if status != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
        raise MailboxError(f"IMAP {command} failed: {status} {detail}")
