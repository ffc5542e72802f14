"""JWT issuing and the flask-jwt-extended callbacks (user lookup, revocation, error envelope).

Every login gets a session id (``sid``) shared by its access and refresh tokens; logout
revokes the ``sid``, so the refresh token dies with the access token. A refresh token works
once: using it spends it (its ``jti`` is revoked) and hands out the next one in the same
session; a spent one used again ends the session (``service.refresh_token_reused``).
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from flask import Response, current_app, g, request
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    create_refresh_token,
    set_access_cookies,
    set_refresh_cookies,
)
from flask_jwt_extended.exceptions import JWTDecodeError

from oms.auth import service
from oms.auth.errors import HttpsRequired
from oms.auth.models import User
from oms.config import is_loopback_host
from oms.errors import error_response

# Claims every token of ours carries and the app relies on: expiry, user, kind, revocation
# ids (the token's and its login session's), the issue time (the session's revocation
# outlives the refresh token issued with it) and the user's session epoch (``ep``: logging
# out everywhere raises the user's epoch). A token lacking one is refused, even if signed
# with our key: PyJWT itself only checks ``exp`` when it is present.
REQUIRED_CLAIMS = ("exp", "iat", "sub", "type", "jti", "sid", "ep")


class MissingClaimError(JWTDecodeError):
    """A token without a claim of ``REQUIRED_CLAIMS`` (answered as an invalid token, 401)."""


def _require_claims(_header: dict, payload: dict) -> str:
    """flask-jwt-extended's decode key hook: it sees every token before its signature is
    checked (API, pages, Socket.IO), so the claims are demanded here, and the key returned."""
    missing = [claim for claim in REQUIRED_CLAIMS if payload.get(claim) in (None, "")]
    if missing:
        raise MissingClaimError("Missing claim: " + ", ".join(missing))
    return current_app.config["JWT_SECRET_KEY"]


def issue_tokens(user: User, *, sid: str | None = None) -> dict:
    """A new access and refresh token pair for ``user`` in login session ``sid``."""
    sid = sid or uuid.uuid4().hex
    claims = {"sid": sid, "role": user.role.value, "ep": user.session_epoch}
    return {
        "access_token": create_access_token(identity=str(user.id), additional_claims=claims),
        "refresh_token": create_refresh_token(identity=str(user.id), additional_claims=claims),
    }


def set_token_cookies(response: Response, tokens: dict) -> None:
    """Browsers keep the tokens in HttpOnly cookies; CSRF double-submit cookies come along."""
    set_access_cookies(response, tokens["access_token"])
    if "refresh_token" in tokens:
        set_refresh_cookies(response, tokens["refresh_token"])


def cookies_dropped_here() -> HttpsRequired | None:
    """The error a login here must answer with when the browser would drop its cookies:
    they are ``Secure`` (``OMS_COOKIE_SECURE``, on in production), this request came over
    plain HTTP, and its host is not loopback (browsers keep ``Secure`` cookies from
    ``http://127.0.0.1`` and ``http://localhost`` only)."""
    if not current_app.config["JWT_COOKIE_SECURE"] or request.is_secure:
        return None
    if is_loopback_host(request.host):
        return None
    return HttpsRequired(_https_address())


def _https_address() -> str:
    """Where the site is reached over HTTPS: ``OMS_PUBLIC_URL`` when it says so, else this
    host on the standard port."""
    public = current_app.config["OMS_PUBLIC_URL"]
    if public.startswith("https://"):
        return public
    try:
        name = urlsplit(f"//{request.host}").hostname or request.host
    except ValueError:  # an unbalanced "[" in a Host header
        name = request.host
    return f"https://[{name}]" if ":" in name else f"https://{name}"


def require_cookie_transport() -> None:
    """Refuse (403 ``https_required``) a request whose login cookies the browser would drop."""
    error = cookies_dropped_here()
    if error is not None:
        raise error


def register_jwt_callbacks(jwt: JWTManager) -> None:
    """Load the user of each token, refuse revoked ones or ones missing a required claim, and
    answer failures with the envelope."""

    jwt.decode_key_loader(_require_claims)

    @jwt.user_lookup_loader
    def _load_user(_header, payload):
        # the revocation check just read the user (flask-jwt-extended calls it first)
        user = g.pop("token_holder", None) or service.token_holder(payload)[0]
        if user is None or not user.is_active:
            return None
        g.current_user_id = user.id
        g.current_user_email = user.email  # the audit log keeps who it was, as they were then
        return user

    @jwt.token_in_blocklist_loader
    def _is_revoked(_header, payload) -> bool:
        user, revoked = service.token_holder(payload)
        g.token_holder = user
        spent = (
            revoked
            and payload.get("type") == "refresh"
            and user is not None
            and service.revoked_among({payload["jti"]})  # spent by a rotation: a stolen copy
        )
        if spent:
            service.refresh_token_reused(payload)
        return revoked

    def _unauthenticated(message: str):
        return error_response(401, "authentication_error", message)

    jwt.unauthorized_loader(lambda reason: _unauthenticated(f"Authentication required: {reason}"))
    jwt.invalid_token_loader(lambda reason: _unauthenticated(f"The token is invalid: {reason}"))
    jwt.expired_token_loader(lambda _h, _p: _unauthenticated("The token has expired."))
    jwt.revoked_token_loader(lambda _h, _p: _unauthenticated("The token has been revoked."))
    jwt.user_lookup_error_loader(
        lambda _h, _p: _unauthenticated("The account no longer exists or is inactive.")
    )
    jwt.needs_fresh_token_loader(lambda _h, _p: _unauthenticated("A fresh login is required."))
