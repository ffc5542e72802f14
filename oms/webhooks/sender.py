"""One HTTP POST of a webhook delivery, to the address that was checked (never re-resolved),
with a timeout, keeping the start of the answer for the delivery log. Redirects are not
followed (a 3xx is an answer like any other)."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from oms.webhooks.addresses import Target

EXCERPT_BYTES = 1000


@dataclass(frozen=True)
class Answer:
    """What came back: a status and the first part of the body, or the network error."""

    status: int | None
    excerpt: str | None
    error: str | None
    duration_ms: int


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # the certificate is checked against the URL's host name, not the address
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(target: Target, body: bytes, headers: dict[str, str], *, timeout: float) -> Answer:
    """POST ``body``; never raises for what the network or the receiver does."""
    started = time.monotonic()
    kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    connection = kind(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_BYTES).decode("utf-8", errors="replace")
        status, error = response.status, None
    except (OSError, http.client.HTTPException) as exc:
        status, excerpt, error = None, None, f"{exc.__class__.__name__}: {exc}"[:500]
    finally:
        connection.close()
    return Answer(status, excerpt, error, int((time.monotonic() - started) * 1000))
