"""Stuck work found and replayed, and the dead-letter table.

:func:`problems` lists what the safety nets did not (or could not) finish, by kind
(``oms.ops.queries`` says what counts as stuck). :func:`replay` hands one problem back to the
mechanism that owns it, in one transaction with its audit entry: the outbox relays its row, a
pending order's reservation task is queued again, a notification's task is queued again (its
claim keeps the send at most once), an export runs again, a webhook delivery is resent and a
dead letter's task is sent again. :func:`record_dead_letter` is called by the Celery signal of
a task that failed for good (``workers/ops.py``).
"""

from __future__ import annotations

import inspect
import json
import logging
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from oms import tasks
from oms.audit import service as audit
from oms.db import rowcount, transaction, utcnow
from oms.exports import service as exports
from oms.extensions import db
from oms.notifications import service as notifications
from oms.ops.enums import ProblemKind
from oms.ops.errors import NotStuck, ProblemNotFound
from oms.ops.models import DeadLetter
from oms.ops.queries import KINDS, Problem, Thresholds
from oms.outbox import service as outbox
from oms.webhooks import service as webhooks

log = logging.getLogger("oms.ops")

COUNT_CAP = 10_000  # counts are exact up to here (a flood is "10,000+", never a slow count)
TRACEBACK_CHARS = 4000  # the end of a traceback is where the error is


def thresholds() -> Thresholds:
    """The settings that say how long each kind of work may take, as of now."""
    config = current_app.config
    return Thresholds(
        now=utcnow(),
        pending=timedelta(minutes=config["OMS_PROBLEM_PENDING_MINUTES"]),
        outbox=timedelta(minutes=config["OMS_PROBLEM_OUTBOX_MINUTES"]),
        notification=timedelta(minutes=config["OMS_NOTIFICATION_RESEND_MINUTES"]),
        export_stale=timedelta(seconds=config["OMS_EXPORT_STALE_SECONDS"]),
        export_queued=max(
            timedelta(seconds=config["OMS_EXPORT_STALE_SECONDS"]), exports.QUEUED_RESEND_AFTER
        ),
    )


def problems(*, kind: ProblemKind | None = None, limit: int = 50) -> dict:
    """The oldest ``limit`` problems (of ``kind``, or of every kind), oldest first, and how
    many there are of each kind."""
    t = thresholds()
    found: list[Problem] = []
    counts: dict[str, int] = {}
    for name, spec in KINDS.items():
        if kind is not None and name != kind:
            counts[name.value] = 0
            continue
        query = spec.stuck(t)
        capped = (
            query.with_only_columns(sa.literal(1), maintain_column_froms=True)
            .limit(COUNT_CAP + 1)
            .subquery()
        )
        counts[name.value] = db.session.scalar(sa.select(sa.func.count()).select_from(capped)) or 0
        rows = db.session.scalars(query.order_by(spec.since).limit(limit)).all()
        found += [spec.present(row, t) for row in rows]
    found.sort(key=lambda problem: problem.since)
    return {
        "items": found[:limit],
        "limit": limit,
        "counts": counts,
        "has_more": sum(counts.values()) > min(limit, len(found)),
    }


def _parse(kind: str, problem_id: str):
    try:
        name = ProblemKind(kind)
        return name, KINDS[name].parse_id(problem_id)
    except ValueError:
        raise ProblemNotFound(kind, problem_id) from None


def _lock_stuck(name: ProblemKind, key, t: Thresholds):
    spec = KINDS[name]
    row = db.session.scalars(
        spec.stuck(t).where(spec.model.id == key).with_for_update(skip_locked=True)
    ).one_or_none()
    if row is None:
        if db.session.get(spec.model, key) is None:
            raise ProblemNotFound(name.value, str(key))
        raise NotStuck(name.value, str(key))  # done meanwhile, or locked by its own worker
    return row


def _replay_dead_letter(letter: DeadLetter) -> str:
    """Send the task again with its arguments, through the outbox (kwargs only: positional
    arguments are bound to the task's parameter names)."""
    task = current_app.extensions["celery"].tasks.get(letter.task)
    if task is None:
        raise NotStuck(ProblemKind.DEAD_LETTER.value, f"{letter.id} (task {letter.task} unknown)")
    try:
        kwargs = dict(inspect.signature(task.run).bind(*letter.args, **letter.kwargs).arguments)
    except TypeError:
        kwargs = dict(letter.kwargs)  # arguments the task no longer takes: its own error again
    outbox.enqueue(letter.task, **kwargs)
    letter.replayed_at = utcnow()
    return f"task {letter.task} sent again"


def _act(name: ProblemKind, row) -> str:
    if name == ProblemKind.PENDING_ORDER:
        outbox.enqueue(tasks.RESERVE_ORDER, order_id=str(row.id))
        return "reservation queued again"
    if name == ProblemKind.OUTBOX_MESSAGE:
        outbox.relay(message_ids=[row.id], min_age_seconds=0, limit=1)
        return "handed to the broker again"
    if name == ProblemKind.NOTIFICATION:
        notifications.resend(notification_id=row.id)
        return "email task queued again"
    if name == ProblemKind.EXPORT:
        exports.rerun(job_id=row.id)
        return "export queued again"
    if name == ProblemKind.WEBHOOK_DELIVERY:
        resent = webhooks.resend(endpoint_id=row.endpoint_id, delivery_id=row.id)
        db.session.flush()
        return f"resent as delivery {resent.id}"
    return _replay_dead_letter(row)


def replay(*, kind: str, problem_id: str) -> dict:
    """Hand one stuck thing back to its mechanism now, with an audit entry; a thing no longer
    stuck is a 409 (nothing is replayed twice by a double click)."""
    name, key = _parse(kind, problem_id)
    with transaction():
        t = thresholds()
        row = _lock_stuck(name, key, t)
        problem = KINDS[name].present(row, t)
        action = _act(name, row)
        audit.record(
            "problem.replayed",
            entity_type="problem",
            entity_id=key if isinstance(key, uuid.UUID) else None,
            before={"kind": name.value, "id": str(key), "reason": problem.reason},
            after={"action": action},
        )
    return {"kind": name.value, "id": str(key), "action": action}


def _jsonable(value):
    """Arguments as JSON (a task sent in-process may carry a UUID or a date)."""
    return json.loads(json.dumps(value, default=str))


def record_dead_letter(
    *,
    task: str,
    task_id: str | None,
    args: list | tuple | None,
    kwargs: dict | None,
    error: BaseException,
    traceback: str | None,
    worker: str | None,
) -> None:
    """Keep a task that failed for good, with what it takes to send it again."""
    with transaction() as session:
        session.add(
            DeadLetter(
                task=task,
                task_id=task_id,
                args=_jsonable(list(args or ())),
                kwargs=_jsonable(dict(kwargs or {})),
                error=f"{error.__class__.__name__}: {error}"[:2000],
                traceback=(traceback or "")[-TRACEBACK_CHARS:] or None,
                worker=worker,
                failed_at=utcnow(),
            )
        )


def purge_replayed(*, older_than: timedelta = timedelta(days=30)) -> int:
    """Delete dead letters replayed more than ``older_than`` ago (their audit entry stays);
    returns how many. Unreplayed ones are kept until an admin replays them."""
    with transaction() as session:
        result = session.execute(
            sa.delete(DeadLetter).where(DeadLetter.replayed_at < utcnow() - older_than)
        )
    return rowcount(result)
