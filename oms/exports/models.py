"""The export job: what an admin asked to export, and how far the worker got."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from oms.db import CreatedAt, UUIDPrimaryKey, str_enum
from oms.exports.enums import ExportStatus
from oms.orm import Model

export_status_enum = str_enum(ExportStatus, "export_status")


def progress_percent(rows_written: int, total_rows: int | None) -> int:
    """Whole percent done (0 while the total is not known yet, 100 for an empty export)."""
    if total_rows is None:
        return 0
    if total_rows <= 0:
        return 100
    return min(100, rows_written * 100 // total_rows)


class ExportJob(UUIDPrimaryKey, CreatedAt, Model):
    """One CSV export of orders. ``filters`` are those of ``GET /api/v1/orders`` as JSON;
    ``attempts`` counts the runs a worker started (a run whose worker was lost is retried
    until ``OMS_EXPORT_MAX_ATTEMPTS``); ``heartbeat_at`` moves while the running worker makes
    progress, so a job whose worker died is found and never stays running."""

    __tablename__ = "export_jobs"
    __table_args__ = (
        sa.CheckConstraint("rows_written >= 0", name="rows_written_not_negative"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # an admin's jobs, newest first (keyset pages)
        sa.Index("ix_export_jobs_user_created", "user_id", "created_at", "id"),
        # the recovery sweep: running jobs by heartbeat
        sa.Index("ix_export_jobs_status_heartbeat", "status", "heartbeat_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    status: Mapped[ExportStatus] = mapped_column(export_status_enum, nullable=False)
    filters: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    per_line: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    gzip: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    rows_written: Mapped[int] = mapped_column(
        sa.BigInteger, nullable=False, default=0, server_default="0"
    )
    total_rows: Mapped[int | None] = mapped_column(sa.BigInteger)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    file_name: Mapped[str | None] = mapped_column(sa.String(255))
    file_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    error: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    @property
    def percent(self) -> int:
        """Whole percent done; 100 once finished."""
        if self.status == ExportStatus.FINISHED:
            return 100
        return progress_percent(self.rows_written, self.total_rows)
