"""Structured JSON log lines (pino-like) and the request id that ties them together."""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, request

from oms.metrics import observe_request
from oms.request_id import request_id

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, msg, plus whatever ``extra`` carried."""

    def format(self, record: logging.LogRecord) -> str:
        """One JSON object per line for ``record``."""
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: str) -> None:
    """Send the ``oms`` loggers to stderr as JSON lines (idempotent across app instances)."""
    logger = logging.getLogger("oms")
    logger.setLevel(level.upper())
    if not any(getattr(h, "_oms", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._oms = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False


def register_request_logging(app: Flask) -> None:
    """Keep or make an ``X-Request-ID``, return it, and log one line per request."""
    log = logging.getLogger("oms.request")

    @app.before_request
    def _start() -> None:
        request_id()
        g.request_started = time.perf_counter()

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
