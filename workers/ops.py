"""The dead-letter signal: a task that fails for good is written to ``dead_letters``; and
crash reports: a pool process killed by a fatal signal writes its Python stack to the log.

``task_failure`` is sent only for a run that ended in an error: a task that asks for a retry
(``Retry``, autoretry) is not failed; one whose retries ran out re-raises its error and is. A
worker lost mid-task hands the task back to the broker (``task_reject_on_worker_lost``): not
failed for good either."""

from __future__ import annotations

import faulthandler
import logging
import sys

from billiard.exceptions import WorkerLostError
from celery import signals

from oms.ops import service

log = logging.getLogger("oms.ops")


@signals.task_failure.connect(weak=False)
def record_failure(
    sender=None, task_id=None, exception=None, args=None, kwargs=None, einfo=None, **_extra
) -> None:
    """Write the failed run to the dead-letter table (never raising into Celery)."""
    app = getattr(sender, "_oms_flask_app", None)
    if app is None or exception is None or isinstance(exception, WorkerLostError):
        return
    request = getattr(sender, "request", None)
    try:
        with app.app_context():
            service.record_dead_letter(
                task=sender.name,
                task_id=task_id,
                args=args,
                kwargs=kwargs,
                error=exception,
                traceback=str(einfo.traceback) if einfo is not None else None,
                worker=getattr(request, "hostname", None),
            )
    except Exception:
        log.exception("dead letter not recorded", extra={"task": sender.name})


@signals.worker_process_init.connect(weak=False)
def report_crashes(**_extra) -> None:
    """A pool process killed by a fatal signal (a segfault in a C extension) first writes every
    thread's Python stack to the worker's log: the task it ran is then known, not guessed.
    The real stderr: Celery has put a logging proxy, which has no file descriptor, in its place."""
    faulthandler.enable(file=sys.__stderr__, all_threads=True)
