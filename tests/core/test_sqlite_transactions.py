"""The embedded default's SQLite set-up (oms.db): write-ahead log, a transaction holds the write
lock from its start, and a locked database is a conflict to retry (never a 500). The real
concurrency test is tests/integration/test_concurrent_customers.py."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from oms.db import is_retryable, transaction
from oms.extensions import db


@pytest.fixture
def sqlite_app(tmp_path) -> Iterator[str]:
    """A bare Flask app on a SQLite file, with the app's session; yields the file's path."""
    path = str(tmp_path / "embedded.sqlite3")
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    db.init_app(app)
    with app.app_context():
        db.session.execute(sa.text("CREATE TABLE counter (n INTEGER)"))
        db.session.execute(sa.text("INSERT INTO counter VALUES (0)"))
        db.session.commit()
        yield path
        db.session.remove()
        db.engine.dispose()


def _other_writer_can_begin(path: str) -> bool:
    """Whether another connection gets the write lock right now (no waiting)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return False
    finally:
        other.close()


def test_connections_use_the_write_ahead_log(sqlite_app):
    assert db.session.scalar(sa.text("PRAGMA journal_mode")) == "wal"
    assert db.session.scalar(sa.text("PRAGMA busy_timeout")) >= 10_000


def test_a_transaction_holds_the_write_lock_from_its_start(sqlite_app):
    db.session.scalar(sa.text("SELECT n FROM counter"))  # a read first, as a request does
    assert _other_writer_can_begin(sqlite_app)
    with transaction() as session:
        assert not _other_writer_can_begin(sqlite_app)  # before any statement of its own
        n = session.scalar(sa.text("SELECT n FROM counter"))
        session.execute(sa.text("UPDATE counter SET n = :n"), {"n": n + 1})
    assert _other_writer_can_begin(sqlite_app)
    assert db.session.scalar(sa.text("SELECT n FROM counter")) == 1


def test_a_rolled_back_transaction_releases_the_lock(sqlite_app):
    with pytest.raises(RuntimeError), transaction() as session:  # noqa: PT012 (rollback)
        session.execute(sa.text("UPDATE counter SET n = 5"))
        raise RuntimeError("boom")
    assert _other_writer_can_begin(sqlite_app)
    assert db.session.scalar(sa.text("SELECT n FROM counter")) == 0


def test_a_locked_database_is_retryable(sqlite_app):
    holder = sqlite3.connect(sqlite_app, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        engine = sa.create_engine(f"sqlite:///{sqlite_app}")
        with engine.connect() as waiter:
            waiter.exec_driver_sql("PRAGMA busy_timeout = 0")
            with pytest.raises(sa.exc.OperationalError) as caught:
                waiter.exec_driver_sql("BEGIN IMMEDIATE")
        engine.dispose()
    finally:
        holder.close()
    assert "database is locked" in str(caught.value)
    assert is_retryable(caught.value)
    assert not is_retryable(
        sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: x"))
    )
