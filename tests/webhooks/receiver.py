"""A webhook receiver run as its own process by the tests: it checks every delivery with the
secret in ``--secret-file`` (read per request, so the test writes it after creating the
endpoint) as a Standard Webhooks consumer does, with the ``standardwebhooks`` package
(``valid``), and the deprecated ``X-OMS-Signature`` by hand (``legacy_valid``); appends what
it got as one JSON line to ``--log``, and answers by the rules in ``--rules-file`` (JSON, read
per request): ``{"fail": N}`` answers 500 to the first N requests, ``{"status": S}`` answers S
to every request, ``{"hang": true}`` holds every request open without answering (the worker is
killed meanwhile). Otherwise 200; 401 when either signature is bad.

    python tests/webhooks/receiver.py PORT LOG SECRET_FILE RULES_FILE
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError

PORT, LOG, SECRET_FILE, RULES_FILE = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
lock = threading.Lock()
seen = {"n": 0}


def read(path: str, default: str) -> str:
    file = Path(path)
    return file.read_text() if file.exists() else default


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        secret = read(SECRET_FILE, "").strip()
        try:
            Webhook(secret).verify(body, dict(self.headers.items()))
            valid = True
        except (WebhookVerificationError, EmptyWebhookSecretError):  # or no secret written yet
            valid = False
        timestamp = self.headers.get("X-OMS-Timestamp", "")
        expected = (
            "v1="
            + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        )
        legacy_valid = hmac.compare_digest(expected, self.headers.get("X-OMS-Signature", ""))
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300
        rules = json.loads(read(RULES_FILE, "{}") or "{}")
        with lock:
            seen["n"] += 1
            number = seen["n"]
        if not valid or not legacy_valid or not fresh:
            status = 401
        elif rules.get("hang"):
            status = 0
        elif number <= rules.get("fail", 0):
            status = 500
        else:
            status = rules.get("status", 200)
        entry = {
            "n": number,
            "status": status,
            "valid": valid,
            "legacy_valid": legacy_valid,
            "fresh": fresh,
            "headers": {
                k: v for k, v in self.headers.items() if k.startswith(("X-OMS-", "webhook-"))
            },
            "body": json.loads(body),
        }
        with lock, open(LOG, "a") as log:
            log.write(json.dumps(entry) + "\n")
        if status == 0:
            time.sleep(120)
            return
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok" if status == 200 else f"answer {status}".encode())


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
