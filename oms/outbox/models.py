"""Outbox rows: a Celery task to send, written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from oms.db import CreatedAt
from oms.orm import Model


class OutboxMessage(CreatedAt, Model):
    """A task to hand to the broker; ``sent_at`` stays NULL until the broker accepted it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.Index(
            "ix_outbox_messages_unsent",
            "created_at",
            postgresql_where=sa.text("sent_at IS NULL"),
            sqlite_where=sa.text("sent_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    task: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    kwargs: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(sa.Text)
