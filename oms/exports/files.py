"""Where export files live under ``OMS_EXPORT_DIR``, and how they are named.

A run writes ``<job id>.<attempt>.part`` and renames it to ``<job id>.csv`` (or ``.csv.gz``)
when complete, so a half-written file is never offered; every file of a job starts with its
id, so a job's files are found (and removed) without a listing of names. The name an admin
downloads (``orders-20261125-100512.csv``) is kept on the job.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime
from pathlib import Path

from flask import current_app


def export_dir() -> Path:
    """The export folder (created when missing)."""
    folder = Path(current_app.config["OMS_EXPORT_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def temp_path(job_id: uuid.UUID, attempt: int) -> Path:
    """Where run ``attempt`` of a job writes until the file is complete."""
    return export_dir() / f"{job_id}.{attempt}.part"


def final_path(job_id: uuid.UUID, gzip: bool) -> Path:
    """The complete file of a job."""
    return export_dir() / f"{job_id}.csv{'.gz' if gzip else ''}"


def download_name(created_at: datetime, gzip: bool) -> str:
    """The file name the admin's browser saves."""
    return f"orders-{created_at:%Y%m%d-%H%M%S}.csv{'.gz' if gzip else ''}"


def job_id_of(path: Path) -> uuid.UUID | None:
    """The job a file in the export folder belongs to; None for a file that is not ours."""
    try:
        return uuid.UUID(path.name.split(".", 1)[0])
    except ValueError:
        return None


def remove(path: Path) -> None:
    """Delete ``path``; a file already gone is fine."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def remove_files(job_id: uuid.UUID, *, parts_up_to: int | None = None) -> None:
    """Remove a job's files: all of them, or (``parts_up_to``) the complete file and the
    partial files of runs up to that attempt, leaving a newer run's partial file alone."""
    for path in export_dir().glob(f"{job_id}.*"):
        if parts_up_to is not None and path.suffix == ".part":
            attempt = path.name.split(".")[1]
            if not attempt.isdigit() or int(attempt) > parts_up_to:
                continue
        remove(path)
