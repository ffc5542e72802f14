"""The API's gunicorn worker (``deploy/gunicorn_api.py``): gunicorn's gthread worker, except
that a connection gets one of the threads only once its whole request has arrived.

gthread hands a connection to a thread as soon as its first bytes come, and the thread then
blocks reading the rest: 40 clients that stall mid-headers or mid-body held all 2 x 16
threads, and nothing else was answered until they gave up. Here the worker's event loop
reads the request head and body (up to ``OMS_MAX_BODY_BYTES``) as they come, without a
thread, as nginx's buffering does in compose; a request not complete ``OMS_REQUEST_SECONDS``
after its connection was accepted (or kept alive) is dropped. The app then never waits for
its client.

Built on gthread's own event loop (gunicorn 27: its poller, connection counts and
``TConn``), which it leaves as it is for everything but when a thread is given.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import time
from collections import deque
from functools import partial

from gunicorn.workers.gthread import TConn

from oms.gunicorn_workers import ThreadWorker

REQUEST_SECONDS = float(os.environ.get("OMS_REQUEST_SECONDS") or 20)
# Bodies the app takes (MAX_CONTENT_LENGTH); a longer one goes to the app at once (413).
MAX_BODY = int(os.environ.get("OMS_MAX_BODY_BYTES") or 1024 * 1024)
MAX_HEAD = 64 * 1024  # request line and headers: a longer head is dropped
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_LENGTH = re.compile(rb"^content-length:[ \t]*(\d+)[ \t]*\r?$", re.I | re.M)
_CHUNKED = re.compile(rb"^transfer-encoding:.*chunked", re.I | re.M)
_EXPECT = re.compile(rb"^expect:[ \t]*100-continue", re.I | re.M)


def complete(data: bytes | bytearray) -> bool | None:
    """Whether ``data`` holds a whole request (head and body) for the app: True, False
    (more to come), or None (a head too long: drop it). A request the app refuses unread
    (a body over ``MAX_BODY``, a length it cannot parse) counts as whole once its head is."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None if len(data) > MAX_HEAD else False
    head, body = bytes(data[:end]), len(data) - end - 4
    if _CHUNKED.search(head):
        return data.endswith(b"0\r\n\r\n") or body > MAX_BODY
    lengths = _LENGTH.findall(head)
    if len(lengths) != 1 or int(lengths[0]) > MAX_BODY:
        return True  # none: no body; several or too long: the app answers without reading
    return body >= int(lengths[0])


class BufferingThreadWorker(ThreadWorker):
    """gthread, whose threads only ever see requests that have wholly arrived (and whose own
    refusals carry the envelope: oms.gunicorn_workers)."""

    def init_process(self):
        """gthread's, and the connections whose request is still arriving."""
        self.arriving: deque[TConn] = deque()  # by deadline, as they all get the same delay
        super().init_process()

    def enqueue_req(self, conn):
        """Read the connection's request without a thread; a thread once it is whole."""
        pending = conn.parser is not None and conn.parser.unreader.take_buffered()
        if pending or self.cfg.is_ssl:
            # a pipelined request already read by the parser: give it back, and let it go on
            if pending:
                conn.parser.unreader.unread(pending)
            super().enqueue_req(conn)
            return
        conn.arrived = bytearray()
        conn.continued = False
        conn.timeout = time.monotonic() + REQUEST_SECONDS
        self.arriving.append(conn)
        conn.sock.setblocking(False)
        self._read(conn)

    def _read(self, conn) -> None:
        """Read what has come; hand the request over when whole, else wait for more."""
        try:
            while data := conn.sock.recv(65536):
                conn.arrived += data
                whole = complete(conn.arrived)
                if whole is None:
                    break
                if whole:
                    self._hand_over(conn)
                    return
                head, ended, _ = bytes(conn.arrived).partition(b"\r\n\r\n")
                if ended and not conn.continued and _EXPECT.search(head):
                    # the client waits for this before it sends the body
                    conn.continued = True
                    conn.sock.send(_CONTINUE)
            # the client closed, or its head is too long
            self._drop(conn)
        except BlockingIOError:
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))
        except OSError:
            self._drop(conn)

    def _readable(self, conn, sock) -> None:
        self.poller.unregister(sock)
        self._read(conn)

    def _hand_over(self, conn) -> None:
        self.arriving.remove(conn)
        try:
            conn.init()  # the parser, which reads what has arrived before the socket
        except OSError:
            self._close(conn)
            return
        conn.parser.unreader.unread(bytes(conn.arrived))
        conn.data_ready = True  # no wait for data in the thread
        del conn.arrived
        super().enqueue_req(conn)

    def _drop(self, conn) -> None:
        self.arriving.remove(conn)
        self._close(conn)

    def _close(self, conn) -> None:
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self):
        """gthread's own, and requests still arriving past their deadline are dropped."""
        super().murder_pending()
        now = time.monotonic()
        while self.arriving and self.arriving[0].timeout <= now:
            conn = self.arriving.popleft()
            with contextlib.suppress(OSError, KeyError, ValueError):
                self.poller.unregister(conn.sock)
            self._close(conn)
