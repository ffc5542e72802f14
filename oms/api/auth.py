"""``/api/v1/auth``: login, logout, refresh, me, register, passwords."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_jwt_extended import current_user, get_jwt, unset_jwt_cookies

from oms import limits
from oms.auth import lockout, service
from oms.auth.access import require_role
from oms.auth.enums import UserRole
from oms.auth.schemas import (
    LoginLockListSchema,
    LoginSchema,
    MessageSchema,
    PasswordChangeSchema,
    PasswordResetConfirmSchema,
    PasswordResetRequestSchema,
    RefreshedTokensSchema,
    RegisterConfirmSchema,
    RegisterSchema,
    TokensSchema,
    UserSchema,
)
from oms.auth.tokens import issue_tokens, require_cookie_transport, set_token_cookies
from oms.errors import AuthenticationError
from oms.extensions import limiter
from oms.openapi import Blueprint

blp = Blueprint("auth", __name__, description="Log in, log out, refresh tokens, register")


def _tokens_response(user, status: int):
    """Tokens in the body for API clients and in HttpOnly cookies for browsers."""
    tokens = issue_tokens(user)
    response = jsonify(TokensSchema().dump({**tokens, "user": user}))
    response.status_code = status
    set_token_cookies(response, tokens)
    return response


HTTPS_REQUIRED = (
    "`https_required`: asked over plain HTTP at a host other than loopback while the login "
    "cookies are `Secure` (production): the browser would drop them. Open the site over HTTPS."
)


@blp.route("/login", methods=["POST"])
@blp.arguments(
    LoginSchema, example={"email": "customer@example.com", "password": "customer-pass-123"}
)
@blp.response(200, TokensSchema)
@blp.alt_response(401, description="The email or password is incorrect, or the account is off")
@blp.alt_response(403, description=HTTPS_REQUIRED)
def login(body):
    """Exchange email and password for tokens (also set as HttpOnly cookies for browsers).

    Failed attempts are limited (oms.auth.lockout): a device that logged in to the account
    before (its ``oms_login_device`` cookie) by its own failures only; any other attempt by
    the account's and the address's. While a budget is spent, the attempts it covers get 429
    with ``Retry-After``, the right password too."""
    require_cookie_transport()
    cookie = request.cookies.get(lockout.DEVICE_COOKIE)
    attempt = lockout.attempt(
        email=body["email"], address=request.remote_addr or "", device_cookie=cookie
    )
    lockout.check(attempt)
    try:
        user = service.authenticate(email=body["email"], password=body["password"])
    except AuthenticationError:
        lockout.failed(attempt)
        raise
    response = _tokens_response(user, 200)
    response.set_cookie(
        lockout.DEVICE_COOKIE,
        lockout.device_cookie(attempt, cookie),
        max_age=current_app.config["OMS_LOGIN_DEVICE_DAYS"] * 86400,
        path=lockout.DEVICE_COOKIE_PATH,
        secure=current_app.config["JWT_COOKIE_SECURE"],
        httponly=True,
        samesite="Strict",
    )
    return response


@blp.route("/locks", methods=["GET"])
@require_role(UserRole.ADMIN)
@blp.response(200, LoginLockListSchema)
def list_login_locks():
    """Login locks in force (admins): accounts and addresses whose failed logins spent their
    budget, until when. Devices that logged in to an account before are not held by them."""
    return {"items": lockout.get_all()}


@blp.route("/locks/<kind>/<key>", methods=["DELETE"])
@require_role(UserRole.ADMIN)
@blp.response(204)
@blp.alt_response(404, description="No such lock in force")
def lift_login_lock(kind, key):
    """Lift a login lock now (admins; audited as ``login.unlocked``): ``kind`` is ``account``
    (``key`` the email) or ``address`` (``key`` the client address)."""
    lockout.lift(kind=kind, key=key)


REGISTER_SENT = (
    "Check your inbox: we have sent a message to that address. To activate a new account, "
    "open the link in it within {hours} hours."
)


@blp.route("/register", methods=["POST"])
@limiter.limit(**limits.REGISTRATION)
@blp.arguments(
    RegisterSchema,
    example={
        "email": "ada@example.com",
        "password": "a-long-passphrase",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "address": {"line1": "1 Main St", "city": "Oslo", "postal_code": "0150", "country": "NO"},
    },
)
@blp.response(202, MessageSchema)
def register(body):
    """Register a customer account; it works once the emailed link is followed
    (``/register/confirm``).

    The answer is the same for a new and a known email: a new one gets the confirmation link,
    a known one an email saying someone tried to register with it. Invalid input (a short
    password, a bad address) is a 422 either way."""
    service.register_customer(**body)
    hours = max(1, current_app.config["OMS_EMAIL_CONFIRMATION_MINUTES"] // 60)
    response = jsonify({"message": REGISTER_SENT.format(hours=hours)})
    response.status_code = 202
    return response


@blp.route("/register/confirm", methods=["POST"])
@limiter.limit(**limits.PASSWORD_RESET)
@blp.arguments(RegisterConfirmSchema)
@blp.response(200, TokensSchema)
@blp.alt_response(403, description=HTTPS_REQUIRED)
def confirm_registration(body):
    """Activate the account with the emailed token (once, within
    ``OMS_EMAIL_CONFIRMATION_MINUTES``) and log it in. A bad, used or expired token is a 422
    on ``token``."""
    require_cookie_transport()
    user = service.confirm_registration(token=body["token"])
    return _tokens_response(user, 200)


@blp.route("/logout", methods=["POST"])
@require_role()
@blp.response(200, MessageSchema)
def logout():
    """Revoke this login session: the access token and its refresh token stop working."""
    claims = get_jwt()
    ids = service.token_ids(claims)
    refresh_lifetime = current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    # The sid must outlive the longest token of the session: the refresh token.
    expires = service.token_expiry(claims["iat"]) + refresh_lifetime
    service.revoke(token_ids=ids, expires_at=expires, user_id=current_user.id)
    response = jsonify({"message": "Logged out."})
    unset_jwt_cookies(response)
    return response


@blp.route("/refresh", methods=["POST"])
@require_role(refresh=True)
@blp.response(200, RefreshedTokensSchema)
@blp.alt_response(401, description="The refresh token is invalid, expired, revoked or spent")
def refresh():
    """A new access token and a new refresh token, in the same login session.

    A refresh token works once (rotation): the one sent is spent, and the answer carries the
    one to use next (also in the cookies). Using a spent one again means a copy of it is in
    someone else's hands: the whole login session ends (401), every token of it with it."""
    claims = get_jwt()
    if not service.spend_refresh_token(claims):
        raise AuthenticationError("The refresh token was already used; log in again.")
    tokens = issue_tokens(current_user, sid=claims.get("sid"))
    response = jsonify(RefreshedTokensSchema().dump(tokens))
    set_token_cookies(response, tokens)
    return response


@blp.route("/me", methods=["GET"])
@require_role()
@blp.response(200, UserSchema)
def me():
    """The logged-in user."""
    return current_user


@blp.route("/logout-all", methods=["POST"])
@require_role()
@blp.response(200, MessageSchema)
def logout_all():
    """End every login session of this user, this one included, on every device."""
    service.end_every_session(user_id=current_user.id)
    response = jsonify({"message": "Logged out everywhere."})
    unset_jwt_cookies(response)
    return response


@blp.route("/password", methods=["POST"])
@require_role()
@limiter.limit(**limits.PASSWORD_CHANGE)
@blp.arguments(PasswordChangeSchema)
@blp.response(200, TokensSchema)
def change_password(body):
    """Change the password (the current one is required). Every other session ends; this one
    gets fresh tokens (in the body and the cookies), since its old ones end too."""
    user = service.change_password(
        user_id=current_user.id,
        current_password=body["current_password"],
        new_password=body["new_password"],
    )
    return _tokens_response(user, 200)


RESET_SENT = (
    "If an account exists for that email, we have sent it a link to choose a new password. "
    "The link works once, within {minutes} minutes."
)


@blp.route("/password-reset", methods=["POST"])
@limiter.limit(**limits.PASSWORD_RESET)
@blp.arguments(PasswordResetRequestSchema)
@blp.response(202, MessageSchema)
def request_password_reset(body):
    """Email a single-use, expiring reset link. The answer is the same whether or not the
    email has an account, so nobody learns which emails do."""
    service.request_password_reset(email=body["email"])
    minutes = current_app.config["OMS_PASSWORD_RESET_MINUTES"]
    response = jsonify({"message": RESET_SENT.format(minutes=minutes)})
    response.status_code = 202
    return response


@blp.route("/password-reset/confirm", methods=["POST"])
@limiter.limit(**limits.PASSWORD_RESET)
@blp.arguments(PasswordResetConfirmSchema)
@blp.response(200, MessageSchema)
def confirm_password_reset(body):
    """Set a new password with the emailed token (once); every session of the user ends."""
    service.confirm_password_reset(token=body["token"], new_password=body["new_password"])
    return jsonify({"message": "Your password is changed. Log in with the new one."})
