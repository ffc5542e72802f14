"""A record per notification, so each one is sent once however often its task runs."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from oms.db import CreatedAt, UUIDPrimaryKey
from oms.orm import Model


class Notification(UUIDPrimaryKey, CreatedAt, Model):
    """One message to a customer; ``dedupe_key`` names what it is about
    (``order-status:<order id>:<status>``), and ``sent_at`` is set once it left.

    The row is written with the change it tells of; ``claimed_until`` is the lease of the task
    sending it (no other copy sends while it holds), ``last_attempt_at`` lets the beat sweep
    find a notification whose task was lost (killed worker, Redis restarted empty)."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index(
            "ix_notifications_unsent",
            "created_at",
            postgresql_where=sa.text("sent_at IS NULL"),
            sqlite_where=sa.text("sent_at IS NULL"),
        ),
    )

    dedupe_key: Mapped[str] = mapped_column(sa.String(200), unique=True, nullable=False)
    order_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    recipient: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    subject: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    claimed_until: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
