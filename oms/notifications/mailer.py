"""Compose an email (:func:`compose`) and send it: over SMTP when ``OMS_SMTP_URL`` is set,
otherwise as an .eml file in ``OMS_MAIL_DIR`` (development: open the files with any mail
client)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from flask import current_app, render_template

from oms.db import utcnow


def _domain() -> str:
    """The domain of the Message-ID: the sender's, else the site's host."""
    address = parseaddr(current_app.config["OMS_MAIL_FROM"])[1]
    domain = address.rpartition("@")[2]
    return domain or urlparse(current_app.config["OMS_PUBLIC_URL"]).hostname or "localhost"


def compose(
    *, to: str, subject: str, key: str, message_id: str, template: str, **context
) -> EmailMessage:
    """An email with ``Date`` and ``Message-ID``, a plain-text part and its HTML alternative,
    rendered from ``templates/email/<template>.txt`` and ``.html`` with ``context``.

    ``message_id`` is the notification's own id, so every attempt at one message carries the
    same Message-ID (a receiver can drop a repeat); ``key`` (``X-OMS-Key``) names what it is
    about."""
    message = EmailMessage()
    message["From"] = current_app.config["OMS_MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = f"<{message_id}@{_domain()}>"
    message["X-OMS-Key"] = key
    context["subject"] = subject
    # 8bit, not quoted-printable: links stay whole in the raw text too (an .eml file of the
    # embedded default read without a mail client)
    message.set_content(render_template(f"email/{template}.txt", **context), cte="8bit")
    message.add_alternative(render_template(f"email/{template}.html", **context), subtype="html")
    return message


def send(message: EmailMessage) -> str:
    """Deliver ``message``; returns where it went. SMTP errors propagate (the task retries)."""
    url = current_app.config.get("OMS_SMTP_URL")
    if url:
        _send_smtp(url, message)
        return "smtp"
    folder = Path(current_app.config["OMS_MAIL_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"{stamp}-{message['X-OMS-Key'].replace(':', '_')}.eml"
    path.write_bytes(bytes(message))
    return str(path)


def _send_smtp(url: str, message: EmailMessage) -> None:
    """``smtp://user:pass@host:port`` (``?starttls=1`` to upgrade) or ``smtps://...``."""
    parsed = urlparse(url)
    timeout = current_app.config["OMS_SMTP_TIMEOUT"]
    client: smtplib.SMTP
    if parsed.scheme == "smtps":
        client = smtplib.SMTP_SSL(
            parsed.hostname or "",
            parsed.port or 465,
            timeout=timeout,
            context=ssl.create_default_context(),
        )
    else:
        client = smtplib.SMTP(parsed.hostname or "", parsed.port or 25, timeout=timeout)
    with client:
        if parse_qs(parsed.query).get("starttls") == ["1"]:
            client.starttls(context=ssl.create_default_context())
        if parsed.username:
            client.login(unquote(parsed.username), unquote(parsed.password or ""))
        client.send_message(message)
