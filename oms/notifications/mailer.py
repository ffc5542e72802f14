"""Send an email: over SMTP when ``OMS_SMTP_URL`` is set, otherwise as an .eml file in
``OMS_MAIL_DIR`` (development: open the files with any mail client)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from flask import current_app

from oms.db import utcnow


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
