"""Model mixins, the transaction helper, and after-commit hooks.

The use case (a service function) owns the transaction: queries flush, never commit.
Work that must only happen once the data is durable (publishing an event, enqueueing a task)
is registered with :func:`after_commit` and dropped if the transaction rolls back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from oms.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)


class CreatedAt:
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=utcnow, server_default=sa.func.now()
    )


class Timestamps(CreatedAt):
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True),
        nullable=False,
        default=utcnow,
        onupdate=utcnow,
        server_default=sa.func.now(),
    )


Money = sa.Numeric(12, 2)

_HOOKS_KEY = "oms_after_commit"


def after_commit(callback: Callable[[], None], session: Session | None = None) -> None:
    """Run ``callback`` once the current transaction commits; forget it on rollback."""
    session = session or db.session()
    session.info.setdefault(_HOOKS_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop(_HOOKS_KEY, [])
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the outermost transaction rolled back
        session.info.pop(_HOOKS_KEY, None)


@contextmanager
def transaction() -> Iterator[Session]:
    """Commit the session on success, roll back on any error; the one way services commit."""
    session = db.session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def is_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"
