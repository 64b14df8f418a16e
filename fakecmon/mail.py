"""Mail the controller sends, delivered as the machine's local mail system would.

CMON hands its mails (the password reset token) to the local mail system, which
appends each to the recipient's mailbox: ``/var/mail/<user>``, one mbox file per
local user. ``fakecmon serve --mail-spool DIR`` does the same under DIR, the mailbox
named after the local part of the recipient's address (``pipas@host`` ->
``DIR/pipas``), so tools that read ``/var/mail/$USER`` (s9s's ft_user.sh) find it.
"""

from __future__ import annotations

import os
import re
import socket
import time
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone
from pathlib import Path

from fakecmon.world.accounts import RESET_TOKEN_LIFETIME
from fakecmon.world.models import User

SENDER = "ClusterControl <cmon@localhost>"
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


def mailbox_name(address: str) -> str:
    """The mailbox of an address: its local part, as one safe file name."""
    local = address.rpartition("@")[0] or address
    name = _UNSAFE.sub("_", local)
    return name if name and not name.startswith(".") else "_" + name


def reset_mail_body(user: User, token: str) -> str:
    """The text of the password reset mail: the token on a ``--token=`` line of the
    s9s command that uses it (ft_user.sh greps that line)."""
    hours = int(RESET_TOKEN_LIFETIME // 3600)
    return (
        f"Dear {user.first_name or user.user_name},\n"
        "\n"
        f"a password reset was requested for the ClusterControl user '{user.user_name}'.\n"
        "To set a new password, run:\n"
        "\n"
        f"    s9s user --password-reset --cmon-user={user.user_name} \\\n"
        f"        --token=\"{token}\" \\\n"
        "        --new-password=NEW_PASSWORD\n"
        "\n"
        f"The token works once, within {hours} hours. If you did not ask for this, ignore\n"
        "this mail: your password stays as it is.\n"
    )


def mbox_message(sender: str, recipient: str, subject: str, body: str, when: float) -> str:
    """One mbox message: the ``From `` separator line, headers, the body (lines starting
    with ``From `` quoted as ``>From ``) and the blank line that ends it."""
    stamp = datetime.fromtimestamp(when, timezone.utc)
    envelope = sender.rpartition("<")[2].rstrip(">") or sender
    lines = [f"From {envelope} {time.asctime(stamp.timetuple())}",
             f"From: {sender}",
             f"To: {recipient}",
             f"Subject: {subject}",
             f"Date: {format_datetime(stamp)}",
             f"Message-ID: {make_msgid(domain=socket.gethostname() or 'localhost')}",
             "MIME-Version: 1.0",
             "Content-Type: text/plain; charset=utf-8",
             "Content-Transfer-Encoding: 8bit",
             ""]
    lines += [">" + ln if ln.startswith("From ") else ln for ln in body.split("\n")]
    return "\n".join(lines).rstrip("\n") + "\n\n"


def deliver(spool: Path, recipient: str, subject: str, body: str, when: float) -> Path:
    """Append a message to the recipient's mailbox in ``spool`` (made 0600 if new)."""
    spool = Path(spool)
    spool.mkdir(parents=True, exist_ok=True)
    path = spool / mailbox_name(recipient)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as mailbox:
        mailbox.write(mbox_message(SENDER, recipient, subject, body, when))
    return path


def mail_reset_token(spool: Path, user: User, token: str, when: float) -> Path:
    """Deliver the password reset mail of ``user`` (who has an address) to its mailbox."""
    return deliver(spool, user.email_address, "Password reset",
                   reset_mail_body(user, token), when)
