"""The IMAP poller against a real Dovecot on loopback, started privately for this test run."""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from routing.intake import mailbox, tasks
from routing.intake.mail_intake import MailResult
from routing.intake.mailbox import FILED_KEYWORD, MailboxError, poll_imap
from routing.intake.models import Message, Report

MAIL = Path(__file__).resolve().parent.parent / "fixtures" / "mail"
DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "arenden", "test-only-password"


def ensure_dovecot() -> str:
    """Dovecot's version, installing Debian's package first where it is missing."""
    if not Path(DOVECOT).exists():
        if not shutil.which("apt-get"):
            pytest.fail("Dovecot is not installed and apt-get is unavailable to install it")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", "dovecot-imapd"],
            env=env,
            capture_output=True,
            text=True,
        )
        if install.returncode != 0 or not Path(DOVECOT).exists():
            pytest.fail(f"could not install dovecot-imapd with apt-get:\n{install.stderr[-2000:]}")
    version = subprocess.run([DOVECOT, "--version"], capture_output=True, text=True, check=True)
    return version.stdout.split()[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mail_owner() -> tuple[int, int]:
    """Who owns the mail: the current user, or Debian's dovecot user when that is root."""
    if os.getuid() != 0:
        return os.getuid(), os.getgid()
    entry = pwd.getpwnam("dovecot")
    return entry.pw_uid, entry.pw_gid


def dovecot_config(root: Path, port: int, version: str) -> str:
    """A private instance: loopback only, plaintext login, one passwd-file user, Maildir in
    `root`; run by the current user (mail and logins by Debian's users when that is root)."""
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    # Login processes refuse to run as root, and so does mail access; Debian's package
    # creates dovenull and dovecot for them.
    login_user = "dovenull" if os.getuid() == 0 else user
    mail_uid, mail_gid = mail_owner()
    common = f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login_user}
first_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""
    if tuple(int(part) for part in re.findall(r"\d+", version)[:2]) >= (2, 4):
        # Dovecot 2.4 renamed the settings and changed the passdb/userdb syntax (written
        # from its documentation; the suite runs on Debian 12's 2.3).
        return f"""dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
{common}
auth_allow_cleartext = yes
mail_driver = maildir
mail_path = {root}/mail/%{{user}}
passdb passwd-file {{
  passwd_file_path = {root}/users
}}
userdb static {{
  fields {{
    uid = {mail_uid}
    gid = {mail_gid}
    home = {root}/home/%{{user}}
  }}
}}
"""
    return f"""{common}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={root}/home/%u
}}
"""


@pytest.fixture(scope="session")
def imap_server():
    """A Dovecot IMAP server of our own on 127.0.0.1, stopped at the end of the run."""
    version = ensure_dovecot()
    # Not under pytest's private temporary directory: the mail user must reach it.
    root = Path(tempfile.mkdtemp(prefix="dovecot-"))
    root.chmod(0o711)
    for folder in ("run", "state", "mail", "home"):
        (root / folder).mkdir()
    uid, gid = mail_owner()
    for folder in ("mail", "home"):
        os.chown(root / folder, uid, gid)
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    port = free_port()
    config = root / "dovecot.conf"
    config.write_text(dovecot_config(root, port, version))
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (
                        (root / "dovecot.log").read_text()
                        if (root / "dovecot.log").exists()
                        else ""
                    )
                    output = (
                        process.stdout.read().decode(errors="replace") if process.stdout else ""
                    )
                    pytest.fail(f"Dovecot {version} did not start:\n{output}\n{log}")
                time.sleep(0.1)
        yield {"host": "127.0.0.1", "port": port}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def inbox(imap_server, settings):
    """An empty INBOX on the test server, and the settings that point the poller at it."""
    settings.IMAP_HOST = imap_server["host"]
    settings.IMAP_PORT = imap_server["port"]
    settings.IMAP_SSL = False
    settings.IMAP_USER = USER
    settings.IMAP_PASSWORD = PASSWORD
    settings.IMAP_FOLDER = "INBOX"
    with imaplib.IMAP4(imap_server["host"], imap_server["port"]) as imap:
        imap.login(USER, PASSWORD)
        _, [count] = imap.select("INBOX")
        if int(count):
            imap.store("1:*", "+FLAGS", r"(\Deleted)")
            imap.expunge()
        yield imap


def deliver(imap: imaplib.IMAP4, name: str) -> None:
    status, _ = imap.append("INBOX", "", None, (MAIL / f"{name}.eml").read_bytes())
    assert status == "OK"


def flags(imap: imaplib.IMAP4) -> list[str]:
    imap.select("INBOX")
    status, data = imap.fetch("1:*", "(FLAGS)")
    assert status == "OK"
    return [item.decode() for item in data]


def test_the_server_keeps_keywords_of_our_own(inbox):
    # "\\*" in PERMANENTFLAGS: a client may create keywords, and they persist.
    _, [permanent] = inbox.response("PERMANENTFLAGS")
    assert "\\*" in permanent.decode().strip("()").split()


@pytest.mark.django_db
def test_new_mail_is_filed_and_marked_with_the_keyword(inbox):
    for name in ("plain_utf8", "latin1_qp", "broken_mime"):
        deliver(inbox, name)

    result = poll_imap()

    assert [outcome.result for outcome in result.outcomes] == [
        MailResult.CREATED,
        MailResult.CREATED,
        MailResult.REJECTED,
    ]
    assert set(Report.objects.values_list("subject", flat=True)) == {
        "Gatlampa släckt på Storgatan",
        "Hål i vägen vid förskolan på Kyrkvägen",
    }
    stored, stored_too, rejected = flags(inbox)
    assert FILED_KEYWORD in stored
    assert FILED_KEYWORD in stored_too
    assert FILED_KEYWORD in rejected
    assert "\\Flagged" in rejected  # for a person to look at
    assert "\\Flagged" not in stored
    # Whether a mail has been read is for the people who use the mailbox.
    assert not any("\\Seen" in item for item in (stored, stored_too, rejected))


@pytest.mark.django_db
def test_mail_a_person_has_already_read_is_still_filed(inbox):
    deliver(inbox, "plain_utf8")
    deliver(inbox, "latin1_qp")
    inbox.store("1:*", "+FLAGS", r"(\Seen)")  # opened in a mail client before the poll

    result = poll_imap()

    assert [outcome.result for outcome in result.outcomes] == [MailResult.CREATED] * 2
    assert Report.objects.count() == 2
    assert all(FILED_KEYWORD in item and "\\Seen" in item for item in flags(inbox))


@pytest.mark.django_db
def test_deleted_mail_is_not_filed(inbox):
    deliver(inbox, "plain_utf8")
    inbox.store("1", "+FLAGS", r"(\Deleted)")  # deleted by a person, not yet expunged

    assert poll_imap().outcomes == []
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_a_second_poll_files_nothing_new(inbox):
    deliver(inbox, "html_only")
    assert len(poll_imap().outcomes) == 1

    assert poll_imap().outcomes == []
    assert Report.objects.count() == 1


@pytest.mark.django_db
def test_mail_found_unmarked_after_a_crash_is_a_duplicate(inbox):
    deliver(inbox, "windows1252")
    poll_imap()
    # As if the poller had crashed between storing the mail and setting the keyword.
    inbox.store("1", "-FLAGS", f"({FILED_KEYWORD})")

    [outcome] = poll_imap().outcomes

    assert outcome.result == MailResult.DUPLICATE
    assert Report.objects.count() == 1
    assert FILED_KEYWORD in flags(inbox)[0]


class FakeImap:
    """Only what the poller asks before it searches, answered as a given server would."""

    def __init__(self, permanentflags: bytes | None):
        self.permanentflags = permanentflags
        self.searched = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def login(self, user, password):
        return "OK", [b"Logged in"]

    def select(self, folder):
        return "OK", [b"0"]

    def response(self, code):
        assert code == "PERMANENTFLAGS"
        return code, [self.permanentflags]

    def uid(self, command, *args):
        assert command == "SEARCH"
        self.searched = True
        return "OK", [b""]

    def close(self):
        return "OK", [b""]


@pytest.mark.parametrize(
    ("permanentflags", "allowed"),
    [
        (b"(\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)", True),
        (b"(\\Flagged \\Seen $arendeflode)", True),
        (None, True),  # no PERMANENTFLAGS: every flag is permanent (RFC 3501, 7.1)
        (b"(\\Answered \\Flagged \\Deleted \\Seen \\Draft)", False),
        (b"()", False),
    ],
)
def test_a_folder_that_cannot_keep_the_keyword_is_refused(
    settings, monkeypatch, permanentflags, allowed
):
    settings.IMAP_HOST = "imap.example.invalid"
    server = FakeImap(permanentflags)
    monkeypatch.setattr(mailbox, "_connect", lambda: server)

    if allowed:
        assert poll_imap().outcomes == []
    else:
        with pytest.raises(MailboxError, match=re.escape(FILED_KEYWORD)):
            poll_imap()
    assert server.searched == allowed


@pytest.mark.django_db
def test_a_reply_in_the_mailbox_joins_its_case(inbox):
    deliver(inbox, "plain_utf8")
    [created] = poll_imap().outcomes
    reply = (MAIL / "reply.eml").read_bytes()
    reply = reply.replace(b"[2026-00001]", f"[{created.report.case_number}]".encode())
    inbox.append("INBOX", "", None, reply)

    [added] = poll_imap().outcomes

    assert added.result == MailResult.ADDED
    assert Message.objects.get().report == created.report


def test_polling_is_off_without_a_host(settings):
    settings.IMAP_HOST = ""
    assert poll_imap() is None
    # The task that beat schedules by this name.
    assert tasks.poll_imap.name == settings.CELERY_BEAT_SCHEDULE["poll-imap"]["task"]
    assert tasks.poll_imap() == 0
