"""Emails the app sent, as the tests read them: a real SMTP server on localhost
(:class:`SmtpServer`), each message's text and HTML parts, the links in account emails."""

from __future__ import annotations

import email
import email.policy
import re
import time
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

from tests.processes import free_port


class SmtpServer:
    """aiosmtpd on 127.0.0.1 keeping every message it receives (``messages``), as parsed by
    a mail client; ``url`` is the app's ``OMS_SMTP_URL`` for it."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


def text_of(message) -> str:
    """The plain-text part of an email."""
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    """The HTML part of an email."""
    return message.get_body(preferencelist=("html",)).get_content()


def link_token(message, page: str) -> str:
    """The token of the ``page`` link (``/password-reset``, ``/register/confirm``) in an email."""
    match = re.search(rf"https?://\S+{re.escape(page)}#token=(\S+)", text_of(message))
    assert match, text_of(message)
    return match.group(1)


def register_and_confirm(client, sent: list, body: dict) -> dict:
    """Register through the API and follow the emailed link: the login's tokens and user."""
    response = client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 202, response.get_json()
    token = link_token(sent[-1], "/register/confirm")
    confirmed = client.post("/api/v1/auth/register/confirm", json={"token": token})
    assert confirmed.status_code == 200, confirmed.get_json()
    return confirmed.get_json()


def mailed_link(mail_dir: Path, to: str, page: str, timeout: float = 30) -> str:
    """The path and fragment of the ``page`` link (``/password-reset``, ``/register/confirm``)
    in an email to ``to``, as soon as the worker has written it."""
    return re.sub(r"^https?://[^/]+", "", mailed_url(mail_dir, to, page, timeout))


def mailed_url(mail_dir: Path, to: str, page: str, timeout: float = 30) -> str:
    """The whole ``page`` link (address, path, token) in an .eml file to ``to`` in
    ``mail_dir``, as soon as it is written."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if message["To"] != to:
                continue
            match = re.search(rf"https?://\S+{re.escape(page)}#token=\S+", text_of(message))
            if match:
                return match.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no email to {to} with a {page} link in {mail_dir}")
