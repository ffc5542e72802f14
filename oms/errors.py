"""The error tree of the design document and the one place that renders the error envelope.

Every error leaves the API as::

    {"error": {"code": "validation_error", "message": "...", "details": {...}, "request_id": "..."}}
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, current_app, g, jsonify, request
from flask.sansio.app import App
from werkzeug.exceptions import HTTPException

from oms.request_id import request_id

log = logging.getLogger("oms.errors")


class OMSError(Exception):
    """Base of every error a service may raise; carries its HTTP status and envelope code."""

    status = 400
    code = "bad_request"
    retry_after: int | None = None  # seconds, sent as Retry-After when set

    def __init__(self, message: str, *, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ValidationError(OMSError):
    """Input that fails validation; ``details`` maps field names to messages."""

    status = 422
    code = "validation_error"


class AuthenticationError(OMSError):
    """Missing, invalid, expired or revoked credentials."""

    status = 401
    code = "authentication_error"


class AuthorizationError(OMSError):
    """Authenticated, but the role may not do this."""

    status = 403
    code = "authorization_error"


class NotFoundError(OMSError):
    """The resource does not exist, or the caller may not know it exists."""

    status = 404
    code = "not_found"


class ConflictError(OMSError):
    """A business rule refuses the change (insufficient stock, refused transition, ...)."""

    status = 409
    code = "conflict"


class BusyError(ConflictError):
    """Conflicting changes kept colliding (deadlocks, a locked database): retry shortly."""

    code = "busy"
    retry_after = 1

    def __init__(self) -> None:
        super().__init__("The system is busy with a conflicting change; please retry.")


# HTTP errors raised by Flask/werkzeug/webargs, by status, mapped to our codes.
_HTTP_CODES = {
    400: "bad_request",
    401: "authentication_error",
    403: "authorization_error",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "service_unavailable",
}


def error_response(status: int, code: str, message: str, details: dict | None = None):
    """Render the one error envelope."""
    body = {
        "error": {
            "code": code,
            "message": message,
            "details": details or {},
            "request_id": request_id(),
        }
    }
    return jsonify(body), status


# Paths that keep the JSON envelope; every other path is a browser page with an HTML error page.
_JSON_PATHS = ("/api/", "/healthz", "/readyz", "/metrics", "/socket.io")
_ERROR_PAGE_KEY = "oms_error_page"


def register_error_page(app: App, render) -> None:
    """Let the browser pages render errors outside ``/api/`` as HTML: ``render(status, code,
    message)`` returns (response, status). The web blueprint registers its own."""
    app.extensions[_ERROR_PAGE_KEY] = render


def _respond(status: int, code: str, message: str, details: dict | None = None):
    """The envelope for the API, a friendly HTML page for browser routes."""
    render_page = current_app.extensions.get(_ERROR_PAGE_KEY)
    if render_page is not None and not request.path.startswith(_JSON_PATHS):
        return render_page(status, code, message)
    return error_response(status, code, message, details)


def _handle_oms_error(error: OMSError):
    response, status = _respond(error.status, error.code, error.message, error.details)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response, status


def _handle_http_exception(error: HTTPException):
    data = getattr(error, "data", None) or {}
    details = data.get("messages") or data.get("errors") or {}
    # webargs nests validation messages by location ("json", "query"): flatten one level.
    if isinstance(details, dict) and set(details) <= {"json", "query", "headers", "files", "form"}:
        flat: dict = {}
        for value in details.values():
            if isinstance(value, dict):
                flat.update(value)
        details = flat
    message = data.get("message") or error.description or error.name
    if error.code == 422 and details:
        message = "The request body or query did not validate."
    response, status = _respond(
        error.code or 500, _HTTP_CODES.get(error.code or 500, "http_error"), message, details
    )
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    if error.code == 429:
        from oms.limits import retry_after

        if retry_after() is not None:
            response.headers["Retry-After"] = str(retry_after())
    if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response, status


# SQLSTATE classes that mean "the database is not there": connection exceptions (08),
# the server shutting down or starting up (57P01-57P03), too many connections (53300).
_UNAVAILABLE_PGCODES = ("08", "57P01", "57P02", "57P03", "53300")
RETRY_AFTER_UNAVAILABLE = 5


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database is out of reach (not a bug, not bad input)."""
    if isinstance(error, sa.exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    pgcode = getattr(error.orig, "pgcode", None)
    if pgcode:
        return pgcode.startswith(_UNAVAILABLE_PGCODES)
    # psycopg2 gives no SQLSTATE when it cannot connect or the server went away mid-query
    return isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError) and type(
        error.orig
    ).__module__.startswith("psycopg2")


def _handle_unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return _handle_http_exception(error)
    if database_unavailable(error):
        log.warning("database unavailable", extra={"request_id": g.get("request_id")})
        response, status = _respond(
            503,
            "service_unavailable",
            "The service is briefly unavailable; please retry in a few seconds.",
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE)
        return response, status
    log.exception("unhandled error", extra={"request_id": g.get("request_id")})
    return _respond(500, "internal_error", "An unexpected error occurred.")


def register_error_handlers(app: Flask) -> None:
    """Map every error to the envelope; 500s never carry a stack trace."""
    app.register_error_handler(OMSError, _handle_oms_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)
