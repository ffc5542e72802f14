"""The dead-letter table: tasks that failed for good, kept with what is needed to replay them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from oms.orm import Model


class DeadLetter(Model):
    """One task run that failed with no retry left: its name and arguments (to send it again),
    the error and the end of its traceback, the worker and when. ``replayed_at`` is set once an
    admin sent it again (a new failure is a new row)."""

    __tablename__ = "dead_letters"
    __table_args__ = (
        sa.Index(
            "ix_dead_letters_unreplayed",
            "failed_at",
            postgresql_where=sa.text("replayed_at IS NULL"),
            sqlite_where=sa.text("replayed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    task_id: Mapped[str | None] = mapped_column(sa.String(155))
    task: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    args: Mapped[list] = mapped_column(sa.JSON, nullable=False)
    kwargs: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    error: Mapped[str] = mapped_column(sa.Text, nullable=False)
    traceback: Mapped[str | None] = mapped_column(sa.Text)
    worker: Mapped[str | None] = mapped_column(sa.String(255))
    failed_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )
    replayed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
