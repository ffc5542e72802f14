"""The id of a request: the client's ``X-Request-ID`` when it is a sane one, else a new one.
Every log line, error envelope and audit entry of a request carries it (oms.logging sends it
back in ``X-Request-ID``). A module of its own, below everything that reports errors."""

from __future__ import annotations

import re
import uuid

from flask import g, has_request_context, request

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_REQUEST_ID_KEY = "oms.request_id"


def request_id() -> str | None:
    """This request's id: the client's ``X-Request-ID`` when it is a sane one, else a new one;
    the same for every caller. Decided on first use, so an answer given before the request
    hooks ran (the rate limiter refuses in a ``before_request`` of its own) has it too."""
    if not has_request_context():
        return None
    rid = request.environ.get(_REQUEST_ID_KEY)  # per request (g can outlive one in tests)
    if rid is None:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        request.environ[_REQUEST_ID_KEY] = rid
    g.request_id = rid  # where the audit log and the error log read it
    return rid
