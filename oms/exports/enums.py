"""Export job statuses."""

from enum import StrEnum


class ExportStatus(StrEnum):
    """Where an export job is in its run."""

    QUEUED = "queued"  # written with its task to the outbox, waiting for a worker
    RUNNING = "running"  # a worker is writing the file; heartbeat_at says it is alive
    FINISHED = "finished"  # the file is complete and may be downloaded
    FAILED = "failed"  # stopped by an error or a lost worker; no file (final)
    CANCELLED = "cancelled"  # stopped by the admin; no file (final)


# A job in one of these may still produce a file; cancelling stops it.
ACTIVE_STATUSES = frozenset({ExportStatus.QUEUED, ExportStatus.RUNNING})
