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


class PasswordReset(UUIDPrimaryKey, CreatedAt, Model):
    """A password reset a user asked for. The emailed token is the row's id and an HMAC of it
    under the app's secret key (``oms.auth.resets``): nothing stored here rebuilds a token.
    ``used_at`` is set when it was used or replaced by a newer one (single use)."""

    __tablename__ = "password_resets"

    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
