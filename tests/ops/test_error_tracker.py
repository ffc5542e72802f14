"""Unhandled errors of web and worker processes reach the error tracker (OMS_SENTRY_DSN): a
real envelope endpoint on 127.0.0.1, the protocol Sentry and GlitchTip both speak, receives
them from a real web process and a real Celery worker."""

from __future__ import annotations

import gzip
import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import brotli
import pytest

from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.processes import BIN, PrivateRedis, Process, free_port, stack_env, wait_for

pytestmark = pytest.mark.slow  # web and worker processes


class EnvelopeReceiver:
    """An HTTP server that takes Sentry envelopes (``POST /api/<project>/envelope/``) and keeps
    the events in them."""

    def __init__(self):
        self.events: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                # sentry-sdk compresses with brotli where it is installed (flask-compress
                # brings it), with gzip otherwise
                encoding = self.headers.get("Content-Encoding")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "br":
                    body = brotli.decompress(body)
                receiver.take(self.path, body)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def dsn(self) -> str:
        return f"http://public-key@127.0.0.1:{self.port}/7"

    def take(self, path: str, body: bytes) -> None:
        assert path == "/api/7/envelope/", path
        lines = body.split(b"\n")
        # envelope header, then (item header, payload) pairs
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if header.strip() and json.loads(header).get("type") == "event":
                self.events.append(json.loads(payload))

    def errors(self) -> list[tuple[str, str]]:
        """(type, message) of every exception received."""
        return [
            (value["type"], value["value"])
            for event in self.events
            for value in event.get("exception", {}).get("values", [])
        ]

    def close(self) -> None:
        self.server.shutdown()


def _get(url: str, headers: dict | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:  # not listening yet
        return 0


def test_unhandled_errors_of_a_request_and_a_task_reach_the_error_tracker(app_ctx, tmp_path):
    receiver = EnvelopeReceiver()
    # a broker of its own: another test's worker still running on the session's broker (the
    # browser tests' one) would take the failing task, which it does not know, and drop it
    broker = PrivateRedis()
    broker.start()
    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        broker_url=broker.url,
        OMS_SENTRY_DSN=receiver.dsn,
    )
    port = free_port()
    web = Process(
        [str(BIN / "flask"), "--app", "tests.ops.error_app", "run", "--port", str(port)],
        env,
        tmp_path / "web.log",
    )
    worker = Process(
        [
            str(BIN / "celery"),
            "-A",
            "tests.ops.error_app:celery",
            "worker",
            "-P",
            "solo",
            "-l",
            "INFO",
        ],
        env,
        tmp_path / "worker.log",
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_for(lambda: _get(f"{base}/healthz") == 200, 60), web.log()
        assert _get(f"{base}/fail") == 500
        assert wait_for(
            lambda: ("RuntimeError", "a request failed on purpose") in receiver.errors(), 30
        ), (receiver.events, web.log())
        assert wait_for(lambda: "ready." in worker.log(), 60), worker.log()
        assert _get(f"{base}/fail-in-task", {"X-Request-ID": "tracked-1"}) == 200
        assert wait_for(
            lambda: ("RuntimeError", "a task failed on purpose") in receiver.errors(), 30
        ), (receiver.events, worker.log())

        # the task's failure line carries the id of the request that queued it
        def failure_lines() -> list[dict]:
            lines = worker.log().splitlines()
            return [json.loads(line) for line in lines if "failed on purpose" in line]

        assert wait_for(
            lambda: any(line.get("request_id") == "tracked-1" for line in failure_lines()), 30
        ), worker.log()
    finally:
        web.stop()
        worker.stop()
        receiver.close()
        broker.stop()
