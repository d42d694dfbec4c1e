"""Email parsing: raw RFC 822 bytes in, a frozen `ParsedEmail` out; no database access.

Untrusted bytes stop here. The parser decodes headers and bodies (falling back through
UTF-8, Windows-1252 and Latin-1 where the declared charset is wrong or missing), turns
HTML-only mail into plain text, records attachments without opening them, and separates
the resident's own words (quoted replies and signatures removed) from the full text. The
message as received is kept, as text, for the audit trail.
"""

from __future__ import annotations

import codecs
import email
import hashlib
import mimetypes
import posixpath
import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import parseaddr
from html.parser import HTMLParser

from django.utils.translation import gettext as _

from routing.intake.services import AttachmentInfo, IntakeError

# Message-ID is a unique database column of this length.
MESSAGE_ID_MAX = 998
# In-Reply-To and References ids kept; a long thread's References grows without bound.
REFERENCES_MAX = 100
_MESSAGE_ID = re.compile(r"<[^<>]+>")
# A body with more control characters than this share is binary, not text.
MAX_CONTROL_SHARE = 0.05
_SURROGATE = re.compile(r"[\udc80-\udcff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
# Labels under which Windows-1252 text travels; WHATWG decodes them all as Windows-1252.
_LATIN = {"ascii", "iso-8859-1", "windows-1252"}
# Python's codec names back to the names mail uses.
_LABELS = {"ascii": "us-ascii", "iso8859-1": "iso-8859-1", "iso8859-15": "iso-8859-15"}
_LABELS |= {"cp1252": "windows-1252", "utf-8": "utf-8"}


class MalformedEmail(IntakeError):
    """Bytes that are not a usable email; the message says why (Swedish, shown to people)."""

    def __init__(self, message: str, message_id: str):
        super().__init__(message)
        # The mail's Message-ID (or the hash of its bytes), so that logs can name it.
        self.message_id = message_id


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str
    # False when the mail had no Message-ID and `message_id` is a hash of its bytes.
    has_message_id: bool
    sender_name: str
    sender_address: str
    subject: str
    date: datetime | None
    # The resident's own words: quoted replies and signature removed (what the model reads).
    text: str
    # The whole decoded body text, nothing removed.
    full_text: str
    # The charset the body was actually decoded with.
    charset: str
    # The message as received (every header and part), for the audit trail; see `source_text`.
    original: str
    # The Message-IDs this mail answers (In-Reply-To, then References), "<...>" each.
    references: tuple[str, ...]
    attachments: tuple[AttachmentInfo, ...]
    # Set for auto-replies and other machine-sent mail (RFC 3834), which must not be answered.
    auto_submitted: bool


def parse_email(raw: bytes) -> ParsedEmail:
    """Parse one RFC 822 message; raise MalformedEmail when it holds no usable text."""
    synthetic = f"<{hashlib.sha256(raw or b'').hexdigest()}@sha256.invalid>"
    if not raw or not raw.strip():
        raise MalformedEmail(_("Meddelandet är tomt."), synthetic)
    msg = email.message_from_bytes(raw, policy=policy.default)
    message_id = _header(msg, "Message-ID")
    has_message_id = 0 < len(message_id) <= MESSAGE_ID_MAX
    # A mail without one is known by its bytes, so a second delivery files nothing new.
    message_id = message_id if has_message_id else synthetic
    if not msg.keys():
        raise MalformedEmail(
            _("Det här är inget e-postmeddelande (rubrikfälten saknas)."), message_id
        )
    if msg.get_content_maintype() == "multipart" and not msg.is_multipart():
        raise MalformedEmail(
            _("Meddelandets MIME-struktur är trasig (delarna går inte att läsa)."), message_id
        )
    body_part, full_text, charset = _body(msg)
    if not full_text:
        raise MalformedEmail(_("Meddelandet innehåller ingen text."), message_id)
    if len(_CONTROL.findall(full_text)) > MAX_CONTROL_SHARE * len(full_text):
        raise MalformedEmail(_("Meddelandets text går inte att läsa (binära data)."), message_id)

    sender_name, sender_address = _sender(msg)
    return ParsedEmail(
        message_id=message_id,
        has_message_id=has_message_id,
        sender_name=sender_name,
        sender_address=sender_address,
        subject=" ".join(_header(msg, "Subject").split()),
        date=_date(msg),
        text=strip_quotes_and_signature(full_text) or full_text,
        full_text=full_text,
        charset=charset,
        original=source_text(raw),
        references=_references(msg),
        attachments=tuple(_attachments(msg, body_part)),
        auto_submitted=_auto_submitted(msg),
    )


def split_mbox(data: bytes) -> list[bytes]:
    """Split an mbox file into raw messages (mboxo/mboxrd: `>From ` lines unescaped)."""
    messages: list[list[bytes]] = []
    previous_blank = True
    for line in data.splitlines(keepends=True):
        if line.startswith(b"From ") and previous_blank:
            messages.append([])
        elif messages:
            if re.match(rb">+From ", line):
                line = line[1:]
            messages[-1].append(line)
        previous_blank = not line.strip()
    return [b"".join(lines).rstrip(b"\r\n") + b"\n" for lines in messages]


def is_mbox(data: bytes) -> bool:
    """An mbox file starts with a `From ` separator line (so does a single message piped
    with its envelope line, e.g. by Postfix's pipe flag F: an mbox of one)."""
    return data.lstrip(b"\r\n").startswith(b"From ")


# Headers and metadata


def _fetch(msg: EmailMessage, name: str):
    """A parsed header, or None. Raw 8-bit bytes (RFC 6532 UTF-8, or a Latin-1 header
    from an old client) are decoded with the same fallbacks as bodies before parsing."""
    raw = next((value for key, value in msg.raw_items() if key.lower() == name.lower()), None)
    return None if raw is None else _parse_header(msg, name, raw)


def _parse_header(msg: EmailMessage, name: str, raw: str):
    if _SURROGATE.search(raw):
        data = raw.encode("ascii", "surrogateescape")
        raw = next(_decodings(data, _candidates("", data)))[0]
    try:
        return msg.policy.header_fetch_parse(name, raw)
    except Exception:  # the header parser gives up on some malformed values: keep it raw
        return raw


def _header(msg: EmailMessage, name: str) -> str:
    """A header's decoded value as one clean line ("" when missing)."""
    return clean_line(str(_fetch(msg, name) or ""))


def clean_line(value: str) -> str:
    return " ".join(_CONTROL.sub(" ", value).split())


def _sender(msg: EmailMessage) -> tuple[str, str]:
    header = _fetch(msg, "From")
    addresses = getattr(header, "addresses", ())
    if addresses:
        return clean_line(addresses[0].display_name), clean_line(addresses[0].addr_spec)
    name, address = parseaddr(_header(msg, "From"))
    return clean_line(name), clean_line(address)


def _date(msg: EmailMessage) -> datetime | None:
    # An unparsable date is not a reason to refuse a report.
    return getattr(_fetch(msg, "Date"), "datetime", None)


def _auto_submitted(msg: EmailMessage) -> bool:
    auto = _header(msg, "Auto-Submitted").lower()
    precedence = _header(msg, "Precedence").lower()
    return (auto not in ("", "no")) or precedence in ("bulk", "junk", "auto_reply")


def _references(msg: EmailMessage) -> tuple[str, ...]:
    found: dict[str, None] = {}  # ordered and without repeats
    for name in ("In-Reply-To", "References"):
        for message_id in _MESSAGE_ID.findall(_header(msg, name)):
            if len(message_id) <= MESSAGE_ID_MAX:
                found[message_id] = None
    return tuple(found)[:REFERENCES_MAX]


def source_text(raw: bytes) -> str:
    """The raw message as text for the audit copy: every byte kept, bytes that are not
    UTF-8 shown as `\\xNN` escapes and NUL as `\\0`, since PostgreSQL text cannot hold NUL."""
    return raw.decode("utf-8", errors="backslashreplace").replace("\x00", "\\0")


# Body text


def _body(msg: EmailMessage) -> tuple[EmailMessage | None, str, str]:
    """The part the text comes from, its decoded text and charset; plain text preferred."""
    for subtype in ("plain", "html"):
        part = msg.get_body(preferencelist=(subtype,))
        if part is None or part.get_content_maintype() != "text":
            continue
        text, charset = decode_payload(part)
        if subtype == "html":
            text = html_to_text(text)
        text = _normalise(text)
        if text:
            return part, text, charset
    return None, "", ""


def decode_payload(part: EmailMessage) -> tuple[str, str]:
    """Decode a text part's bytes; wrong or missing charsets fall back, never crash."""
    data = part.get_payload(decode=True) or b""
    declared = _codec(part.get_content_charset() or "")
    if data.isascii():
        return data.decode("ascii"), _label(declared or "ascii")
    return next(_decodings(data, _candidates(declared, data)))


def _decodings(data: bytes, charsets: list[str]):
    for charset in charsets:
        try:
            yield data.decode(charset), _label(charset)
        except UnicodeDecodeError:
            continue
    yield data.decode("iso-8859-1"), "iso-8859-1"  # every byte is a Latin-1 character


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name if name else ""
    except LookupError:
        return ""  # an unknown charset is treated as a missing one


def _candidates(declared: str, data: bytes) -> list[str]:
    """Charsets to try in order. Mail labelled Latin-1 (or not at all) is often really UTF-8
    or Windows-1252; valid UTF-8 with non-ASCII bytes is almost never an accident."""
    latin = {_codec(name) for name in _LATIN}
    tries = [declared] if declared and declared not in latin else []
    tries.append("utf-8")
    if declared in latin and not re.search(rb"[\x80-\x9f]", data):
        tries.append(declared)  # true Latin-1: no bytes in the Windows-1252-only range
    return [*tries, "cp1252", "iso-8859-1"]


def _label(codec: str) -> str:
    return _LABELS.get(codec, codec)


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _HtmlText(HTMLParser):
    """Readable text from HTML: scripts and styles dropped, block tags become line breaks."""

    SKIP = {"script", "style", "head", "title", "template", "noscript"}
    BREAK = {"br", "p", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.quote_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag == "blockquote":
            self.quote_depth += 1
            self.parts.append("\n")
        elif tag in self.BREAK:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")

    def handle_startendtag(self, tag, attrs):
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)
            self.parts.append("\n")
        elif tag in self.BREAK and tag not in ("br", "li"):
            self.parts.append("\n")

    def handle_data(self, data):
        if self.skipping:
            return
        text = re.sub(r"\s+", " ", data)
        # Quoted mail inside <blockquote> is marked like plain-text quoting, so that the
        # same stripping removes it from what the model reads.
        if self.quote_depth and (not self.parts or self.parts[-1].endswith("\n")):
            text = "> " + text.lstrip()
        self.parts.append(text)


def html_to_text(html: str) -> str:
    """Plain, readable text from an HTML body."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    lines = (line.strip() for line in "".join(parser.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# Quoted replies and signatures

# A reply header: "Den 3 mars 2026 kl. 10:12 skrev Kommunen <...>:", "On ... <...> wrote:",
# Apple's "16 nov. 2026 kl. 07:43 skrev ...:". It must name a time and an address, so that a
# resident's own "Den 3 mars skrev jag till er om lampan:" is not taken for one.
_REPLY_HEADER = re.compile(
    r"^(den|on|\d).{0,250}\b\d{1,2}[:.]\d\d\b.{0,250}\b(skrev|wrote)\b.{0,200}:$", re.I
)
_REPLY_HEADER_ADDRESS = re.compile(r"\S@\S|<")
_SEPARATOR = re.compile(
    r"^\s*(-{2,}\s*(ursprungligt meddelande|original message|vidarebefordrat meddelande|"
    r"forwarded message)\s*-{2,}|_{20,})\s*$",
    re.I,
)
_OUTLOOK_FROM = re.compile(r"^\s*\**(från|from)\s*:\**\s", re.I)
# "Från: ... Till: ..." alone can be a resident's route; a header block has a date line.
_OUTLOOK_NEXT = re.compile(r"^\s*\**(skickat|sent|datum|date)\s*:", re.I)
_CLOSING = re.compile(
    r"^(med\s+)?(vänlig(a|en)?|bästa|varma|många)\s+hälsning(ar)?\b.{0,40}$"
    r"|^(mvh|m\.v\.h\.|vh|hälsningar|tack på förhand|best regards|kind regards|regards)"
    r"\b[\s,.!]*.{0,40}$",
    re.I,
)
# A closing counts as a signature only if at most this many short lines follow it.
_SIGNATURE_LINES = 5
_SIGNATURE_LINE_CHARS = 60


def strip_quotes_and_signature(text: str) -> str:
    """The writer's own words: quoted lines, the quoted mail below a reply header, and the
    signature removed. Empty when nothing of the writer's own remains."""
    lines = text.split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _starts_quoted_mail(lines, index) or line in ("-- ", "--"):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    kept = _drop_closing(kept)
    return _normalise("\n".join(kept))


def _starts_quoted_mail(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    if _SEPARATOR.match(line):
        return True
    # Mail clients wrap long reply headers over two or three lines.
    for end in range(index + 1, min(index + 3, len(lines)) + 1):
        joined = " ".join(part.strip() for part in lines[index:end])
        if _REPLY_HEADER.match(joined) and _REPLY_HEADER_ADDRESS.search(joined):
            return True
    # Outlook puts a header block ("Från: ... Skickat: ...") above the quoted mail.
    if _OUTLOOK_FROM.match(line):
        return any(_OUTLOOK_NEXT.match(later) for later in lines[index + 1 : index + 4])
    return False


def _drop_closing(lines: list[str]) -> list[str]:
    """Remove a closing ("Med vänlig hälsning") and the short name block after it."""
    content = [i for i, line in enumerate(lines) if line.strip()]
    for position, index in enumerate(content):
        after = content[position + 1 :]
        if len(after) > _SIGNATURE_LINES:
            continue
        if _CLOSING.match(lines[index].strip()) and all(
            len(lines[i].strip()) <= _SIGNATURE_LINE_CHARS for i in after
        ):
            return lines[:index]
    return lines


# Attachments


def _attachments(msg: EmailMessage, body_part: EmailMessage | None) -> list[AttachmentInfo]:
    """Every part other than the body text and its alternatives, recorded by name, type and
    size. Payloads are only counted, never opened."""
    found: list[AttachmentInfo] = []
    for part in _leaves(msg):
        if part is body_part:
            continue
        disposition = part.get_content_disposition()
        filename = _filename(part)
        if part.get_content_maintype() == "text" and disposition != "attachment" and not filename:
            continue  # the other alternative of the body (HTML beside plain text)
        payload = part.get_payload(decode=True)
        if payload is None:  # message/rfc822: the forwarded mail as it stands
            payload = _as_bytes(part)
        content_type = part.get_content_type()
        if not filename:
            extension = mimetypes.guess_extension(content_type) or ".bin"
            filename = f"bilaga-{len(found) + 1}{extension}"
        found.append(AttachmentInfo(filename, content_type[:200], len(payload)))
    return found


def _as_bytes(part: EmailMessage) -> bytes:
    try:
        return part.as_bytes()
    except Exception:  # a forwarded mail too broken to serialise still counts as one
        return b""


def _leaves(part: EmailMessage):
    if part.get_content_type() == "message/rfc822":
        yield part
    elif part.is_multipart():
        for child in part.get_payload():
            yield from _leaves(child)
    else:
        yield part


def _filename(part: EmailMessage) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    # A name only: no directories, no control characters, bounded length.
    name = posixpath.basename(clean_line(name).replace("\\", "/"))
    return name[-300:]
