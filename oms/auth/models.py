"""User accounts and revoked tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from oms.auth.enums import UserRole
from oms.db import CreatedAt, Timestamps, UUIDPrimaryKey, str_enum
from oms.orm import Model

user_role_enum = str_enum(UserRole, "user_role")


class User(UUIDPrimaryKey, Timestamps, Model):
    """Someone who logs in. ``is_active`` lets an admin switch an account off without losing
    the orders and history rows that point at it (an addition to the design document)."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(sa.String(255), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    first_name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    last_name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    role: Mapped[UserRole] = mapped_column(user_role_enum, nullable=False)
    is_active: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=True, server_default=sa.true()
    )
    # Every token carries the epoch it was issued in (claim ``ep``); raising it (log out
    # everywhere, a changed or reset password) refuses every token issued before at once.
    session_epoch: Mapped[int] = mapped_column(
        sa.Integer, nullable=False, default=0, server_default="0"
    )
    # When the owner of the email proved it (the link of a self-registration, or a password
    # reset). None: self-registered and not confirmed yet, so logging in fails like a wrong
    # password. Users made by an admin or the CLI are confirmed when made.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    # The customer record of a customer user (None for staff and admins).
    customer = relationship("Customer", uselist=False, viewonly=True, lazy="selectin")

    @property
    def full_name(self) -> str:
        """First and last name, as shown on pages."""
        return f"{self.first_name} {self.last_name}".strip()


class RevokedToken(Model):
    """A revoked token id (``jti``) or login session id (``sid``), kept until it would expire."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, index=True
    )


class TokenPurpose:
    """What an emailed account token is for (``password_resets.purpose``); also the first part
    of its ``notifications`` key and of the message its token signature covers."""

    PASSWORD_RESET = "password-reset"  # noqa: S105 (a purpose, not a secret)
    EMAIL_CONFIRMATION = "email-confirmation"
    # "someone tried to register with your address": no usable token, only the email
    REGISTRATION_NOTICE = "registration-notice"
    # "someone is guessing your password; logins from new devices wait": only the email
    LOGIN_NOTICE = "login-notice"

    ALL = (PASSWORD_RESET, EMAIL_CONFIRMATION, REGISTRATION_NOTICE, LOGIN_NOTICE)


class PasswordReset(UUIDPrimaryKey, CreatedAt, Model):
    """An account email sent through the notifications worker: a password reset, the
    confirmation of a self-registration, or the notice that someone tried to register with a
    known address (``purpose``). A token is the row's id and an HMAC of purpose and id under
    the app's secret key (``oms.auth.resets``): nothing stored here rebuilds one. ``used_at``
    is set when it was used or replaced by a newer one (single use). A notice has no user
    when the address belongs to a customer record without a login: ``recipient`` says where
    it goes."""

    __tablename__ = "password_resets"

    user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(
        sa.String(30),
        nullable=False,
        default=TokenPurpose.PASSWORD_RESET,
        server_default=TokenPurpose.PASSWORD_RESET,
    )
    recipient: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
