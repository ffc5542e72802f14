"""A real receiver process for the webhook tests, and an admin's endpoint pointing at it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import free_port, wait_for

RECEIVER = Path(__file__).with_name("receiver.py")


class Receiver:
    """The receiver process: ``url`` to register, ``requests()`` what it got, ``rules()`` how
    it answers next, ``secret()`` the endpoint secret it checks signatures with."""

    def __init__(self, tmp_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks?src=oms"
        self.log = tmp_path / "received.jsonl"
        self.secret_file = tmp_path / "secret"
        self.rules_file = tmp_path / "rules.json"
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(RECEIVER),
                str(self.port),
                str(self.log),
                str(self.secret_file),
                str(self.rules_file),
            ]
        )

        def up() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False

        assert wait_for(up, 10)

    def secret(self, value: str) -> None:
        self.secret_file.write_text(value)

    def rules(self, **rules) -> None:
        self.rules_file.write_text(json.dumps(rules))

    def requests(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)


@pytest.fixture
def receiver(tmp_path):
    process = Receiver(tmp_path)
    yield process
    process.stop()


@pytest.fixture
def allow_private(app, monkeypatch):
    """OMS_WEBHOOKS_ALLOW_PRIVATE on: the receiver listens on 127.0.0.1."""
    monkeypatch.setitem(app.config, "OMS_WEBHOOKS_ALLOW_PRIVATE", True)
