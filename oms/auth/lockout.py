"""Login throttling that keeps guessing expensive without letting anyone lock a person out.

Failed logins (a 401) are counted in three budgets; refused and successful attempts are not:

- **A known device** (a browser or client that logged in to this account before: it holds
  the signed ``oms_login_device`` cookie, :data:`DEVICE_COOKIE`) has a budget of its own
  (``OMS_RATELIMIT_LOGIN_DEVICE``) and nothing else applies to it: whatever others guess,
  from wherever, the owner's own browser logs in.
- **Every other attempt** counts against its account (``OMS_RATELIMIT_LOGIN_ACCOUNT``, tiers,
  from any address) and against its address (``OMS_RATELIMIT_LOGIN_ADDRESS``), which counts
  the *accounts* failed from it (each account once per window), not the failures: a colleague
  who mistypes their own password does not lock the office, a sprayer trying many accounts
  is stopped. While a budget is spent, attempts it covers are refused (429), the right
  password too.
- When an account's lock begins, its owner is emailed (at most once an hour) and the lock is
  written to the audit log (``login.locked``), where admins see it (:func:`get_all`) and may
  lift it (:func:`lift`).

The counters live in the rate limiter's storage (Flask-Limiter's ``limits`` strategy, Redis in
a deployment). The limiter fails open, and so does this: a storage error is logged and the
attempt is let through to the password check.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItem, RateLimitItemPerSecond, parse_many

from oms.audit import service as audit
from oms.audit.models import AuditEntry
from oms.auth import service
from oms.auth.emails import normalize_email
from oms.db import transaction
from oms.errors import NotFoundError, OMSError
from oms.extensions import db, limiter
from oms.limits import wait_in_words

log = logging.getLogger("oms.auth.lockout")

DEVICE_COOKIE = "oms_login_device"
DEVICE_COOKIE_PATH = "/api/v1/auth/login"  # sent with login attempts only
_DEVICE_SALT = "oms.login-device"
_DEVICE_ACCOUNTS = 5  # the accounts one device remembers (a shared till, say)

ACCOUNT = "account"
ADDRESS = "address"
KINDS = (ACCOUNT, ADDRESS)
_SETTINGS = {
    ACCOUNT: "OMS_RATELIMIT_LOGIN_ACCOUNT",
    ADDRESS: "OMS_RATELIMIT_LOGIN_ADDRESS",
    "device": "OMS_RATELIMIT_LOGIN_DEVICE",
}


class LoginLocked(OMSError):
    """Too many failed logins for this account, address or device: wait and retry."""

    status = 429
    code = "rate_limited"

    def __init__(self, seconds: int):
        super().__init__(f"Too many attempts. Try again in {wait_in_words(seconds)}.")
        self.retry_after = seconds


@dataclass(frozen=True)
class Attempt:
    """One login attempt: the account it names, where it comes from, and the id of the
    device it comes from when that device logged in to this account before."""

    email: str
    address: str
    device_id: str | None

    @property
    def budgets(self) -> list[tuple[str, tuple[str, ...]]]:
        """The budgets this attempt counts against: (setting kind, identifiers)."""
        if self.device_id is not None:
            return [("device", ("login-device", self.device_id, self.email))]
        return [
            (ACCOUNT, _identifiers(ACCOUNT, self.email)),
            (ADDRESS, _identifiers(ADDRESS, self.address)),
        ]


def _identifiers(kind: str, key: str) -> tuple[str, ...]:
    return (f"login-{kind}", key)


def _items(kind: str) -> list[RateLimitItem]:
    return parse_many(current_app.config[_SETTINGS[kind]])


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_DEVICE_SALT)


def _device(cookie: str | None) -> dict | None:
    """The device a cookie of ours names ({"d": id, "e": [emails]}), or None."""
    if not cookie:
        return None
    max_age = current_app.config["OMS_LOGIN_DEVICE_DAYS"] * 86400
    try:
        device = _serializer().loads(cookie, max_age=max_age)
    except BadSignature:
        return None
    if not isinstance(device, dict) or not isinstance(device.get("e"), list):
        return None
    return device


def attempt(*, email: str, address: str, device_cookie: str | None) -> Attempt:
    """The attempt to log in to ``email`` from ``address`` with this device cookie."""
    email = normalize_email(email)
    device = _device(device_cookie)
    device_id = device["d"] if device is not None and email in device["e"] else None
    return Attempt(email=email, address=address, device_id=device_id)


def device_cookie(attempt: Attempt, previous_cookie: str | None) -> str:
    """The device cookie to set after a successful login: this device now knows the account
    (the most recent :data:`_DEVICE_ACCOUNTS` accounts are remembered)."""
    device = _device(previous_cookie) or {"d": secrets.token_urlsafe(16), "e": []}
    emails = [attempt.email] + [e for e in device["e"] if e != attempt.email]
    return _serializer().dumps({"d": device["d"], "e": emails[:_DEVICE_ACCOUNTS]})


def _spent_for(kind: str, identifiers: tuple[str, ...]) -> int | None:
    """Seconds until the budget frees up, or None while it has room."""
    strategy = limiter.limiter
    waits = []
    for item in _items(kind):
        if not strategy.test(item, *identifiers):
            reset_at = strategy.get_window_stats(item, *identifiers).reset_time
            waits.append(max(1, int(reset_at - time.time()) + 1))
    return max(waits) if waits else None


def check(attempt: Attempt) -> None:
    """Refuse the attempt (LoginLocked) while a budget it counts against is spent."""
    try:
        waits = [_spent_for(kind, ids) for kind, ids in attempt.budgets]
    except Exception:  # the limiter's storage is unreachable: fail open, as the limiter does
        log.warning("login throttle storage unavailable", exc_info=True)
        return
    spent = [wait for wait in waits if wait is not None]
    if spent:
        log.warning(
            "login throttled",
            extra={"email": attempt.email, "remote_addr": attempt.address},
        )
        raise LoginLocked(max(spent))


def _address_counts(attempt: Attempt) -> bool:
    """Whether this failure is the first on its account from its address in the address
    budget's longest window (the address counts accounts, not failures)."""
    window = max(item.get_expiry() for item in _items(ADDRESS))
    once = RateLimitItemPerSecond(1, window)
    return limiter.limiter.hit(once, "login-address-account", attempt.address, attempt.email)


def failed(attempt: Attempt) -> None:
    """Count a failed login (a wrong password, an unknown or inactive account); when this
    failure starts an account's or an address's lock, record it and tell the owner."""
    strategy = limiter.limiter
    started = []
    try:
        for kind, identifiers in attempt.budgets:
            if kind == ADDRESS and not _address_counts(attempt):
                continue
            for item in _items(kind):
                strategy.hit(item, *identifiers)
            if kind in KINDS:
                wait = _spent_for(kind, identifiers)
                if wait is not None:
                    started.append((kind, identifiers[1], wait))
    except Exception:
        log.warning("login throttle storage unavailable", exc_info=True)
        return
    for kind, key, wait in started:
        _record_lock(kind, key, wait)


def _record_lock(kind: str, key: str, seconds: int) -> None:
    user = service.get_by_email(email=key) if kind == ACCOUNT else None
    until = datetime.now(UTC) + timedelta(seconds=seconds)
    with transaction():
        audit.record(
            "login.locked",
            entity_type="login_lock",
            entity_id=user.id if user else None,
            after={"kind": kind, "key": key, "until": until.isoformat(timespec="seconds")},
        )
        if user is not None:
            service.send_login_notice(user=user)
    log.warning("login locked", extra={"kind": kind, "key": key, "seconds": seconds})


@dataclass(frozen=True)
class Lock:
    """A lock in force: an account or an address, since when and until when."""

    kind: str
    key: str
    locked_at: datetime
    locked_until: datetime


def _longest_window() -> int:
    return max(item.get_expiry() for kind in KINDS for item in _items(kind))


def get_all() -> list[Lock]:
    """Locks in force now, newest first: the ``login.locked`` entries of the longest window
    whose budget is still spent."""
    since = datetime.now(UTC) - timedelta(seconds=_longest_window())
    entries = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.action == "login.locked", AuditEntry.at >= since)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    )
    locks: dict[tuple[str, str], Lock] = {}
    for entry in entries:
        after = entry.after or {}
        kind, key = after.get("kind"), after.get("key")
        if kind not in KINDS or not isinstance(key, str) or (kind, key) in locks:
            continue
        wait = _spent_for(kind, _identifiers(kind, key))
        if wait is not None:
            until = datetime.now(UTC) + timedelta(seconds=wait)
            locks[(kind, key)] = Lock(kind=kind, key=key, locked_at=entry.at, locked_until=until)
    return list(locks.values())


def lift(*, kind: str, key: str) -> None:
    """End a lock now (an admin's decision, audited): its counters start again from zero."""
    if kind not in KINDS:
        raise NotFoundError("No such lock.")
    key = normalize_email(key) if kind == ACCOUNT else key
    identifiers = _identifiers(kind, key)
    if _spent_for(kind, identifiers) is None:
        raise NotFoundError("No such lock.")
    for item in _items(kind):
        limiter.limiter.clear(item, *identifiers)
    user = service.get_by_email(email=key) if kind == ACCOUNT else None
    with transaction():
        audit.record(
            "login.unlocked",
            entity_type="login_lock",
            entity_id=user.id if user else None,
            after={"kind": kind, "key": key},
        )
