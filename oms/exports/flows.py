"""One run of an export job, as the ``reports.export_orders`` task performs it.

Claim the queued job, stream its rows into ``<job id>.<attempt>.part`` (gzipped on the way
when asked), report progress at most every ``OMS_EXPORT_PROGRESS_SECONDS`` (each report is
also the heartbeat and the check for cancellation), and offer the file under its final name
only once it is complete. Whatever stops the run (cancellation, an error, the soft time
limit) removes the partial file; a run whose worker dies outright is found by
:func:`oms.exports.service.recover_stale`.
"""

from __future__ import annotations

import gzip
import logging
import os
import time
import uuid
from pathlib import Path

import marshmallow as ma
from celery.exceptions import SoftTimeLimitExceeded
from flask import current_app

from oms.auth.enums import UserRole
from oms.auth.models import User
from oms.db import is_postgresql
from oms.errors import AuthorizationError, OMSError
from oms.exports import files, query, service, streaming
from oms.exports.enums import ExportStatus
from oms.exports.schemas import ExportFiltersBodySchema
from oms.extensions import db

log = logging.getLogger("oms.exports")
STOPPED = "stopped"  # the job was cancelled, or given to another run, meanwhile
GZIP_LEVEL = 6  # zlib's default: most of level 9's gain at a fraction of its time


class ExportStopped(Exception):
    """The job was cancelled, or given to another run, while this run wrote it."""


class _Progress:
    """Heartbeat and progress of one run, at most once per ``interval`` seconds."""

    def __init__(self, claim: service.Claim, interval: float):
        self.claim = claim
        self.interval = interval
        self.total: int | None = None
        self._last = time.monotonic()

    def on_total(self, total: int) -> None:
        self.total = total
        self._beat(0)

    def on_rows(self, rows: int) -> None:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._beat(rows)

    def _beat(self, rows: int) -> None:
        if not service.mark_progress(claim=self.claim, rows_written=rows, total_rows=self.total):
            raise ExportStopped()


def _exporting_admin(claim: service.Claim) -> User:
    """The admin who asked, if they still may export (the job runs with their rights now)."""
    user = db.session.get(User, claim.user_id)
    if user is None or not user.is_active or user.role != UserRole.ADMIN:
        raise AuthorizationError("The user who asked for this export may no longer export.")
    return user


def _describe(error: BaseException) -> str:
    """What the admin reads about a failed export (never a stack trace or SQL)."""
    if isinstance(error, OMSError):
        return error.message
    if isinstance(error, ma.ValidationError):
        return f"The export's filters no longer validate: {error.messages}"
    if isinstance(error, SoftTimeLimitExceeded):
        return "The export took longer than its time limit; narrow the filters."
    return f"The export failed ({error.__class__.__name__}); try again."


def _write(claim: service.Claim, sink, progress: _Progress) -> int:
    actor = _exporting_admin(claim)
    filters = ExportFiltersBodySchema().load(claim.filters)
    export = query.build(actor=actor, filters=filters, per_line=claim.per_line)
    write = streaming.copy_csv if is_postgresql() else streaming.cursor_csv
    return write(db.engine, export, sink, on_total=progress.on_total, on_rows=progress.on_rows)


def _write_file(claim: service.Claim, progress: _Progress) -> tuple[Path, int]:
    """The complete file of this run under its temporary name, synced to disk."""
    temp = files.temp_path(claim.job_id, claim.attempt)
    with open(temp, "xb") as raw:
        if claim.gzip:
            inner_name = files.download_name(claim.created_at, gzip=False)
            with gzip.GzipFile(
                filename=inner_name, fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL, mtime=0
            ) as sink:
                rows = _write(claim, sink, progress)
        else:
            rows = _write(claim, raw, progress)
        raw.flush()
        os.fsync(raw.fileno())
    return temp, rows


def run_export(*, job_id: uuid.UUID) -> str | None:
    """Run a queued export job to its end; returns what came of this run: ``finished``,
    ``failed``, ``stopped``, or None when the job was not queued (nothing to do)."""
    claim = service.start(job_id=job_id)
    if claim is None:
        return None
    progress = _Progress(claim, current_app.config["OMS_EXPORT_PROGRESS_SECONDS"])
    temp = files.temp_path(claim.job_id, claim.attempt)
    try:
        temp, rows = _write_file(claim, progress)
        if service.finish(claim=claim, temp=temp, rows_written=rows):
            return ExportStatus.FINISHED.value
        files.remove(temp)
        return STOPPED
    except ExportStopped:
        files.remove(temp)
        return STOPPED
    except Exception as exc:
        files.remove(temp)
        db.session.rollback()
        expected = isinstance(exc, (OMSError, ma.ValidationError, SoftTimeLimitExceeded))
        if not expected:
            log.exception("export failed", extra={"job_id": str(claim.job_id)})
        try:
            service.fail(claim=claim, error=_describe(exc))
        except Exception:
            # the database is gone too: the recovery sweep finds the job by its heartbeat
            log.exception("export not marked failed", extra={"job_id": str(claim.job_id)})
        if expected:
            return ExportStatus.FAILED.value
        raise
