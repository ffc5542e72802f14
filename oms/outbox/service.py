"""Write tasks to the outbox, dispatch them after commit, relay what is still unsent.

A process that dies between commit and dispatch, or a broker that is down, leaves the row
unsent; the beat-driven :func:`relay` sends it later. Tasks are idempotent, so a row sent twice
(dispatched, then relayed before it was marked) does no harm. Work that is its own outbox (a
row of its own, written with the change and swept when its task is lost) is handed over after
the commit without one (:func:`send_after_commit`).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

import redis
import sqlalchemy as sa
from flask import current_app
from kombu.exceptions import OperationalError as BrokerError

from oms import events
from oms.db import after_commit, as_utc, transaction, transaction_local, utcnow
from oms.extensions import db
from oms.outbox.models import OutboxMessage

log = logging.getLogger("oms.outbox")


@dataclass(frozen=True)
class _Committed:
    """What dispatch needs of a committed message, kept in memory: no read of it again."""

    message: OutboxMessage
    task: str
    kwargs: dict

    @property
    def id(self) -> int:
        return cast(tuple, sa.inspect(self.message).identity)[0]


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
    local["outbox"].append(_Committed(message, task, kwargs))
    return message


def send_after_commit(task: str, **kwargs) -> None:
    """Hand ``task(**kwargs)`` to the broker once the current transaction commits, with no
    outbox row: only for work whose own row, written in that transaction, a sweep of its own
    finds again when the task is lost (a customer's notification: ``resend_unsent`` queues
    every row left unsent and untried). An outbox row beside it would record the same work a
    second time, and marking it sent would cost the request a transaction after its commit.

    A broker that refuses it (or a process that dies first) leaves the work to that sweep. In
    the embedded default the task runs here, after the commit, as :func:`dispatch` runs it."""
    local = transaction_local()
    if "untracked" not in local:
        pending = local["untracked"] = []
        after_commit(lambda: _send_untracked(pending), priority=1)
    local["untracked"].append((task, kwargs))


def _send_untracked(tasks: list[tuple[str, dict]]) -> None:
    celery = current_app.extensions["celery"]
    for task, kwargs in tasks:
        try:
            if celery.conf.task_always_eager:
                result = celery.tasks[task].apply(kwargs=kwargs, throw=False)
                if result.failed():
                    error = f"{result.result.__class__.__name__}: {result.result}"[:500]
                    log.error("task failed in-process", extra={"task": task, "error": error})
            elif _publish(task, kwargs) is not None:
                break  # the broker is down: the rest would fail too (their sweep sends them)
        except Exception:
            log.exception("task not sent; its sweep will send it", extra={"task": task})


def _dispatch_committed(messages: list[_Committed]) -> None:
    """After-commit dispatch: the change is durable, so a failure here (database or broker
    gone) is logged and left to the relay, never turned into an error for the caller."""
    try:
        dispatch(messages)
    except Exception:
        db.session.rollback()
        log.exception("outbox dispatch failed; the relay will send the messages")


def _publish(task: str, kwargs: dict) -> str | None:
    """Hand one task to the broker; the error text if the broker refused it."""
    try:
        current_app.extensions["celery"].tasks[task].apply_async(kwargs=kwargs, retry=False)
    except (BrokerError, ConnectionError, OSError) as exc:
        error = f"{exc.__class__.__name__}: {exc}"[:500]
        log.warning("broker refused task", extra={"task": task, "error": error})
        return error
    return None


def _run_in_process(message_id: int, task_name: str, kwargs: dict) -> None:
    """Embedded default: run the task here, then record the attempt (a crash in between leaves
    the row to the relay; tasks are safe to run twice).

    It runs after the transaction that wrote or found the message: the task opens a session
    of its own (another app context), which must not wait for a second pool connection while
    this thread holds one, nor, on SQLite, for the write lock this thread holds. Its failure
    is the task's business (as it would be on a worker) and never reaches the request that
    committed the change."""
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


def dispatch(messages: list[_Committed]) -> int:
    """Send these just-committed messages; returns how many were sent.

    The rows are not read again: the tasks go to the broker from memory and one UPDATE records
    them sent (a broker that refuses one leaves it and the rest to the relay). In the embedded
    default the tasks run right here, each after the other, in transactions of their own."""
    if not messages:
        return 0
    if current_app.extensions["celery"].conf.task_always_eager:
        for committed in messages:
            _run_in_process(committed.id, committed.task, committed.kwargs)
        return len(messages)
    sent: list[int] = []
    error = None
    for committed in messages:
        error = _publish(committed.task, committed.kwargs)
        if error is not None:
            break  # the broker is down: the rest would fail too
        sent.append(committed.id)
    with transaction() as session:
        if sent:
            session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id.in_(sent))
                .values(sent_at=utcnow(), attempts=OutboxMessage.attempts + 1)
            )
        if error is not None:
            session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id == messages[len(sent)].id)
                .values(attempts=OutboxMessage.attempts + 1, last_error=error)
            )
    return len(sent)


def relay(
    *,
    limit: int = 500,
    min_age_seconds: float = 2.0,
    message_ids: list[int] | None = None,
    passes: int = 20,
) -> int:
    """Send unsent messages older than ``min_age_seconds`` (beat task; only ``message_ids``
    when given, an admin's replay); returns how many.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED`` so several relays never send the same row
    at once; the age filter leaves fresh rows to their own after-commit dispatch. Event rows
    (``oms.events``) are stored in the Redis stream from here, in the order they were written
    (once: an event its own process stored already is only marked sent). Every event has a
    row, so a pass of ``limit`` rows is followed by another, up to ``passes``."""
    sent = 0
    for _ in range(passes):
        claimed, sent_now = _relay_pass(limit, min_age_seconds, message_ids)
        sent += sent_now
        if claimed < limit or message_ids is not None or sent_now == 0:
            break
    return sent


def _relay_pass(
    limit: int, min_age_seconds: float, message_ids: list[int] | None
) -> tuple[int, int]:
    """One transaction of :func:`relay`: how many rows it claimed, and sent."""
    cutoff = utcnow() - timedelta(seconds=min_age_seconds)
    with transaction() as session:
        query = sa.select(OutboxMessage).where(
            OutboxMessage.sent_at.is_(None), OutboxMessage.created_at <= cutoff
        )
        if message_ids is not None:
            query = query.where(OutboxMessage.id.in_(message_ids))
        messages = session.scalars(
            query.order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)
        ).all()
        eager = current_app.extensions["celery"].conf.task_always_eager
        sent = 0
        events_refused = broker_refused = False
        kept_since = None
        stored: list[int] = []  # event rows, marked sent by one UPDATE
        for message in messages:
            if message.task == events.OUTBOX_TASK:  # stored in the stream here, oldest first
                if events_refused:
                    continue  # Redis is away: the later ones wait, in order, for the next pass
                try:
                    kept_since = kept_since or events.kept_since(events.stream_client())
                    if message.attempts == 0 and as_utc(message.created_at) < kept_since:
                        # its process stored it (no failure noted) in the stream Redis lost
                        # since (restarted without persistence): not again, to no one twice
                        stored.append(message.id)
                        continue
                    events.deliver_stored(message.kwargs["event"])
                except redis.RedisError as exc:
                    message.attempts += 1
                    message.last_error = f"{exc.__class__.__name__}: {exc}"[:500]
                    events_refused = True
                    continue
                stored.append(message.id)
                continue
            if eager:  # after this transaction, which holds the rows' locks
                run = functools.partial(_run_in_process, message.id, message.task, message.kwargs)
                after_commit(run)
                sent += 1
                continue
            if broker_refused:
                continue  # the broker is down: the rest would fail too (events still go)
            message.attempts += 1
            message.last_error = _publish(message.task, message.kwargs)
            if message.last_error is not None:
                broker_refused = True
                continue
            message.sent_at = utcnow()
            sent += 1
        if stored:
            session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id.in_(stored))
                .values(sent_at=utcnow(), attempts=OutboxMessage.attempts + 1)
            )
        return len(messages), sent + len(stored)


def purge_sent(
    *, older_than: timedelta = timedelta(days=7), events_older_than: timedelta = timedelta(hours=1)
) -> int:
    """Delete messages sent more than ``older_than`` ago, and events' rows (one per event, the
    stream keeps the events) sent more than ``events_older_than`` ago; returns how many."""
    now = utcnow()
    with transaction() as session:
        result = session.execute(
            sa.delete(OutboxMessage).where(
                sa.or_(
                    OutboxMessage.sent_at < now - older_than,
                    sa.and_(
                        OutboxMessage.task == events.OUTBOX_TASK,
                        OutboxMessage.sent_at < now - events_older_than,
                    ),
                )
            )
        )
    return cast(sa.CursorResult, result).rowcount or 0
