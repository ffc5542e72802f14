"""Emails the app sent, as the tests read them: the links in account emails."""

from __future__ import annotations

import email
import email.policy
import re
import time
from pathlib import Path


def link_token(message, page: str) -> str:
    """The token of the ``page`` link (``/password-reset``, ``/register/confirm``) in an email."""
    match = re.search(rf"https?://\S+{re.escape(page)}#token=(\S+)", message.get_content())
    assert match, message.get_content()
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
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if message["To"] != to:
                continue
            match = re.search(rf"https?://\S+({re.escape(page)}#token=\S+)", message.get_content())
            if match:
                return match.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no email to {to} with a {page} link in {mail_dir}")
