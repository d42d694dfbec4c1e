"""IMAP polling: file every unseen mail in the configured folder, then mark it seen.

A mail is marked \\Seen only once it is stored (or rejected for good), so a crash in
between leaves it unseen and the next poll files it again; Message-ID idempotency makes
that harmless. Rejected mail is also flagged, so that a person can find it in the folder.
"""

from __future__ import annotations

import imaplib
import logging
from dataclasses import dataclass, field

from django.conf import settings

from routing.intake.mail_intake import MailOutcome, MailResult, ingest_email

log = logging.getLogger(__name__)

IMAP_TIMEOUT_SECONDS = 30


class MailboxError(RuntimeError):
    """The IMAP server refused a command (login, select, fetch)."""


@dataclass
class PollResult:
    outcomes: list[MailOutcome] = field(default_factory=list)

    def count(self, result: MailResult) -> int:
        return sum(outcome.result == result for outcome in self.outcomes)


def poll_imap() -> PollResult | None:
    """Fetch and file the unseen mail; None when IMAP polling is off (no IMAP_HOST)."""
    if not settings.IMAP_HOST:
        return None
    result = PollResult()
    with _connect() as imap:
        _check(imap.login(settings.IMAP_USER, settings.IMAP_PASSWORD), "login")
        _check(imap.select(_quoted(settings.IMAP_FOLDER)), "select")
        status, data = imap.uid("SEARCH", None, "UNSEEN")
        _check((status, data), "search")
        for uid in data[0].split():
            raw = _fetch(imap, uid)
            if raw is None:
                continue
            try:
                outcome = ingest_email(raw)
            except Exception:
                # Left unseen for the next poll; one bad mail must not hold up the rest.
                log.exception("could not file IMAP message %s", uid.decode())
                continue
            result.outcomes.append(outcome)
            flags = r"(\Seen)" if outcome.stored else r"(\Seen \Flagged)"
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


def _fetch(imap: imaplib.IMAP4, uid: bytes) -> bytes | None:
    # BODY.PEEK leaves \Seen alone: only a stored mail is marked.
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
