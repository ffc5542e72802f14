"""Secrets and signatures of webhook deliveries.

The signature is ``v1=`` and the hex HMAC-SHA256, keyed with the endpoint's secret, of
``<timestamp>.<body>`` (the ``X-OMS-Timestamp`` header, a dot, the raw request body). A receiver
recomputes it, compares in constant time and refuses a timestamp older than a few minutes
(a replay); the README shows how.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_VERSION = "v1"


def new_secret() -> str:
    """A fresh endpoint secret (shown to the admin once)."""
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-OMS-Signature`` value of ``body`` sent at ``timestamp`` (Unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={digest.hexdigest()}"


def verify(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is ours for this body and timestamp (constant-time)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
