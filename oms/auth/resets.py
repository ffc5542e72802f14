"""Password reset tokens: ``<reset id>.<HMAC-SHA256 of the id under SECRET_KEY>``.

The database keeps only the id (``password_resets``), so someone who reads the database (or a
backup, or the outbox row that carries the id to the mail worker) cannot build a working
token; the key alone cannot either, without a live reset row. Single use and expiry live on
the row (``oms.auth.service``)."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from flask import current_app


def _signature(reset_id: uuid.UUID) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = b"password-reset:" + reset_id.hex.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def make_token(reset_id: uuid.UUID) -> str:
    """The token emailed for the reset ``reset_id``."""
    return f"{reset_id.hex}.{_signature(reset_id)}"


def reset_id_of(token: str) -> uuid.UUID | None:
    """The reset a token names when its signature holds, else None (never raises)."""
    raw_id, _, signature = token.partition(".")
    try:
        reset_id = uuid.UUID(hex=raw_id)
    except ValueError:
        return None
    if not hmac.compare_digest(signature.encode(), _signature(reset_id).encode()):
        return None
    return reset_id


def reset_url(reset_id: uuid.UUID) -> str:
    """The page link for the email. The token rides in the fragment, which browsers never send
    to a server (no access logs, no Referer)."""
    return f"{current_app.config['OMS_PUBLIC_URL']}/password-reset#token={make_token(reset_id)}"
