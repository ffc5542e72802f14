"""Emailed account tokens (password resets, email confirmations):
``<row id>.<HMAC-SHA256 of purpose and id under SECRET_KEY>``.

The database keeps only the id (``password_resets``), so someone who reads the database (or a
backup, or the outbox row that carries the id to the mail worker) cannot build a working
token; the key alone cannot either, without a live row. The purpose is signed too, so a reset
token never confirms an email nor the other way round. Single use and expiry live on the row
(``oms.auth.service``)."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from flask import current_app

from oms.auth.models import TokenPurpose

# The page each purpose's link opens; the token rides in the fragment, which browsers never
# send to a server (no access logs, no Referer).
PAGES = {
    TokenPurpose.PASSWORD_RESET: "/password-reset",
    TokenPurpose.EMAIL_CONFIRMATION: "/register/confirm",
}


def _signature(token_id: uuid.UUID, purpose: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = f"{purpose}:{token_id.hex}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def make_token(token_id: uuid.UUID, purpose: str = TokenPurpose.PASSWORD_RESET) -> str:
    """The token emailed for the row ``token_id``."""
    return f"{token_id.hex}.{_signature(token_id, purpose)}"


def token_id_of(token: str, purpose: str = TokenPurpose.PASSWORD_RESET) -> uuid.UUID | None:
    """The row a token names when its signature for ``purpose`` holds, else None (never
    raises)."""
    raw_id, _, signature = token.partition(".")
    try:
        token_id = uuid.UUID(hex=raw_id)
    except ValueError:
        return None
    if not hmac.compare_digest(signature.encode(), _signature(token_id, purpose).encode()):
        return None
    return token_id


def link(token_id: uuid.UUID, purpose: str) -> str:
    """The page link for the email."""
    page = PAGES[purpose]
    return f"{current_app.config['OMS_PUBLIC_URL']}{page}#token={make_token(token_id, purpose)}"
