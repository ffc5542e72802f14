"""Backups of a deployment: the PostgreSQL database and the export files, and their restore.

A backup is two files in the backup folder under one UTC timestamp: ``<name>.dump``
(``pg_dump -Fc``: one consistent snapshot of the running database, compressed, restorable
table by table) and ``<name>.exports.tar.gz`` (the export folder: the files finished exports
point at). Each is written under a ``.partial`` name and renamed when complete, the dump last,
so a ``.dump`` always belongs to a whole backup. After each backup the newest ``keep`` are kept.

A restore goes into an *empty* database only (created when absent): ``pg_restore`` in one
transaction, so it is all there or nothing, and never mixed with rows that were there before.
Ownership and grants are left out, so a dump restores under another database user. pg_dump and
pg_restore come from PostgreSQL's client package, of the server's major version or newer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from oms.db import create_database_if_missing

NAME_FORMAT = "%Y%m%dT%H%M%S.%fZ"  # microseconds: two backups in one second keep both
DUMP_SUFFIX = ".dump"
EXPORTS_SUFFIX = ".exports.tar.gz"
PARTIAL_SUFFIX = ".partial"
PARTIAL_MAX_AGE_SECONDS = 24 * 3600


class BackupError(RuntimeError):
    """A backup or restore that cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class Backup:
    """One backup: its name (the UTC time it was taken) and its two files."""

    name: str
    folder: Path

    @property
    def dump(self) -> Path:
        """The database, in pg_dump's custom format."""
        return self.folder / f"{self.name}{DUMP_SUFFIX}"

    @property
    def exports(self) -> Path:
        """The export folder, as a gzipped tar."""
        return self.folder / f"{self.name}{EXPORTS_SUFFIX}"

    @property
    def taken_at(self) -> datetime:
        """When the backup was started."""
        return datetime.strptime(self.name, NAME_FORMAT).replace(tzinfo=UTC)

    @property
    def size(self) -> int:
        """Bytes of both files."""
        return sum(path.stat().st_size for path in (self.dump, self.exports) if path.exists())


def list_backups(folder: str | Path) -> list[Backup]:
    """The complete backups in ``folder``, newest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob(f"*{DUMP_SUFFIX}"):
        name = path.name.removesuffix(DUMP_SUFFIX)
        try:
            datetime.strptime(name, NAME_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            continue  # not one of ours
        found.append(Backup(name, folder))
    return sorted(found, key=lambda backup: backup.name, reverse=True)


def find_backup(folder: str | Path, name: str) -> Backup:
    """The backup called ``name`` in ``folder`` (``latest``: the newest; a path to its
    ``.dump`` works too)."""
    backups = list_backups(folder)
    if name == "latest":
        if not backups:
            raise BackupError(f"no backups in {folder}")
        return backups[0]
    wanted = Path(name).name.removesuffix(DUMP_SUFFIX)
    for backup in backups:
        if backup.name == wanted:
            return backup
    raise BackupError(f"no backup {name!r} in {folder} (`flask --app wsgi backup list`)")


def create_backup(
    *, database_url: str, export_dir: str | Path, backup_dir: str | Path, keep: int
) -> tuple[Backup, list[Backup]]:
    """Back up the database and the export files into ``backup_dir``, then delete all but the
    newest ``keep`` backups; returns the new backup and the deleted ones."""
    conninfo, env = _libpq(database_url)
    folder = Path(backup_dir)
    folder.mkdir(parents=True, exist_ok=True)
    backup = Backup(datetime.now(UTC).strftime(NAME_FORMAT), folder)
    dump_partial = backup.dump.with_name(backup.dump.name + PARTIAL_SUFFIX)
    exports_partial = backup.exports.with_name(backup.exports.name + PARTIAL_SUFFIX)
    try:
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-password",
                f"--file={dump_partial}",
                f"--dbname={conninfo}",
            ],
            env,
        )
        with tarfile.open(exports_partial, "w:gz") as archive:
            exports = Path(export_dir)
            if exports.is_dir():
                for entry in sorted(exports.iterdir()):
                    archive.add(entry, arcname=entry.name)
        exports_partial.rename(backup.exports)
        dump_partial.rename(backup.dump)  # last: a .dump means the backup is whole
    except OSError as exc:  # a full disk, a folder not writable
        raise BackupError(f"writing the backup into {folder} failed: {exc}") from exc
    finally:
        dump_partial.unlink(missing_ok=True)
        exports_partial.unlink(missing_ok=True)
    return backup, prune_backups(folder, keep=keep)


def prune_backups(folder: str | Path, *, keep: int) -> list[Backup]:
    """Delete all but the newest ``keep`` backups in ``folder``; returns the deleted ones."""
    if keep < 1:
        raise BackupError(f"keep must be at least 1, got {keep}")
    removed = list_backups(folder)[keep:]
    for backup in removed:
        backup.dump.unlink(missing_ok=True)  # first: what is left is no longer listed
        backup.exports.unlink(missing_ok=True)
    # what a killed backup left (a backup in progress is younger than this)
    cutoff = time.time() - PARTIAL_MAX_AGE_SECONDS
    for leftover in Path(folder).glob(f"*{PARTIAL_SUFFIX}"):
        if leftover.stat().st_mtime < cutoff:
            leftover.unlink(missing_ok=True)
    return removed


def restore_backup(backup: Backup, *, database_url: str, export_dir: str | Path) -> dict:
    """Restore ``backup`` into the database of ``database_url`` (created when absent, refused
    when it has tables) and its export files into ``export_dir``; returns what the restored
    database holds: its schema revision and counts of orders and audit entries."""
    conninfo, env = _libpq(database_url)
    url = make_url(database_url)
    if not backup.dump.is_file():
        raise BackupError(f"{backup.dump} is missing")
    create_database_if_missing(url)
    engine = sa.create_engine(url)
    try:
        tables = _table_count(engine)
        if tables:
            raise BackupError(
                f"database {url.database} is not empty ({tables} tables): restore into a new "
                "database (rename this one first; README: Operations, Backups)"
            )
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                "--no-password",
                f"--dbname={conninfo}",
                str(backup.dump),
            ],
            env,
        )
        try:
            files = _extract(backup.exports, Path(export_dir))
        except (OSError, tarfile.TarError) as exc:
            raise BackupError(
                f"the database is restored, but not the export files into {export_dir}: {exc}"
            ) from exc
        with engine.connect() as conn:
            return {
                "database": url.database,
                "revision": conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                .scalars()
                .first(),
                "orders": conn.execute(sa.text("SELECT count(*) FROM orders")).scalar_one(),
                "audit_entries": conn.execute(
                    sa.text("SELECT count(*) FROM audit_log")
                ).scalar_one(),
                "export_files": files,
            }
    finally:
        engine.dispose()


def seconds_until_due(newest: datetime | None, interval: timedelta, now: datetime) -> float:
    """How long a schedule waits before its next backup: none yet, or the newest one is
    ``interval`` old, is now; a restart of the schedule therefore never adds a backup early."""
    if newest is None:
        return 0.0
    return max(0.0, (newest + interval - now).total_seconds())


def _libpq(database_url: str) -> tuple[str, dict]:
    """A libpq connection URI for pg_dump and pg_restore (the password goes in the
    environment, never on a command line other users can read) and that environment."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise BackupError(
            f"backups need PostgreSQL (OMS_DATABASE_URL is {url.get_backend_name()}); "
            "the embedded default's database is one SQLite file: copy it while the app is stopped"
        )
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(), env


def _run(args: list[str], env: dict) -> None:
    if shutil.which(args[0]) is None:
        raise BackupError(
            f"{args[0]} is not installed: install PostgreSQL's client tools of the server's "
            "version or newer (Debian: apt-get install postgresql-client)"
        )
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{args[0]} failed: {result.stderr.strip()[-2000:]}")


def _table_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
            )
        ).scalar_one()


def _extract(archive_path: Path, export_dir: Path) -> int:
    """Unpack the export files (the ``data`` filter refuses links and paths leaving the
    folder); returns how many files there were."""
    export_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive_path, "r:gz") as archive:
        members = archive.getmembers()
        archive.extractall(export_dir, members=members, filter="data")
    return sum(1 for member in members if member.isfile())
