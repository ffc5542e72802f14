"""Export job use cases. Each owns its transaction.

The admin's side: queue an export (the job and its task, through the outbox, in one
transaction), read, list, cancel or delete it, find its file. The worker's side: claim a queued
job for a run, report progress (the heartbeat, which also tells the run whether it was
cancelled), finish or fail the run; and beat's side: recover runs whose worker was lost, purge
old jobs and files.

A run is identified by the job and its ``attempt``: every write of the worker's side says
"if this job is still running *this* attempt", so a run that was cancelled, or given up as lost
and started again, can change nothing any more.
"""

from __future__ import annotations

import enum
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import cast

import sqlalchemy as sa

from oms import events, tasks
from oms.auth.enums import UserRole
from oms.auth.models import User
from oms.db import after_commit, as_utc, transaction, utcnow
from oms.errors import AuthorizationError, NotFoundError
from oms.exports import files, query, streaming
from oms.exports.enums import ACTIVE_STATUSES, ExportStatus
from oms.exports.errors import ExportNotActive, ExportNotFinished
from oms.exports.models import ExportJob, progress_percent
from oms.extensions import db
from oms.outbox import service as outbox

DONE_STATUSES = frozenset(ExportStatus) - ACTIVE_STATUSES
# (status, attempts) of a file that belongs to no job
_NO_JOB: tuple[ExportStatus | None, int | None] = (None, None)


@dataclass(frozen=True)
class Claim:
    """One run of a job, as the worker knows it (no ORM object outlives its transaction)."""

    job_id: uuid.UUID
    attempt: int
    user_id: uuid.UUID
    filters: dict
    per_line: bool
    gzip: bool
    created_at: datetime


def _jsonable(value):
    """A validated filter value as JSON (the export's schema loads it back)."""
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    return value


def _check_admin(actor: User) -> None:
    if actor.role != UserRole.ADMIN:
        raise AuthorizationError("Only admins may export orders.")


def _finished_event(job: ExportJob) -> None:
    events.publish(
        "export.finished",
        job_id=str(job.id),
        user_id=str(job.user_id),
        status=job.status.value,
        rows_written=job.rows_written,
        file_size=job.file_size,
    )


def create(*, actor: User, filters: dict, per_line: bool = False, gzip: bool = False) -> ExportJob:
    """Queue an export of the orders matching ``filters`` (those of ``GET /api/v1/orders``):
    the job and its task are written in one transaction, the task sent after the commit."""
    _check_admin(actor)
    with transaction() as session:
        job = ExportJob(
            user_id=actor.id,
            status=ExportStatus.QUEUED,
            filters={k: _jsonable(v) for k, v in filters.items()},
            per_line=per_line,
            gzip=gzip,
            heartbeat_at=utcnow(),  # while queued: when its task was last sent
        )
        session.add(job)
        session.flush()
        outbox.enqueue(tasks.EXPORT_ORDERS, job_id=str(job.id))
    return job


def get(*, job_id: uuid.UUID, actor: User, lock: bool = False) -> ExportJob:
    """One of ``actor``'s export jobs; another admin's job is a 404."""
    _check_admin(actor)
    query = sa.select(ExportJob).where(ExportJob.id == job_id, ExportJob.user_id == actor.id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    job = db.session.scalars(query).one_or_none()
    if job is None:
        raise NotFoundError("No such export.")
    return job


def get_all(*, actor: User) -> sa.Select:
    """``actor``'s export jobs (a query to page)."""
    _check_admin(actor)
    return sa.select(ExportJob).where(ExportJob.user_id == actor.id)


def cancel(*, job_id: uuid.UUID, actor: User) -> ExportJob:
    """Stop a queued or running export: the run sees it at its next heartbeat, stops and
    removes its partial file; a queued one never starts. A finished job is a 409."""
    with transaction():
        job = get(job_id=job_id, actor=actor, lock=True)
        if job.status not in ACTIVE_STATUSES:
            raise ExportNotActive(job.status.value)
        job.status = ExportStatus.CANCELLED
        job.finished_at = utcnow()
        _finished_event(job)
    return job


def delete(*, job_id: uuid.UUID, actor: User) -> ExportStatus | None:
    """``DELETE``: cancel a queued or running export (the job stays, cancelled), or remove a
    finished, failed or cancelled one with its file. Returns the job's status afterwards
    (None: removed)."""
    with transaction() as session:
        job = get(job_id=job_id, actor=actor, lock=True)
        if job.status in ACTIVE_STATUSES:
            return cancel(job_id=job_id, actor=actor).status
        session.delete(job)
        # the file goes once the row is gone for good; a download already open keeps reading
        after_commit(lambda: files.remove_files(job_id))
    return None


def file_for_download(*, job_id: uuid.UUID, actor: User) -> tuple[Path, ExportJob]:
    """The finished file of a job; an export that is not finished is a 409."""
    job = get(job_id=job_id, actor=actor)
    if job.status != ExportStatus.FINISHED:
        raise ExportNotFinished(job.status.value)
    path = files.final_path(job.id, job.gzip)
    if not path.is_file():
        raise NotFoundError("The export file is no longer there; export again.")
    return path, job


# -- the worker's side ---------------------------------------------------------------------


def start(*, job_id: uuid.UUID) -> Claim | None:
    """Claim a queued job for a new run (running, next attempt, heartbeat now). None when the
    job is not queued (done, cancelled, or running elsewhere): a second delivery of the task
    does nothing."""
    with transaction() as session:
        job = session.scalars(
            sa.select(ExportJob)
            .where(ExportJob.id == job_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one_or_none()
        if job is None or job.status != ExportStatus.QUEUED:
            return None
        now = utcnow()
        job.status = ExportStatus.RUNNING
        job.attempts += 1
        job.started_at = job.heartbeat_at = now
        job.rows_written = 0
        job.total_rows = None
        job.error = None
        return Claim(
            job_id=job.id,
            attempt=job.attempts,
            user_id=job.user_id,
            filters=dict(job.filters),
            per_line=job.per_line,
            gzip=job.gzip,
            created_at=as_utc(job.created_at),
        )


def _this_run(claim: Claim) -> sa.ColumnElement[bool]:
    return sa.and_(
        ExportJob.id == claim.job_id,
        ExportJob.status == ExportStatus.RUNNING,
        ExportJob.attempts == claim.attempt,
    )


def _lock_run(session, claim: Claim) -> ExportJob | None:
    return session.scalars(
        sa.select(ExportJob)
        .where(_this_run(claim))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def mark_progress(*, claim: Claim, rows_written: int, total_rows: int | None) -> bool:
    """Record progress and the heartbeat, and publish ``export.progress``. False when the job
    is no longer this run's (cancelled, or recovered and started again): the run must stop."""
    values = {"rows_written": rows_written, "heartbeat_at": utcnow()}
    if total_rows is not None:
        values["total_rows"] = total_rows
    with transaction() as session:
        result = session.execute(sa.update(ExportJob).where(_this_run(claim)).values(**values))
        if cast(sa.CursorResult, result).rowcount != 1:
            return False
        events.publish(
            "export.progress",
            job_id=str(claim.job_id),
            user_id=str(claim.user_id),
            rows_written=rows_written,
            total_rows=total_rows,
            percent=progress_percent(rows_written, total_rows),
        )
    return True


def finish(*, claim: Claim, temp: Path, rows_written: int) -> bool:
    """Offer the complete file: rename it to its final name and mark the job finished, with
    the row locked, so the file is never there for a job that is not finished. False (and
    nothing renamed) when the job is no longer this run's."""
    final = files.final_path(claim.job_id, claim.gzip)
    with transaction() as session:
        job = _lock_run(session, claim)
        if job is None:
            return False
        os.replace(temp, final)
        job.status = ExportStatus.FINISHED
        job.rows_written = rows_written
        job.total_rows = max(job.total_rows or 0, rows_written)
        job.file_name = files.download_name(claim.created_at, claim.gzip)
        job.file_size = final.stat().st_size
        job.finished_at = job.heartbeat_at = utcnow()
        _finished_event(job)
    return True


def fail(*, claim: Claim, error: str) -> bool:
    """Mark this run's job failed with ``error`` (what the admin reads); False when the job
    is no longer this run's."""
    with transaction() as session:
        job = _lock_run(session, claim)
        if job is None:
            return False
        job.status = ExportStatus.FAILED
        job.error = error[:2000]
        job.finished_at = utcnow()
        _finished_event(job)
    return True


# -- beat's side ---------------------------------------------------------------------------


# A queued export whose task has not started after this long is sent again.
QUEUED_RESEND_AFTER = timedelta(minutes=10)


def recover_stale(*, stale_after: timedelta, max_attempts: int) -> dict[str, int]:
    """Runs whose heartbeat is older than ``stale_after`` lost their worker (killed, out of
    memory, machine gone): queue them again while fewer than ``max_attempts`` runs were
    started, else mark them failed. Their partial files are removed. Jobs queued for long without
    a run get their task sent again. Returns how many of each."""
    cutoff = utcnow() - stale_after
    counts = {"requeued": 0, "failed": 0, "resent": 0}
    with transaction() as session:
        jobs = session.scalars(
            sa.select(ExportJob)
            .where(
                ExportJob.status == ExportStatus.RUNNING,
                sa.or_(ExportJob.heartbeat_at.is_(None), ExportJob.heartbeat_at < cutoff),
            )
            .with_for_update(skip_locked=True)
        ).all()
        for job in jobs:
            # before the commit: the next run cannot start until then, so only dead runs'
            # files are removed
            files.remove_files(job.id, parts_up_to=job.attempts)
            if job.attempts < max_attempts:
                job.status = ExportStatus.QUEUED
                job.rows_written = 0
                job.heartbeat_at = utcnow()
                job.error = f"Run {job.attempts} lost its worker; queued again."
                outbox.enqueue(tasks.EXPORT_ORDERS, job_id=str(job.id))
                counts["requeued"] += 1
            else:
                job.status = ExportStatus.FAILED
                job.error = (
                    f"The export stopped responding (its worker was lost) in {job.attempts} "
                    "run(s); export again."
                )
                job.finished_at = utcnow()
                _finished_event(job)
                counts["failed"] += 1
        # A worker that died after taking a task but before claiming its job leaves the job
        # queued until the broker's visibility timeout; send such a job's task again (a
        # duplicate finds the job claimed and does nothing).
        silent = session.scalars(
            sa.select(ExportJob)
            .where(
                ExportJob.status == ExportStatus.QUEUED,
                ExportJob.heartbeat_at < utcnow() - max(stale_after, QUEUED_RESEND_AFTER),
            )
            .with_for_update(skip_locked=True)
        ).all()
        for job in silent:
            job.heartbeat_at = utcnow()
            outbox.enqueue(tasks.EXPORT_ORDERS, job_id=str(job.id))
        counts["resent"] = len(silent)
    return counts


def rerun(*, job_id: uuid.UUID) -> bool:
    """Run a failed, silent or stalled export again from the start (an admin's replay): the job
    is queued with its task, its partial files removed; a run of the old attempt that wakes up
    finds the job no longer its own. False when the job is finished or cancelled."""
    with transaction() as session:
        job = session.scalars(
            sa.select(ExportJob).where(ExportJob.id == job_id).with_for_update()
        ).one_or_none()
        if job is None or job.status in (ExportStatus.FINISHED, ExportStatus.CANCELLED):
            return False
        files.remove_files(job.id, parts_up_to=job.attempts)
        job.status = ExportStatus.QUEUED
        job.rows_written = 0
        job.total_rows = None
        job.error = None
        job.finished_at = None
        job.heartbeat_at = utcnow()
        outbox.enqueue(tasks.EXPORT_ORDERS, job_id=str(job.id))
        return True


def purge(*, older_than: timedelta, orphan_age: timedelta) -> dict[str, int]:
    """Delete jobs that ended more than ``older_than`` ago with their files, and files in the
    export folder that no job offers or writes any more (left by a lost run or a deleted
    user) once they are ``orphan_age`` old. Returns how many jobs and orphan files went."""
    cutoff = utcnow() - older_than
    with transaction() as session:
        ended = sa.func.coalesce(ExportJob.finished_at, ExportJob.created_at)
        ids = list(
            session.scalars(
                sa.select(ExportJob.id)
                .where(ExportJob.status.in_(DONE_STATUSES), ended < cutoff)
                .with_for_update(skip_locked=True)
            )
        )
        if ids:
            session.execute(sa.delete(ExportJob).where(ExportJob.id.in_(ids)))

        def remove_their_files() -> None:
            for job_id in ids:
                files.remove_files(job_id)

        after_commit(remove_their_files)
    return {"jobs": len(ids), "orphan_files": _remove_orphans(orphan_age)}


def _remove_orphans(min_age: timedelta) -> int:
    """Files no job needs: a partial file whose run is not running, a complete file whose
    job is not finished (or gone). Young files are left alone (their run may be starting)."""
    folder = files.export_dir()
    paths = [p for p in folder.iterdir() if p.is_file() and files.job_id_of(p) is not None]
    if not paths:
        return 0
    jobs = {
        job_id: (status, attempts)
        for job_id, status, attempts in db.session.execute(
            sa.select(ExportJob.id, ExportJob.status, ExportJob.attempts).where(
                ExportJob.id.in_({files.job_id_of(p) for p in paths})
            )
        )
    }
    db.session.rollback()
    too_young = (utcnow() - min_age).timestamp()
    removed = 0
    for path in paths:
        job_id = files.job_id_of(path)
        status, attempts = _NO_JOB if job_id is None else jobs.get(job_id, _NO_JOB)
        if path.suffix == ".part":
            wanted = status == ExportStatus.RUNNING and path.name.split(".")[1] == str(attempts)
        else:
            wanted = status == ExportStatus.FINISHED
        if not wanted and path.stat().st_mtime < too_young:
            files.remove(path)
            removed += 1
    return removed


def stream_orders(*, actor: User, filters: dict, per_line: bool) -> tuple[str, Iterator[bytes]]:
    """The direct export: the file name and the CSV chunks, read as the response is sent (the
    statements are built now; the generator brings its own connection)."""
    export = query.build(actor=actor, filters=filters, per_line=per_line)
    return files.download_name(utcnow(), gzip=False), streaming.stream_csv(db.engine, export)
