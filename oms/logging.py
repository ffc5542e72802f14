"""The log lines of every process (web, socket, worker, beat, Flower and the gunicorn masters)
in one format, and the request id that ties a request to the tasks it queued.

Every line is one JSON object (``time``, ``level``, ``logger``, ``msg``, then the record's
``extra``), or readable text with ``OMS_LOG_FORMAT=text``. One handler on the root logger
writes them: the app adds it (:func:`configure_logging`), gunicorn's masters get it through
``logconfig_dict`` (:func:`gunicorn_logconfig`), and Celery is told to leave logging alone
(its ``setup_logging`` signal), so worker, beat and Flower lines go through it too.

A request's id (its ``X-Request-ID``, or a new one) rides in the headers of every task the
request queues, and from there in those of the tasks the task queues; every line written while
the request or the task runs carries it (``request_id``; task lines also ``task`` and
``task_id``).

The gunicorn masters import this module before they fork: it imports only the standard
library and python-json-logger at module level (Flask, Celery and sentry-sdk inside the
functions that hook into them).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import uuid
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

if TYPE_CHECKING:
    from flask import Flask

FORMATS = ("json", "text")
HANDLER = "oms"  # the name of the one root handler, so it is added once per process
REQUEST_ID_HEADER = "request_id"  # the task header the request id travels in

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
# What the running request or task adds to every line: request_id, task, task_id.
_context: ContextVar[dict[str, str | None] | None] = ContextVar("oms_log_context", default=None)
_task_tokens: dict[str, Token] = {}


def current_request_id() -> str | None:
    """The id of the request (or of the request that queued the task) running here."""
    return (_context.get() or {}).get("request_id")


class ContextFilter(logging.Filter):
    """Adds the running request's or task's fields to every record that lacks them."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keeps the record."""
        for key, value in (_context.get() or {}).items():
            if value is not None and not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(_LibraryJsonFormatter):
    """One JSON object per line: time (UTC, ms), level, logger, msg, then the ``extra``."""

    def __init__(self) -> None:
        super().__init__(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "message": "msg",
                "exc_info": "exc",
            },
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """RFC 3339 in UTC with milliseconds."""
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        """Lower-case levels, as the lines have always had them."""
        log_data["level"] = str(log_data.get("level", "")).lower()
        return log_data


class TextFormatter(logging.Formatter):
    """Readable lines for development: time, level, logger, message, then ``key=value``s."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The line, its extra fields, and the traceback below it."""
        line = super().format(record)
        extra = " ".join(
            f"{key}={value}"
            for key, value in vars(record).items()
            if key not in _STANDARD_ATTRS and not key.startswith("_") and value is not None
        )
        head, sep, rest = line.partition("\n")
        return f"{head} {extra}{sep}{rest}" if extra else line


_FORMATTERS = {"json": JsonFormatter, "text": TextFormatter}


def _handler(fmt: str) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(HANDLER)
    handler.setFormatter(_FORMATTERS[fmt]())
    handler.addFilter(ContextFilter())
    return handler


def configure_logging(level: str, fmt: str = "json") -> None:
    """Write every logger's lines to stderr in ``fmt``; the ``oms`` loggers at ``level``.

    Idempotent: several apps in one process (tests), and a gunicorn worker whose master set
    the handler up already, keep the one handler. Python's warnings go through it too."""
    root = logging.getLogger()
    if not any(h.get_name() == HANDLER for h in root.handlers):
        root.addHandler(_handler(fmt))
    logging.getLogger("oms").setLevel(level.upper())
    logging.captureWarnings(True)


def gunicorn_logconfig(fmt: str | None) -> dict:
    """gunicorn's ``logconfig_dict``: its own lines (``gunicorn.error``, at ``--log-level``)
    through the one root handler instead of its plain text one. Other libraries' lines from
    WARNING up, as in every process; no access log (the app logs each request itself)."""
    fmt = (fmt or "json").strip().lower()
    if fmt not in FORMATS:
        raise ValueError(f"OMS_LOG_FORMAT must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": "WARNING", "handlers": [HANDLER]},
        "loggers": {
            "gunicorn.error": {"handlers": [], "propagate": True},
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        },
        "handlers": {HANDLER: {"()": _handler, "fmt": fmt}},
        "formatters": {},
    }


# --- Celery: worker, beat and Flower lines, and the request id in task headers --------------


def _celery_setup_logging(loglevel=None, **_kwargs) -> None:
    """Celery's ``setup_logging``: with a receiver, Celery adds no handler (and redirects no
    output) of its own; the root handler is the app's, at the level given to Celery. The pool's
    logger (billiard's) does not propagate: it gets the same handler, or Python's last resort
    would print its lines as plain text."""
    from celery.utils.log import get_multiprocessing_logger

    root = logging.getLogger()
    if loglevel:
        root.setLevel(loglevel)
    handler = next(h for h in root.handlers if h.get_name() == HANDLER)  # create_app's
    pool = get_multiprocessing_logger()
    if pool is not None and handler not in pool.handlers:
        pool.addHandler(handler)


def _quiet_shutdown(sender=None, **_kwargs) -> None:
    """``worker_ready``: Celery's SIGTERM handler writes "worker: Warm shutdown" straight to
    stdout; installed again without that line (:func:`_log_shutdown` logs it instead)."""
    from celery.apps.worker import install_worker_term_handler

    install_worker_term_handler(sender.controller, verbose=False)


def _log_shutdown(sig=None, how=None, **_kwargs) -> None:
    logging.getLogger("oms.worker").info(
        "worker: %s shutdown", str(how or "").lower(), extra={"signal": sig, "how": how}
    )


def _add_request_id(headers=None, **_kwargs) -> None:
    """``before_task_publish``: the running request's (or task's) id rides in the task's
    headers."""
    request_id = current_request_id()
    if request_id and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


def _task_started(task_id=None, task=None, **_kwargs) -> None:
    """``task_prerun``: the task's lines carry its name, id and the request id it came with
    (in-process, the request's own)."""
    request_id = getattr(task.request, REQUEST_ID_HEADER, None) or current_request_id()
    fields = {"request_id": request_id, "task": task.name, "task_id": task_id}
    _task_tokens[task_id] = _context.set(fields)


def _task_finished(task_id=None, **_kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        _context.reset(token)


def register_celery_logging() -> None:
    """Hook the logging above into Celery's signals (once per process)."""
    from celery import signals

    signals.setup_logging.connect(_celery_setup_logging, weak=False, dispatch_uid="oms-logging")
    signals.before_task_publish.connect(_add_request_id, weak=False, dispatch_uid="oms-rid")
    signals.task_prerun.connect(_task_started, weak=False, dispatch_uid="oms-task-started")
    signals.task_postrun.connect(_task_finished, weak=False, dispatch_uid="oms-task-finished")
    signals.worker_ready.connect(_quiet_shutdown, weak=False, dispatch_uid="oms-quiet-shutdown")
    signals.worker_shutting_down.connect(_log_shutdown, weak=False, dispatch_uid="oms-shutdown")


# --- Requests ---------------------------------------------------------------------------------


def register_request_logging(app: Flask) -> None:
    """Keep or make an ``X-Request-ID``, return it, and log one line per request."""
    from flask import g, request

    from oms.metrics import observe_request
    from oms.request_id import request_id

    log = logging.getLogger("oms.request")

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        g.log_context = _context.set({"request_id": request_id()})

    @app.after_request
    def _finish(response):
        rid = request_id() or uuid.uuid4().hex
        response.headers["X-Request-ID"] = rid
        started = getattr(g, "request_started", None)
        duration_ms = round((time.perf_counter() - started) * 1000, 2) if started else None
        observe_request(response)
        user = getattr(g, "current_user_id", None)
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "user_id": str(user) if user else None,
                "request_id": rid,
                "remote_addr": request.remote_addr,
            },
        )
        return response

    @app.teardown_request
    def _forget(_error=None) -> None:
        token = g.pop("log_context", None)
        if token is not None:
            with contextlib.suppress(ValueError):  # set in another context: nothing to undo
                _context.reset(token)


# --- The error tracker ----------------------------------------------------------------------


def configure_error_tracker(dsn: str | None, *, environment: str) -> None:
    """Send unhandled errors of this process (web requests, Celery tasks, ERROR log lines) to
    Sentry, or to GlitchTip, which speaks the same protocol; nothing without a DSN."""
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.flask import FlaskIntegration

    if sentry_sdk.get_client().is_active():
        return  # several apps in one process
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        send_default_pii=False,  # no cookies, user addresses or client IPs
        max_request_body_size="never",  # bodies hold addresses and passwords
        integrations=[FlaskIntegration(), CeleryIntegration()],
    )
