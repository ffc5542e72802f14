"""The embedded default's beat: with no broker there is no ``celery beat`` process, so the web
process runs beat's schedule itself (webhook retries, the outbox relay, the pending-order
sweep, the email resend sweep, purges, the stock reconciler).

It is Celery's own beat service on a daemon thread (``celery.beat.EmbeddedService``, what
``celery worker -B`` runs), with the in-memory scheduler: with ``task_always_eager`` each due
task runs on that thread, in an app context of its own. It starts on the process's first
request, once: the Flask reloader's watching parent and CLI commands never serve one, so they
never start it; a deployment with a broker never starts it (its beat process does the work).
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

log = logging.getLogger("oms.scheduler")

_lock = threading.Lock()
_beat = None  # this process's beat thread, once started


def wanted(app: Flask) -> bool:
    """Whether ``app`` runs beat's schedule itself: tasks run in-process (no broker) and
    ``OMS_EMBEDDED_SCHEDULER`` is on."""
    return bool(
        app.config["OMS_EMBEDDED_SCHEDULER"] and app.extensions["celery"].conf.task_always_eager
    )


def register(app: Flask) -> None:
    """Start the beat thread on the first request of a process that wants it."""
    if not wanted(app):
        return

    @app.before_request
    def _start_scheduler() -> None:
        if _beat is None:
            start(app)


def start(app: Flask) -> None:
    """Start this process's beat thread (once; later calls do nothing)."""
    global _beat
    from celery.beat import EmbeddedService

    with _lock:
        if _beat is not None:
            return
        _beat = EmbeddedService(
            app.extensions["celery"], thread=True, scheduler_cls="celery.beat:Scheduler"
        )
        _beat.start()
    log.info("embedded scheduler started", extra={"tasks": sorted(_schedule_of(app))})


def stop() -> None:
    """Stop the beat thread (it finishes the task it runs) and let a later request start one."""
    global _beat
    with _lock:
        beat, _beat = _beat, None
    if beat is not None:
        beat.stop()
        beat.join(10)


def _schedule_of(app: Flask) -> dict:
    return dict(app.extensions["celery"].conf.beat_schedule or {})
