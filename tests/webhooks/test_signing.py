"""Signatures a Standard Webhooks library accepts, for new secrets and those made before."""

from __future__ import annotations

import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from oms.webhooks import signing
from oms.webhooks.service import Claim, headers_for

BODY = b'{"id":"9b2f","type":"order.created"}'


def _headers(secret: str) -> dict[str, str]:
    claim = Claim(1, 1, 1, "https://hooks.example.com/", secret, "9b2f", "order.created", BODY)
    return headers_for(claim, secret, int(time.time()))


def test_a_new_secret_is_standard_base64_of_32_bytes():
    secret = signing.new_secret()
    assert secret.startswith("whsec_") and len(signing.signing_key(secret)) == 32
    assert Webhook(secret).verify(BODY, _headers(secret)) == {"id": "9b2f", "type": "order.created"}
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(BODY, _headers(secret))


def test_a_secret_made_before_is_its_url_safe_bytes():
    """Secrets made before this release are URL-safe base64 without padding: the same key in
    the standard alphabet verifies (the README's one-line conversion)."""
    legacy = "whsec_q3Ru-2b7_xVn0f8Zk1pLhQmYc4sWtE9aJrUoDgBiNvM"
    headers = _headers(legacy)
    standard = "whsec_" + legacy[6:].replace("-", "+").replace("_", "/")
    assert Webhook(standard).verify(BODY, headers)
    assert headers["X-OMS-Signature"] == signing.sign_legacy(
        legacy, int(headers["X-OMS-Timestamp"]), BODY
    )
