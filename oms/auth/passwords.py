"""bcrypt password hashing; the cost comes from ``OMS_BCRYPT_ROUNDS``.

bcrypt reads at most 72 bytes: a longer password is refused when it is set, and can never
match when it is checked (rather than being silently cut)."""

from __future__ import annotations

import functools

import bcrypt
from flask import current_app

from oms.errors import ValidationError

MAX_PASSWORD_BYTES = 72


@functools.cache
def _dummy_hash(rounds: int) -> bytes:
    """Compared against when the email is unknown, at the real cost, so a wrong email takes as
    long as a wrong password."""
    return bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(rounds=rounds))


def hash_password(password: str) -> str:
    """A bcrypt hash of ``password`` (at most 72 bytes, bcrypt's limit)."""
    encoded = password.encode()
    if len(encoded) > MAX_PASSWORD_BYTES:
        raise ValidationError(
            "The password is too long.",
            details={"password": [f"Use at most {MAX_PASSWORD_BYTES} bytes."]},
        )
    rounds = current_app.config["OMS_BCRYPT_ROUNDS"]
    return bcrypt.hashpw(encoded, bcrypt.gensalt(rounds=rounds)).decode()


def check_password(password: str, password_hash: str | None) -> bool:
    """Whether ``password`` matches; a missing hash costs as much time as a wrong password."""
    encoded = password.encode()
    if password_hash is None or len(encoded) > MAX_PASSWORD_BYTES:
        bcrypt.checkpw(
            encoded[:MAX_PASSWORD_BYTES], _dummy_hash(current_app.config["OMS_BCRYPT_ROUNDS"])
        )
        return False
    return bcrypt.checkpw(encoded, password_hash.encode())
