"""bcrypt password hashing; the cost comes from ``OMS_BCRYPT_ROUNDS``.

bcrypt reads at most 72 bytes. A longer password (the API takes up to 200 characters, up to
800 bytes) is first reduced to a 51-byte ``sha256$<base64 digest>`` and that is hashed, so
every byte of it counts and none is silently cut; passwords of 72 bytes or fewer are hashed as
they are (so every existing hash still matches)."""

from __future__ import annotations

import base64
import functools
import hashlib

import bcrypt
from flask import current_app

MAX_PASSWORD_BYTES = 72


@functools.cache
def _dummy_hash(rounds: int) -> bytes:
    """Compared against when the email is unknown, at the real cost, so a wrong email takes as
    long as a wrong password."""
    return bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(rounds=rounds))


def _bcrypt_input(password: str) -> bytes:
    """What bcrypt hashes: the password's UTF-8, or its digest when that is over 72 bytes."""
    encoded = password.encode()
    if len(encoded) <= MAX_PASSWORD_BYTES:
        return encoded
    return b"sha256$" + base64.b64encode(hashlib.sha256(encoded).digest())


def hash_password(password: str) -> str:
    """A bcrypt hash of ``password`` (of any length: see the module docstring)."""
    rounds = current_app.config["OMS_BCRYPT_ROUNDS"]
    return bcrypt.hashpw(_bcrypt_input(password), bcrypt.gensalt(rounds=rounds)).decode()


def check_password(password: str, password_hash: str | None) -> bool:
    """Whether ``password`` matches; a missing hash costs as much time as a wrong password."""
    if password_hash is None:
        bcrypt.checkpw(
            _bcrypt_input(password), _dummy_hash(current_app.config["OMS_BCRYPT_ROUNDS"])
        )
        return False
    return bcrypt.checkpw(_bcrypt_input(password), password_hash.encode())
