"""``make run PORT=...`` writes the links of its emails to the port it serves on (not to
5000): a real ``make run`` on a free port, a registration, the confirmation link read from
the email it wrote, opened and confirmed."""

from __future__ import annotations

import os
import urllib.request

import pytest

from tests.integration.conftest import http
from tests.mail import mailed_url
from tests.processes import Process, free_port, wait_for

pytestmark = pytest.mark.slow


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def test_make_run_on_a_port_mails_links_to_that_port(tmp_path):
    instance = tmp_path / "instance"
    env = {  # a newcomer's shell: no OMS_PUBLIC_URL
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "LANG": "C.UTF-8",
        "OMS_INSTANCE_DIR": str(instance),
        "OMS_BCRYPT_ROUNDS": "4",
        "PYTHONUNBUFFERED": "1",
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = Process(["make", "run", f"PORT={port}"], env, tmp_path / "run.log")
    try:
        wait_for(lambda: _healthy(base) or process.popen.poll() is not None, 300)
        assert _healthy(base), process.log()[-3000:]
        status, body = http(
            "POST",
            f"{base}/api/v1/auth/register",
            {
                "email": "newcomer@example.test",
                "password": "long-enough-1",
                "first_name": "Nora",
                "last_name": "Newcomer",
            },
        )
        assert status == 202, body
        link = mailed_url(instance / "mail", "newcomer@example.test", "/register/confirm")
        assert link.startswith(f"{base}/register/confirm#token="), link
        page, _, token = link.partition("#token=")
        with urllib.request.urlopen(page, timeout=10) as response:
            assert response.status == 200
        status, body = http("POST", f"{base}/api/v1/auth/register/confirm", {"token": token})
        assert status == 200, body
    finally:
        process.stop()
