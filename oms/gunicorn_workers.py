"""gunicorn worker classes whose own refusals carry the API's error envelope.

gunicorn answers some requests before the app sees them: a request line over
``limit_request_line`` (414), a malformed request line or header (control bytes, both
Content-Length and Transfer-Encoding: 400), headers over their limit (431). It writes those in
``Worker.handle_error`` with ``gunicorn.util.write_error``, an HTML page. These workers keep
gunicorn's ``handle_error`` (its decisions, its log and access-log lines) and hand it a socket
that writes the envelope instead, with a request id in the body and in ``X-Request-ID``.

Used by ``deploy/gunicorn_api.py`` (gthread) and ``deploy/gunicorn_socket.py`` (gevent). No
Flask here: the app may not even be loaded when gunicorn refuses a request.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from gunicorn.workers.ggevent import GeventWorker as _GeventWorker
from gunicorn.workers.gthread import ThreadWorker as _ThreadWorker

# gunicorn's status -> (envelope code, words for a person); its own message may quote the
# request back, so it is not sent.
REFUSALS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "The request is not valid HTTP."),
    403: ("authorization_error", "The request was refused."),
    414: ("uri_too_long", "The request line is too long; send fewer or shorter filters."),
    417: ("expectation_failed", "The Expect header asks for something this server does not do."),
    431: ("headers_too_large", "The request headers are too large."),
    500: ("internal_error", "An unexpected error occurred."),
    501: ("not_implemented", "The request uses a transfer coding this server does not read."),
}


def envelope_response(status: int, reason: str) -> tuple[bytes, str]:
    """The raw HTTP answer for gunicorn's ``status``, and its request id."""
    code, message = REFUSALS.get(status, ("http_error", reason))
    request_id = uuid.uuid4().hex
    body = json.dumps(
        {"error": {"code": code, "message": message, "details": {}, "request_id": request_id}}
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Request-ID: {request_id}\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Cache-Control: no-store\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body, request_id


class _EnvelopeSocket:
    """The client socket as ``gunicorn.util.write_error`` sees it: the error page it sends is
    replaced by the envelope of the same status (its first line says which)."""

    def __init__(self, sock: Any, log: Any):
        self._sock = sock
        self._log = log

    def sendall(self, data: bytes) -> None:
        """Send the envelope for the status of gunicorn's page ``data``."""
        status_line = data.split(b"\r\n", 1)[0].decode("latin-1")
        _, status, reason = status_line.split(" ", 2)  # "HTTP/1.1 414 URI Too Long"
        answer, request_id = envelope_response(int(status), reason)
        self._log.info("refused before the app: %s, request_id=%s", status, request_id)
        self._sock.sendall(answer)

    def __getattr__(self, name: str) -> Any:  # gettimeout, setblocking, ...
        return getattr(self._sock, name)


class EnvelopeErrors:
    """Mixin for a gunicorn worker: its own error answers carry the envelope."""

    log: Any

    def handle_error(self, req, client, addr, exc) -> None:
        """gunicorn's handling, with the envelope written instead of its page."""
        super().handle_error(req, _EnvelopeSocket(client, self.log), addr, exc)  # type: ignore[misc]


class ThreadWorker(EnvelopeErrors, _ThreadWorker):
    """gunicorn's gthread worker (the API processes) with enveloped refusals."""


class GeventWorker(EnvelopeErrors, _GeventWorker):
    """gunicorn's gevent worker (the socket processes) with enveloped refusals."""
