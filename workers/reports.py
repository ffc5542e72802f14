"""Report tasks (queue ``reports``): order exports, and beat's recovery and purge of them."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from celery import shared_task
from flask import current_app

from oms import tasks
from oms.exports import flows
from oms.exports import service as exports

# An export may run for a long time, but well inside the Redis visibility timeout (2 hours,
# celery_config.py), so a running export is never handed to a second worker. The soft limit
# raises inside the run, which marks the job failed and removes its partial file; the hard
# limit kills a run that ignored it (the recovery sweep then finds the job).
EXPORT_SOFT_TIME_LIMIT = 50 * 60
EXPORT_TIME_LIMIT = 55 * 60
# The database out of reach (before the job was claimed, or while it ran, which marks the
# run failed first) is retried with backoff; a retry of a job no longer queued does nothing.
TRANSIENT = (sa.exc.OperationalError, sa.exc.InterfaceError)


@shared_task(
    name=tasks.EXPORT_ORDERS,
    soft_time_limit=EXPORT_SOFT_TIME_LIMIT,
    time_limit=EXPORT_TIME_LIMIT,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=10,
)
def export_orders(job_id: str) -> str | None:
    """Write one queued export's CSV file; a job that is not queued is left alone."""
    return flows.run_export(job_id=uuid.UUID(job_id))


@shared_task(name=tasks.RECOVER_STALE_EXPORTS)
def recover_stale_exports() -> dict:
    """Queue again (or fail, after OMS_EXPORT_MAX_ATTEMPTS runs) exports whose worker died."""
    config = current_app.config
    return exports.recover_stale(
        stale_after=timedelta(seconds=config["OMS_EXPORT_STALE_SECONDS"]),
        max_attempts=config["OMS_EXPORT_MAX_ATTEMPTS"],
    )


@shared_task(name=tasks.PURGE_EXPORTS)
def purge_exports() -> dict:
    """Delete exports and their files past OMS_EXPORT_RETENTION_HOURS, and orphaned files."""
    config = current_app.config
    return exports.purge(
        older_than=timedelta(hours=config["OMS_EXPORT_RETENTION_HOURS"]),
        orphan_age=timedelta(seconds=config["OMS_EXPORT_STALE_SECONDS"]),
    )
