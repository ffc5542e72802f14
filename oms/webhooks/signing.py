"""Secrets and signatures of webhook deliveries, and the encryption of the stored secrets.

Deliveries are signed the Standard Webhooks way (https://www.standardwebhooks.com), so any of
its libraries verifies them: ``webhook-id`` (the event id: the same on every retry and
resend), ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``, ``v1,`` and the
base64 HMAC-SHA256 of ``<id>.<timestamp>.<body>`` keyed with the bytes the base64 after the
secret's ``whsec_`` decodes to. Until the next release they also carry the old, deprecated
pair: ``X-OMS-Timestamp`` and ``X-OMS-Signature``, ``v1=`` and the hex HMAC-SHA256 of
``<timestamp>.<body>`` keyed with the whole secret string.

Secrets are stored encrypted with Fernet (authenticated AES) under the keys of
``OMS_WEBHOOKS_ENCRYPTION_KEYS``: the first encrypts, every one decrypts (MultiFernet), so a
key is rotated by putting a new one first and re-encrypting (:func:`reencrypt`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

LEGACY_SIGNATURE_VERSION = "v1"
PREFIX = "whsec_"
SECRET_BYTES = 32


class SecretUnreadable(Exception):
    """A stored secret none of the configured encryption keys decrypts."""


def new_secret() -> str:
    """A fresh endpoint secret (shown to the admin once): ``whsec_`` and 32 random bytes in
    standard base64, what every Standard Webhooks library decodes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signing_key(secret: str) -> bytes:
    """The HMAC key of the Standard Webhooks signature: the base64 after ``whsec_``. Secrets
    made before this release are in the URL-safe alphabet without padding; they decode to
    their random bytes too."""
    encoded = secret.removeprefix(PREFIX)
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_")
    except binascii.Error as exc:
        raise ValueError("a webhook secret is whsec_ and base64") from exc


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value of ``body`` sent as ``message_id`` at ``timestamp``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign_legacy(secret: str, timestamp: int, body: bytes) -> str:
    """The deprecated ``X-OMS-Signature`` value (kept for one release)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{LEGACY_SIGNATURE_VERSION}={digest.hexdigest()}"


def _fernet(keys: list[str] | None = None) -> MultiFernet:
    keys = keys if keys is not None else current_app.config["OMS_WEBHOOKS_ENCRYPTION_KEYS"]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(secret: str, keys: list[str] | None = None) -> str:
    """``secret`` encrypted with the first key (the app's unless ``keys`` are given)."""
    return _fernet(keys).encrypt(secret.encode()).decode()


def decrypt(stored: str, keys: list[str] | None = None) -> str:
    """The secret ``stored`` holds, decrypted with whichever key made it."""
    try:
        return _fernet(keys).decrypt(stored.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "no key of OMS_WEBHOOKS_ENCRYPTION_KEYS decrypts this webhook secret"
        ) from exc


def reencrypt(stored: str, keys: list[str] | None = None) -> str:
    """``stored`` encrypted again with the first key (MultiFernet.rotate)."""
    try:
        return _fernet(keys).rotate(stored.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "no key of OMS_WEBHOOKS_ENCRYPTION_KEYS decrypts this webhook secret"
        ) from exc
