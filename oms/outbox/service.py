"""Write tasks to the outbox, dispatch them after commit, relay what is still unsent.

A process that dies between commit and dispatch, or a broker that is down, leaves the row
unsent; the beat-driven :func:`relay` sends it later. Tasks are idempotent, so a row sent twice
(dispatched, then relayed before it was marked) does no harm.
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta
from typing import cast

import sqlalchemy as sa
from flask import current_app
from kombu.exceptions import OperationalError as BrokerError

from oms.db import after_commit, transaction, transaction_local, utcnow
from oms.extensions import db
from oms.outbox.models import OutboxMessage

log = logging.getLogger("oms.outbox")


def enqueue(task: str, **kwargs) -> OutboxMessage:
    """Record ``task(**kwargs)`` in the current transaction; send it once that commits.

    All messages of one transaction are inserted together at commit and dispatched by one
    after-commit callback."""
    message = OutboxMessage(task=task, kwargs=kwargs, attempts=0)
    db.session.add(message)
    local = transaction_local()
    if "outbox" not in local:
        pending = local["outbox"] = []
        after_commit(lambda: _dispatch_committed(pending), priority=1)
    local["outbox"].append(message)
    return message


def _dispatch_committed(messages: list[OutboxMessage]) -> None:
    """After-commit dispatch: the change is durable, so a failure here (database or broker
    gone) is logged and left to the relay, never turned into an error for the caller."""
    try:
        # the ids from the identity map: no refresh of the committed (expired) rows
        dispatch(message_ids=[cast(tuple, sa.inspect(m).identity)[0] for m in messages])
    except Exception:
        db.session.rollback()
        log.exception("outbox dispatch failed; the relay will send the messages")


def _send(message: OutboxMessage) -> bool:
    """Hand one message to Celery; False if the broker refused it. Records the attempt on the
    row; the caller commits.

    In the embedded default the task runs in this process once the caller's transaction has
    committed (:func:`_run_in_process`)."""
    celery = current_app.extensions["celery"]
    task = celery.tasks[message.task]
    if celery.conf.task_always_eager:
        after_commit(functools.partial(_run_in_process, message.id, message.task, message.kwargs))
        return True
    message.attempts += 1
    try:
        task.apply_async(kwargs=message.kwargs, retry=False)
    except (BrokerError, ConnectionError, OSError) as exc:
        message.last_error = f"{exc.__class__.__name__}: {exc}"[:500]
        log.warning(
            "broker refused task", extra={"task": message.task, "error": message.last_error}
        )
        return False
    message.sent_at = utcnow()
    return True


def _run_in_process(message_id: int, task_name: str, kwargs: dict) -> None:
    """Embedded default: run the task here, then record the attempt (a crash in between leaves
    the row to the relay; tasks are safe to run twice).

    It runs outside the transaction that found the message: the task opens a session of its
    own (another app context), which must not wait for a second pool connection while this
    thread holds one, nor, on SQLite, for the write lock this thread holds. Its failure is the
    task's business (as it would be on a worker) and never reaches the request that committed
    the change."""
    result = current_app.extensions["celery"].tasks[task_name].apply(kwargs=kwargs, throw=False)
    values = {"attempts": OutboxMessage.attempts + 1, "sent_at": utcnow()}
    if result.failed():
        values["last_error"] = f"{result.result.__class__.__name__}: {result.result}"[:500]
        log.error(
            "task failed in-process", extra={"task": task_name, "error": values["last_error"]}
        )
    with transaction() as session:
        session.execute(
            sa.update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
        )


def dispatch(*, message_ids: list[int]) -> int:
    """Send these messages now, right after their commit; returns how many were sent.

    The rows are not locked while sending: in the embedded default the tasks run right here,
    after this transaction, in sessions and transactions of their own."""
    if not message_ids:
        return 0
    with transaction() as session:
        messages = session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.id.in_(message_ids), OutboxMessage.sent_at.is_(None))
            .order_by(OutboxMessage.id)
        ).all()
        return sum(_send(message) for message in messages)


def relay(*, limit: int = 500, min_age_seconds: float = 2.0) -> int:
    """Send unsent messages older than ``min_age_seconds`` (beat task); returns how many.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED`` so several relays never send the same row
    at once; the age filter leaves fresh rows to their own after-commit dispatch."""
    cutoff = utcnow() - timedelta(seconds=min_age_seconds)
    with transaction() as session:
        messages = session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.created_at <= cutoff)
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        sent = 0
        for message in messages:
            if not _send(message):
                break  # the broker is down: the rest would fail too
            sent += 1
        return sent


def purge_sent(*, older_than: timedelta = timedelta(days=7)) -> int:
    """Delete messages sent more than ``older_than`` ago; returns how many."""
    with transaction() as session:
        result = session.execute(
            sa.delete(OutboxMessage).where(OutboxMessage.sent_at < utcnow() - older_than)
        )
    return cast(sa.CursorResult, result).rowcount or 0
