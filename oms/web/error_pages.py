"""Friendly HTML error pages (403, 404, 500 and the rest) for browser routes.

:mod:`oms.errors` calls :func:`render_error_page` for every path outside the API; the API keeps
its JSON envelope. Rendering must never fail in turn, so a broken template falls back to text.
"""

from __future__ import annotations

import logging

from flask import make_response, render_template

from oms.request_id import request_id

log = logging.getLogger("oms.web")

TITLES = {
    400: "That request did not make sense",
    401: "Please log in",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That action is not possible here",
    413: "That was too much data",
    429: "Slow down a little",
    500: "Something went wrong on our side",
}

HINTS = {
    403: "You are logged in, but your account's role may not open this page.",
    404: "The address may be mistyped, or the thing it pointed to no longer exists.",
    429: "Too many requests came from your address. Wait a moment and try again.",
    500: "The error was logged. Try again in a moment; if it keeps happening, tell us the "
    "request id below.",
}


def render_error_page(status: int, code: str, message: str):
    """The HTML error page for ``status`` as a (response, status) pair, like the envelope."""
    template = f"errors/{status}.html" if status in (403, 404, 500) else "errors/error.html"
    # Internals never reach the page: a 500 shows only the generic text.
    shown = None if status >= 500 else message
    try:
        body = render_template(
            template,
            status=status,
            code=code,
            title=TITLES.get(status, "Something went wrong"),
            hint=HINTS.get(status),
            message=shown,
            request_id=request_id(),
        )
    except Exception:  # a failing error page must not hide the original error
        log.exception("error page failed to render")
        body = f"{status} {TITLES.get(status, 'Error')}"
    return make_response(body, status), status
