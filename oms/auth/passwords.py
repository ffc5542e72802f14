"""bcrypt password hashing; the cost comes from ``OMS_BCRYPT_ROUNDS``."""

from __future__ import annotations

import bcrypt
from flask import current_app

# Compared against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(rounds=4))


def hash_password(password: str) -> str:
    rounds = current_app.config["OMS_BCRYPT_ROUNDS"]
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


def check_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        bcrypt.checkpw(password.encode(), _DUMMY_HASH)
        return False
    return bcrypt.checkpw(password.encode(), password_hash.encode())
