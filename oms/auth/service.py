"""Auth use cases: log in, register, create users, revoke sessions."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from oms import tasks
from oms.audit import service as audit
from oms.auth import resets
from oms.auth.emails import normalize_email
from oms.auth.enums import UserRole
from oms.auth.errors import CustomerHasLogin, OwnAccountProtected
from oms.auth.models import PasswordReset, RevokedToken, TokenPurpose, User
from oms.auth.passwords import check_password, hash_password
from oms.customers.errors import EmailTaken
from oms.customers.models import Customer
from oms.db import (
    after_commit,
    as_utc,
    insert_or_ignore,
    rowcount,
    transaction,
    transaction_local,
    utcnow,
)
from oms.errors import AuthenticationError, NotFoundError, ValidationError
from oms.extensions import db
from oms.outbox import service as outbox

MIN_PASSWORD_LENGTH = 8
log = logging.getLogger("oms.auth")
_session_listeners: list[Callable[[set[str]], None]] = []


def on_sessions_changed(listener: Callable[[set[str]], None]) -> None:
    """Call ``listener(user_ids)`` after every commit that ended sessions of these users or
    changed what they may see (logout, logout-all, a password change or reset, deactivation,
    a new role, a stolen refresh token): the Socket.IO processes re-check those users' open
    connections at once (``oms.realtime``), instead of at their next periodic check."""
    if listener not in _session_listeners:
        _session_listeners.append(listener)


def _sessions_changed(user_id: uuid.UUID | str) -> None:
    """In the current transaction: tell the listeners about ``user_id`` once it commits."""
    local = transaction_local()
    if "sessions_changed" not in local:
        users: set[str] = set()
        local["sessions_changed"] = users
        after_commit(lambda: _announce(users))
    local["sessions_changed"].add(str(user_id))


def _announce(user_ids: set[str]) -> None:
    for listener in list(_session_listeners):
        try:
            listener(user_ids)
        except Exception:  # the change is committed; the periodic re-check still catches it
            log.exception("announcing ended sessions failed")


def _check_password_policy(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            "The password is too short.",
            details={field: [f"Use at least {MIN_PASSWORD_LENGTH} characters."]},
        )


def get(*, user_id: uuid.UUID | str) -> User:
    """The user with this id, or NotFoundError."""
    try:
        key = uuid.UUID(str(user_id))
    except ValueError as exc:
        raise NotFoundError("No such user.") from exc
    user = db.session.get(User, key)
    if user is None:
        raise NotFoundError("No such user.")
    return user


def get_by_email(*, email: str) -> User | None:
    """The user with this email (compared normalised), or None."""
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def authenticate(*, email: str, password: str) -> User:
    """The active, confirmed user with these credentials, or AuthenticationError (the same
    for every cause: an unconfirmed registration fails like a wrong password, so logging in
    tells nobody which emails registered). Either way the attempt is in the audit log, with
    the email as typed (normalised)."""
    user = get_by_email(email=email)
    ok = check_password(password, user.password_hash if user else None)
    succeeded = ok and user is not None and user.is_active and user.email_confirmed_at is not None
    with transaction():
        audit.record(
            "login.succeeded" if succeeded else "login.failed",
            entity_type="user",
            entity_id=user.id if user else None,
            after={"email": normalize_email(email)},
            actor_id=user.id if succeeded and user else None,
            actor_email=user.email if succeeded and user else None,
        )
    if not succeeded or user is None:
        raise AuthenticationError("The email or password is incorrect.")
    return user


def _new_user(
    *,
    email: str,
    password_hash: str,
    role: UserRole,
    first_name: str,
    last_name: str,
    confirmed: bool = True,
) -> User:
    email = normalize_email(email)
    if get_by_email(email=email) is not None:
        raise EmailTaken(who="user")
    user = User(
        email=email,
        password_hash=password_hash,
        role=role,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email_confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.created",
        entity_type="user",
        entity_id=user.id,
        after=audit.snapshot(user, audit.USER_FIELDS),
    )
    return user


def create_user(
    *, email: str, password: str, role: UserRole, first_name: str = "", last_name: str = ""
) -> User:
    """Create a user of any role (CLI and admin use), confirmed: whoever creates it vouches
    for the address."""
    _check_password_policy(password)
    with transaction():
        user = _new_user(
            email=email,
            password_hash=hash_password(password),
            role=role,
            first_name=first_name,
            last_name=last_name,
        )
        if role == UserRole.CUSTOMER:
            _link_customer(user)
    return user


def register_customer(
    *,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    phone: str | None = None,
    address: dict | None = None,
) -> None:
    """Self-registration, answered the same whatever the email (the caller says "check your
    inbox"), with the same work in both paths (the password is hashed either way), so neither
    the answer nor its timing tells which emails are known.

    A new email gets an unconfirmed customer user and customer record and an emailed link
    (:func:`confirm_registration`); until it is followed, logging in fails like a wrong
    password. A known email (a user, confirmed or not, or a customer record staff made) gets
    an email saying someone tried to register with it (at most one per
    :data:`NOTICE_INTERVAL`; every attempt is audited), and nothing else changes: nothing
    proves the registrant owns the address, and a customer record's orders are never handed
    to a registration (an admin gives such a customer a login; a password reset confirms)."""
    _check_password_policy(password)
    password_hash = hash_password(password)
    email = normalize_email(email)

    def attempt() -> None:
        _register_once(
            email,
            password_hash,
            first_name=first_name,
            last_name=last_name,
            phone=phone,
            address=address,
        )

    try:
        attempt()
    except (sa.exc.IntegrityError, EmailTaken) as exc:
        if isinstance(exc, sa.exc.IntegrityError) and not any(
            name in str(exc.orig) for name in _EMAIL_CONSTRAINTS
        ):
            raise
        # a concurrent registration of this email won the race: now it is a known email
        attempt()


# the unique indexes a concurrent registration of the same email runs into
_EMAIL_CONSTRAINTS = ("uq_users_email", "uq_customers_email")


def _register_once(
    email: str,
    password_hash: str,
    *,
    first_name: str,
    last_name: str,
    phone: str | None,
    address: dict | None,
) -> None:
    """One try of :func:`register_customer`, in one transaction."""
    with transaction() as session:
        user = get_by_email(email=email)
        has_customer = session.scalar(sa.select(Customer.id).where(Customer.email == email))
        if user is not None or has_customer is not None:
            if not _noticed_lately(email):
                _email_token(
                    TokenPurpose.REGISTRATION_NOTICE,
                    user_id=None,
                    recipient=email,
                    minutes=current_app.config["OMS_EMAIL_CONFIRMATION_MINUTES"],
                )
            audit.record(
                "user.registration_attempted",
                entity_type="user",
                entity_id=user.id if user else None,
                after={"email": email},
            )
            return
        user = _new_user(
            email=email,
            password_hash=password_hash,
            role=UserRole.CUSTOMER,
            first_name=first_name,
            last_name=last_name,
            confirmed=False,
        )
        _link_customer(user, phone=phone, address=address)
        _email_token(
            TokenPurpose.EMAIL_CONFIRMATION,
            user_id=user.id,
            minutes=current_app.config["OMS_EMAIL_CONFIRMATION_MINUTES"],
        )


# A known address hears of registration attempts at most once in this time: registering a
# victim's address again and again (from any number of addresses) must not fill their inbox.
NOTICE_INTERVAL = timedelta(hours=1)


def _noticed_lately(email: str, purpose: str = TokenPurpose.REGISTRATION_NOTICE) -> bool:
    """Whether ``email`` was sent a notice of ``purpose`` within :data:`NOTICE_INTERVAL`."""
    return (
        db.session.scalar(
            sa.select(PasswordReset.id)
            .where(
                PasswordReset.recipient == email,
                PasswordReset.purpose == purpose,
                PasswordReset.created_at > utcnow() - NOTICE_INTERVAL,
            )
            .limit(1)
        )
        is not None
    )


def send_login_notice(*, user: User) -> None:
    """In the caller's transaction: tell the owner that their account is being guessed and
    logins from new devices wait (at most one such email per :data:`NOTICE_INTERVAL`)."""
    if _noticed_lately(user.email, TokenPurpose.LOGIN_NOTICE):
        return
    _email_token(
        TokenPurpose.LOGIN_NOTICE,
        user_id=None,
        recipient=user.email,
        minutes=current_app.config["OMS_EMAIL_CONFIRMATION_MINUTES"],
    )


def _email_token(
    purpose: str, *, user_id: uuid.UUID | None, minutes: int, recipient: str | None = None
) -> PasswordReset:
    """In the caller's transaction: a new account token of ``purpose`` for the user (older
    unused ones of that purpose are spent: only the newest link works), and the task that
    emails it (through the outbox)."""
    now = utcnow()
    if user_id is not None:
        db.session.execute(
            sa.update(PasswordReset)
            .where(
                PasswordReset.user_id == user_id,
                PasswordReset.purpose == purpose,
                PasswordReset.used_at.is_(None),
            )
            .values(used_at=now)
        )
    row = PasswordReset(
        user_id=user_id,
        purpose=purpose,
        recipient=recipient,
        expires_at=now + timedelta(minutes=minutes),
    )
    db.session.add(row)
    db.session.flush()
    outbox.enqueue(tasks.SEND_ACCOUNT_EMAIL, token_id=str(row.id))
    return row


def _spend_token(token: str, purpose: str, invalid: ValidationError) -> User:
    """In the caller's transaction: the active user a token of ``purpose`` names, its row
    marked used; ``invalid`` when it is forged, used, replaced or expired."""
    token_id = resets.token_id_of(token, purpose)
    if token_id is None:
        raise invalid
    row = db.session.get(PasswordReset, token_id, with_for_update=True)
    if (
        row is None
        or row.purpose != purpose
        or row.used_at is not None
        or as_utc(row.expires_at) <= utcnow()
    ):
        raise invalid
    user = get_active(user_id=row.user_id)
    if user is None:
        raise invalid
    row.used_at = utcnow()
    return user


def _confirm_email(user: User) -> None:
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        audit.record("user.email_confirmed", entity_type="user", entity_id=user.id)


def confirm_registration(*, token: str) -> User:
    """Activate a self-registered account with the emailed token (once, before it expires);
    the caller logs the user in."""
    invalid = ValidationError(
        "The confirmation link is invalid or has expired.",
        details={
            "token": [
                "This link is invalid, used or expired. Register again or reset your password."
            ]
        },
    )
    with transaction():
        user = _spend_token(token, TokenPurpose.EMAIL_CONFIRMATION, invalid)
        _confirm_email(user)
    db.session.refresh(user)
    return user


def _link_customer(
    user: User, *, phone: str | None = None, address: dict | None = None
) -> Customer:
    """Attach the user to the customer record with its email (staff may have created it
    before; only trusted callers get here with such an email), or create one."""
    customer = db.session.scalar(sa.select(Customer).where(Customer.email == user.email))
    if customer is not None and customer.user_id is not None:
        raise CustomerHasLogin()
    if customer is None:
        customer = Customer(
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            phone=phone,
            address=address,
        )
        db.session.add(customer)
    before = audit.snapshot(customer, audit.CUSTOMER_FIELDS) if customer.id else {}
    customer.user = user
    db.session.flush()
    audit.record_change(
        "customer.linked" if before else "customer.created",
        entity_type="customer",
        entity_id=customer.id,
        before=before,
        after=audit.snapshot(customer, audit.CUSTOMER_FIELDS),
    )
    return customer


def revoke(*, token_ids: list[str], expires_at: datetime, user_id: uuid.UUID | str) -> None:
    """Revoke token ids (a ``jti`` or a whole login ``sid``) of ``user_id`` until
    ``expires_at``."""
    with transaction() as session:
        session.execute(
            insert_or_ignore(RevokedToken)
            .values([{"jti": token_id, "expires_at": expires_at} for token_id in token_ids])
            .on_conflict_do_nothing()  # revoked already (by a concurrent request too)
        )
        _sessions_changed(user_id)


def spend_refresh_token(claims: dict) -> bool:
    """Rotation: a refresh token works once. Revoke its ``jti``; False when it was spent
    already (two uses at once: the loser's session ends, as for any reuse)."""
    with transaction() as session:
        spent = session.execute(
            insert_or_ignore(RevokedToken)
            .values(jti=claims["jti"], expires_at=token_expiry(claims["exp"]))
            .on_conflict_do_nothing()
        )
        if rowcount(spent) == 1:
            return True
    refresh_token_reused(claims)
    return False


def refresh_token_reused(claims: dict) -> None:
    """A refresh token was used again after it was spent (rotated): someone holds a copy of
    it. End its whole login session (every token issued with its ``sid``), whoever holds it;
    the owner logs in again."""
    sid = claims.get("sid")
    if not sid or revoked_among({sid}):
        return
    log.warning("a spent refresh token was used again: its session ends")
    revoke(
        token_ids=[sid],
        expires_at=token_expiry(claims["iat"]) + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"],
        user_id=claims["sub"],
    )


def token_ids(claims: dict) -> list[str]:
    """What revoking a token means for its claims: the token itself (``jti``) and, when it has
    one, its whole login session (``sid``, shared by the access and refresh tokens)."""
    return [claims["jti"]] + ([claims["sid"]] if claims.get("sid") else [])


def revoked_among(token_ids: set[str]) -> set[str]:
    """Which of ``token_ids`` are revoked (one query)."""
    if not token_ids:
        return set()
    return set(
        db.session.scalars(sa.select(RevokedToken.jti).where(RevokedToken.jti.in_(token_ids)))
    )


def access_of(user_ids: set) -> dict:
    """``{user id: (is_active, role, session_epoch)}`` for these users as committed now (one
    query); a user who is gone is missing."""
    rows = db.session.execute(
        sa.select(User.id, User.is_active, User.role, User.session_epoch).where(
            User.id.in_(user_ids)
        )
    )
    return {row.id: (row.is_active, row.role, row.session_epoch) for row in rows}


def get_active(*, user_id) -> User | None:
    """The user if they exist and are active (a login that may still act)."""
    user = db.session.get(User, user_id)
    return user if user is not None and user.is_active else None


def token_holder(claims: dict) -> tuple[User | None, bool]:
    """``(user, revoked)`` for a token's claims, in one query (it runs on every request): the
    user's customer record is joined in, so what the request does next (ownership, a
    customer's own orders) reads no second row.

    Revoked: the token or its login session was revoked, it was issued before its user last
    ended every session (its ``ep`` is older than ``session_epoch``), or it names no user. The
    user comes back as stored, active or not: the caller refuses an inactive one."""
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except (KeyError, ValueError):
        return None, True
    revoked = sa.exists().where(RevokedToken.jti.in_(token_ids(claims)))
    row = db.session.execute(
        sa.select(User, revoked).where(User.id == user_id).options(joinedload(User.customer))
    ).first()
    if row is None:
        return None, True
    user, is_revoked = row
    return user, bool(is_revoked) or claims.get("ep") != user.session_epoch


def purge_expired_revocations() -> int:
    """Forget revocations of tokens that have expired anyway; returns how many."""
    with transaction() as session:
        result = session.execute(sa.delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
    return rowcount(result)


def token_expiry(exp: int) -> datetime:
    """A token's ``exp`` claim as an aware datetime."""
    return datetime.fromtimestamp(exp, UTC)


def get_all(*, role: UserRole | None = None, q: str | None = None) -> sa.Select:
    """Users, optionally of one role or matching ``q`` in email or name (a query to page)."""
    query = sa.select(User)
    if role is not None:
        query = query.where(User.role == role)
    if q:
        pattern = f"%{q.strip().lower()}%"
        query = query.where(
            sa.or_(
                User.email.ilike(pattern),
                User.first_name.ilike(pattern),
                User.last_name.ilike(pattern),
            )
        )
    return query


def update(
    *,
    user_id: uuid.UUID | str,
    actor: User,
    role: UserRole | None = None,
    is_active: bool | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
) -> User:
    """Change a user's role, activity or name. Admins cannot demote or deactivate themselves,
    so the last admin can never lock everyone out."""
    with transaction():
        user = get(user_id=user_id)
        if user.id == actor.id and ((role is not None and role != user.role) or is_active is False):
            raise OwnAccountProtected()
        before = audit.snapshot(user, audit.USER_FIELDS)
        access_before = (user.role, user.is_active)
        if role is not None:
            user.role = role
        if is_active is not None:
            user.is_active = is_active
        if first_name is not None:
            user.first_name = first_name.strip()
        if last_name is not None:
            user.last_name = last_name.strip()
        if access_before != (user.role, user.is_active):
            _sessions_changed(user.id)  # what their open connections may hear changed
        audit.record_change(
            "user.updated",
            entity_type="user",
            entity_id=user.id,
            before=before,
            after=audit.snapshot(user, audit.USER_FIELDS),
        )
    return user


# -- sessions and passwords -------------------------------------------------------------------


def _end_every_session(user: User) -> None:
    """Refuse every token the user holds: each carries the epoch it was issued in."""
    user.session_epoch = User.session_epoch + 1
    _sessions_changed(user.id)


def end_every_session(*, user_id: uuid.UUID) -> User:
    """Log the user out everywhere (``POST /auth/logout-all``)."""
    with transaction():
        user = get(user_id=user_id)
        _end_every_session(user)
        audit.record("user.logged_out_everywhere", entity_type="user", entity_id=user.id)
    db.session.refresh(user)
    return user


def change_password(*, user_id: uuid.UUID, current_password: str, new_password: str) -> User:
    """Set a new password after checking the current one, and end every session; the caller
    hands the current session fresh tokens."""
    with transaction():
        user = get(user_id=user_id)
        if not check_password(current_password, user.password_hash):
            raise ValidationError(
                "The current password is incorrect.",
                details={"current_password": ["This is not your current password."]},
            )
        _set_password(user, new_password)
        audit.record("user.password_changed", entity_type="user", entity_id=user.id)
    db.session.refresh(user)
    return user


def _set_password(user: User, password: str) -> None:
    _check_password_policy(password, "new_password")
    user.password_hash = hash_password(password)
    _end_every_session(user)


def request_password_reset(*, email: str) -> None:
    """Email a reset link to the active user with this email; for any other email nothing
    happens, and the caller answers the same either way. A newer request replaces the older
    links (only the last one works)."""
    with transaction():
        user = get_by_email(email=email)
        if user is None or not user.is_active:
            return
        minutes = current_app.config["OMS_PASSWORD_RESET_MINUTES"]
        _email_token(TokenPurpose.PASSWORD_RESET, user_id=user.id, minutes=minutes)
        audit.record("user.password_reset_requested", entity_type="user", entity_id=user.id)


def confirm_password_reset(*, token: str, new_password: str) -> User:
    """Set the password named by a reset token once: the token must be signed, unused, not
    expired, and its user active. Ends every session of the user. The emailed link proves the
    address too, so an unconfirmed registration is confirmed by it."""
    invalid = ValidationError(
        "The reset link is invalid or has expired.",
        details={"token": ["This link is invalid, used or expired. Ask for a new one."]},
    )
    with transaction():
        user = _spend_token(token, TokenPurpose.PASSWORD_RESET, invalid)
        _set_password(user, new_password)
        _confirm_email(user)
        audit.record("user.password_reset", entity_type="user", entity_id=user.id, actor_id=user.id)
    db.session.refresh(user)
    return user
