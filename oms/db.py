"""Model mixins, the transaction helper, and after-commit hooks.

The use case (a service function) owns the transaction through :func:`transaction`: queries
flush, never commit. Work that must only happen once the data is durable (publishing an event,
handing a task to the broker) is registered with :func:`after_commit` and dropped if the
transaction rolls back.

On SQLite (the embedded default) every :func:`transaction` starts with ``BEGIN IMMEDIATE``: it
takes the database's write lock before its first read, so writing use cases run one after
another and what they read stays true until they commit (``max + 1``, stock counters). The
other ways SQLite concurrency goes wrong are closed here too: the write-ahead log lets readers
go on while a writer holds the lock, and a writer waits up to ``SQLITE_BUSY_TIMEOUT_MS`` for the
lock instead of failing at once with "database is locked". Reads outside a transaction are left
to the sqlite3 driver's legacy mode (a statement of their own each, holding no lock): a
deferred transaction that read first would fail at once when it came to write.
"""

from __future__ import annotations

import functools
import random
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from oms.extensions import db

T = TypeVar("T")


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime (SQLite hands back naive ones, stored as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UUIDPrimaryKey:
    """A random UUID primary key (ids never reveal volumes or order)."""

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)


class CreatedAt:
    """When the row was written."""

    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=utcnow, server_default=sa.func.now()
    )


class Timestamps(CreatedAt):
    """When the row was written and last changed."""

    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True),
        nullable=False,
        default=utcnow,
        onupdate=utcnow,
        server_default=sa.func.now(),
    )


Money = sa.Numeric(12, 2)
MAX_MONEY = Decimal("9999999999.99")  # the largest amount NUMERIC(12, 2) holds


def str_enum(enum_class: type, name: str) -> sa.Enum:
    """A database enum of a ``StrEnum``'s values (a native type on PostgreSQL)."""
    return sa.Enum(
        enum_class, name=name, values_callable=lambda e: [m.value for m in e], validate_strings=True
    )


_HOOKS_KEY = "oms_after_commit"
_DEPTH_KEY = "oms_transaction_depth"
_LOCAL_KEY = "oms_transaction_local"

# PostgreSQL errors that mean "try the same transaction again": serialization failure,
# deadlock detected, lock not available.
RETRYABLE_PGCODES = {"40001", "40P01", "55P03"}
# SQLite's SQLITE_BUSY and SQLITE_LOCKED ("database is locked"), extended codes included.
RETRYABLE_SQLITE_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
# How long a SQLite writer waits for the write lock before giving up (then it is retried).
SQLITE_BUSY_TIMEOUT_MS = 30_000


@sa.event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, _connection_record) -> None:
    """Every new SQLite connection: wait for locks, and use the write-ahead log (readers never
    block the writer nor wait for it; NORMAL sync is safe with it and spares an fsync per
    commit). WAL is a property of the file, so the first connection switches it for good."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")  # an in-memory database stays "memory"
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _take_sqlite_write_lock(session: Session) -> None:
    """On SQLite, begin the database transaction with ``BEGIN IMMEDIATE`` (waiting for the
    write lock), unless this connection already has one (it wrote, so it holds the lock).
    The driver's legacy mode never began one for the session's earlier reads."""
    if session.get_bind().dialect.name != "sqlite":
        return
    driver = session.connection().connection.driver_connection
    if driver is not None and not driver.in_transaction:
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")


def after_commit(callback: Callable[[], None], *, priority: int = 0) -> None:
    """Run ``callback`` once the current :func:`transaction` has committed; forget it on rollback.

    Callbacks run after ``commit()`` has returned, so they may open transactions of their own
    (an eager Celery task does); lower ``priority`` first, then in registration order (events
    go out before the tasks they lead to, so ``order.created`` precedes ``placed``)."""
    db.session().info.setdefault(_HOOKS_KEY, []).append((priority, callback))


def discard_after_commit() -> None:
    """Forget the work registered for after the current transaction's commit (events, task
    dispatch): the commit then goes out alone, as if the process died right after it. For
    tests and seed data that must leave their outbox rows to the relay."""
    db.session().info.pop(_HOOKS_KEY, None)


def transaction_local() -> dict:
    """A dict that lives as long as the current :func:`transaction` (committed or not)."""
    return db.session().info.setdefault(_LOCAL_KEY, {})


@contextmanager
def transaction() -> Iterator[Session]:
    """The one way services commit: commit on success, roll back on any error, then run the
    after-commit callbacks. Nested use joins the outer transaction. On SQLite the outermost
    one holds the database's write lock from its start (see the module docstring)."""
    session = db.session()
    depth = session.info.get(_DEPTH_KEY, 0)
    session.info[_DEPTH_KEY] = depth + 1
    try:
        if depth == 0:
            _take_sqlite_write_lock(session)
        yield session
        if depth == 0:
            session.commit()
    except BaseException:
        if depth == 0:
            session.rollback()
            session.info.pop(_HOOKS_KEY, None)
        raise
    finally:
        session.info[_DEPTH_KEY] = depth
        if depth == 0:
            session.info.pop(_LOCAL_KEY, None)
    if depth == 0:
        hooks = session.info.pop(_HOOKS_KEY, [])
        for _, callback in sorted(hooks, key=lambda hook: hook[0]):
            callback()


def is_retryable(error: BaseException) -> bool:
    """A database error that a fresh attempt of the same transaction may not hit again."""
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    orig = error.orig
    if isinstance(orig, sqlite3.Error):
        return (getattr(orig, "sqlite_errorcode", 0) & 0xFF) in RETRYABLE_SQLITE_CODES
    return getattr(orig, "pgcode", None) in RETRYABLE_PGCODES


def retry_on_conflict(func: Callable[..., T], attempts: int = 4) -> Callable[..., T]:
    """Re-run a use case whose transaction hit a deadlock or serialization failure (or, on
    SQLite, waited in vain for the write lock); after ``attempts`` tries the caller gets a 409
    asking to retry, never a 500."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        for attempt in range(1, attempts + 1):
            try:
                return func(*args, **kwargs)
            except sa.exc.DBAPIError as exc:
                if not is_retryable(exc):
                    raise
                db.session.rollback()
                if attempt == attempts:
                    from oms.errors import BusyError

                    raise BusyError() from exc
                time.sleep(random.uniform(0.01, 0.05) * attempt)
        raise AssertionError("unreachable")

    return wrapper


def is_postgresql() -> bool:
    """Whether the app runs on PostgreSQL (else the embedded SQLite default)."""
    return db.engine.dialect.name == "postgresql"


def serial_reads() -> None:
    """No parallel workers for the rest of this transaction (PostgreSQL): a request's short
    indexed reads lose more to starting workers on a busy machine than they gain, and the
    planner, costing the workers, picks a long walk of an index over a few hundred lookups."""
    if is_postgresql():
        db.session.execute(sa.text("SET LOCAL max_parallel_workers_per_gather = 0"))


def insert_or_ignore(model: Any) -> postgresql.Insert | sqlite.Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` for ``model`` on PostgreSQL and SQLite alike."""
    return postgresql.insert(model) if is_postgresql() else sqlite.insert(model)


def rowcount(result: sa.Result[Any]) -> int:
    """How many rows an INSERT, UPDATE or DELETE touched."""
    return cast("sa.CursorResult[Any]", result).rowcount or 0


def create_database_if_missing(url: sa.URL) -> bool:
    """Create the PostgreSQL database of ``url`` when absent; True if it was created."""
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname="postgres",
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,))
            if cur.fetchone() is not None:
                return False
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(url.database)))
            return True
    finally:
        conn.close()
