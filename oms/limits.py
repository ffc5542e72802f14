"""Every rate limit of the application: who is counted, how much, and the 429 a person reads.

- Every request counts against one budget for the whole application: a logged-in user's own,
  by role (``OMS_RATELIMIT_CUSTOMER``, ``_STAFF``, ``_ADMIN``), or, without a valid token, its
  address's (``OMS_RATELIMIT_ANONYMOUS``). Thirty staff behind one office address have thirty
  budgets, not one.
- Login counts *failed* attempts only, per known device, account and address: the login
  throttle is :mod:`oms.auth.lockout` (its settings are named here, with the others).
- Registration has its own limit per address, counting every attempt.
- A 429 says how long to wait, in words ("Too many attempts. Try again in 40 seconds.") and in
  ``Retry-After``; oms.errors renders it in the one envelope.
- The limiter fails open: when its storage (Redis) is unreachable it counts in memory, and says
  so in the log (``RATELIMIT_IN_MEMORY_FALLBACK_ENABLED``, ``RATELIMIT_SWALLOW_ERRORS``).

Flask-Limiter does the counting; this module only gives it the keys, the limits and the words.
``oms.extensions`` builds the unbound ``limiter`` from :data:`APPLICATION_LIMIT`; the auth API
decorates register and the password routes with :data:`REGISTRATION`, :data:`PASSWORD_RESET`
and :data:`PASSWORD_CHANGE`.

Key functions and limit providers must never raise: Flask-Limiter takes any error while it
checks a request for a storage failure.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from flask import current_app, request
from flask.wrappers import Response
from flask_jwt_extended import decode_token
from flask_limiter import ApplicationLimit, RequestLimit
from flask_limiter.util import get_remote_address

log = logging.getLogger("oms.limits")

# The config keys of the limits (oms.config reads them from the environment of the same name).
ROLE_SETTINGS = {
    "customer": "OMS_RATELIMIT_CUSTOMER",
    "staff": "OMS_RATELIMIT_STAFF",
    "admin": "OMS_RATELIMIT_ADMIN",
}
ANONYMOUS_SETTING = "OMS_RATELIMIT_ANONYMOUS"
LOGIN_ACCOUNT_SETTING = "OMS_RATELIMIT_LOGIN_ACCOUNT"
LOGIN_ADDRESS_SETTING = "OMS_RATELIMIT_LOGIN_ADDRESS"
LOGIN_DEVICE_SETTING = "OMS_RATELIMIT_LOGIN_DEVICE"
REGISTER_SETTING = "OMS_RATELIMIT_REGISTER"
PASSWORD_RESET_SETTING = "OMS_RATELIMIT_PASSWORD_RESET"  # noqa: S105 (a setting name)
SETTINGS = (
    ANONYMOUS_SETTING,
    *ROLE_SETTINGS.values(),
    LOGIN_ACCOUNT_SETTING,
    LOGIN_ADDRESS_SETTING,
    LOGIN_DEVICE_SETTING,
    REGISTER_SETTING,
    PASSWORD_RESET_SETTING,
)

_IDENTITY = "oms.limits.identity"  # request.environ keys: per request, never per app context
_RETRY_AFTER = "oms.limits.retry_after"


@dataclass(frozen=True)
class _Identity:
    user_id: str
    role: str | None


# -- who is counted -------------------------------------------------------------------------


def _presented_tokens() -> list[str]:
    """The JWTs the request carries: the header's, then the access and refresh cookies."""
    config = current_app.config
    tokens = []
    header = request.headers.get(config.get("JWT_HEADER_NAME", "Authorization"), "")
    kind = config.get("JWT_HEADER_TYPE", "Bearer")
    if kind and header.startswith(f"{kind} "):
        tokens.append(header[len(kind) + 1 :].strip())
    elif not kind and header:
        tokens.append(header.strip())
    for name in (
        config.get("JWT_ACCESS_COOKIE_NAME", "access_token_cookie"),
        config.get("JWT_REFRESH_COOKIE_NAME", "refresh_token_cookie"),
    ):
        if request.cookies.get(name):
            tokens.append(request.cookies[name])
    return tokens


def _identity() -> _Identity | None:
    """The user a request's token names, or None. The token's signature is checked, not its
    revocation or expiry (no database query here): only this app can sign a token, so a
    token's user is who is counted, whether or not the view will accept that token."""
    if _IDENTITY in request.environ:
        return request.environ[_IDENTITY]
    identity = None
    for token in _presented_tokens():
        try:
            claims = decode_token(token, allow_expired=True)
        except Exception:  # noqa: S112 (any token we did not sign counts as none)
            continue
        if claims.get("sub"):
            identity = _Identity(user_id=str(claims["sub"]), role=claims.get("role"))
            break
    request.environ[_IDENTITY] = identity
    return identity


def address_key() -> str:
    """The client address (``request.remote_addr``)."""
    return f"address:{get_remote_address()}"


def request_key() -> str:
    """The user of the request's token, else its address."""
    identity = _identity()
    return f"user:{identity.user_id}" if identity else address_key()


def request_limit() -> str:
    """The budget of the request's user by role, else the anonymous budget of its address."""
    identity = _identity()
    if identity is None:
        return current_app.config[ANONYMOUS_SETTING]
    # A token without a known role gets the lowest budget of a logged-in user.
    setting = ROLE_SETTINGS.get(identity.role or "", ROLE_SETTINGS["customer"])
    return current_app.config[setting]


# -- what a person reads ---------------------------------------------------------------------


def on_breach(limit: RequestLimit) -> None:
    """The limiter's ``on_breach``, for every breached limit: remember its wait. Flask-Limiter
    puts the last breached limit's wait in ``Retry-After``, so the message says the same."""
    request.environ[_RETRY_AFTER] = max(1, int(limit.reset_at - time.time()))


def retry_after() -> int | None:
    """Seconds until the breached limit of this request frees up (None: none was breached)."""
    return request.environ.get(_RETRY_AFTER)


def wait_in_words(seconds: int) -> str:
    """ "40 seconds", "15 minutes": how a person reads a wait."""
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{-(-seconds // 60)} minutes"


def _wait_in_words() -> str:
    return wait_in_words(request.environ.get(_RETRY_AFTER, 60))


def too_many_requests() -> str:
    """The 429 message for a spent request budget, with the wait in words."""
    return f"Too many requests. Try again in {_wait_in_words()}."


def too_many_attempts() -> str:
    """The 429 message for spent login or registration attempts, with the wait in words."""
    return f"Too many attempts. Try again in {_wait_in_words()}."


# -- the limits ------------------------------------------------------------------------------

#: One budget per user (by role) or per anonymous address, shared by every route that is not
#: ``@limiter.exempt``.
APPLICATION_LIMIT = ApplicationLimit(
    limit_provider=request_limit,
    key_function=request_key,
    error_message=too_many_requests,
)

#: ``limiter.limit(**REGISTRATION)``: every registration attempt per address.
REGISTRATION: dict[str, Any] = {
    "limit_value": lambda: current_app.config[REGISTER_SETTING],
    "key_func": address_key,
    "error_message": too_many_attempts,
}


class _ToOmsLog(logging.Handler):
    """Hands Flask-Limiter's records (the storage-unreachable warning among them) to the
    ``oms`` log, at the level that log is set to."""

    def emit(self, record: logging.LogRecord) -> None:
        target = logging.getLogger("oms.limits")
        if target.isEnabledFor(record.levelno):
            target.handle(record)


def _forward_limiter_log() -> None:
    limiter_log = logging.getLogger("flask-limiter")
    if not any(isinstance(h, _ToOmsLog) for h in limiter_log.handlers):
        limiter_log.addHandler(_ToOmsLog())
        limiter_log.setLevel(logging.INFO)  # the oms level decides (_ToOmsLog)
        limiter_log.propagate = False  # once, in the oms log


_forward_limiter_log()


#: ``limiter.limit(**PASSWORD_RESET)``: reset requests, reset confirmations and registration
#: confirmations per address (each one may send an email or guess at a token).
PASSWORD_RESET: dict[str, Any] = {
    "limit_value": lambda: current_app.config[PASSWORD_RESET_SETTING],
    "key_func": address_key,
    "error_message": too_many_attempts,
}


def _password_change_failed(response: Response) -> bool:
    return response.status_code == 422


#: ``limiter.limit(**PASSWORD_CHANGE)``: failed password changes (a wrong current password)
#: per user, with the login limits of an account: a borrowed session cannot guess the password.
PASSWORD_CHANGE: dict[str, Any] = {
    "limit_value": lambda: current_app.config[LOGIN_ACCOUNT_SETTING],
    "key_func": lambda: f"password-change:{request_key()}",
    "deduct_when": _password_change_failed,
    "error_message": too_many_attempts,
}
