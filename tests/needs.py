"""What some tests need beyond PostgreSQL and Redis (those the whole run needs, and the preflight
in tests/conftest.py checks them first): RabbitMQ, nginx, Chromium, a compose implementation.

A test names what it needs with ``@pytest.mark.needs("rabbitmq")`` (a test using the
``browser`` fixture needs ``chromium`` without saying so). Before any of its fixtures start,
where the thing is missing, the test is skipped with the reason and the command that provides
it (`make services`); where its ``OMS_REQUIRE_*`` variable is 1 it fails instead. CI
(.ci/run) sets them all, so a missing part never passes as green there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from tests.e2e.browser import chromium_problem

RABBITMQ_URL = os.environ.get("OMS_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


@cache
def rabbitmq_problem() -> str | None:
    """Why RabbitMQ cannot be used, or None."""
    from kombu import Connection

    try:
        with Connection(RABBITMQ_URL, connect_timeout=3) as connection:
            connection.connect()
    except Exception as exc:
        return (
            f"RabbitMQ does not answer at {Connection(RABBITMQ_URL).as_uri()} ({exc}): "
            "`make services` installs and starts it (or set OMS_TEST_RABBITMQ_URL)"
        )
    return None


def nginx_path() -> str | None:
    """Debian's nginx (``OMS_NGINX`` overrides the path), or None."""
    configured = os.environ.get("OMS_NGINX")
    if configured:
        return configured if shutil.which(configured) else None
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


def nginx_problem() -> str | None:
    """Why nginx cannot be run with the certificates the proxy tests make, or None."""
    if nginx_path() is None:
        where = os.environ.get("OMS_NGINX") or "on PATH or in /usr/sbin"
        return f"nginx is not installed ({where}): `make services` installs Debian's nginx"
    if shutil.which("openssl") is None:
        return "openssl is not installed: `make services` installs it"
    return None


@cache
def compose_command() -> tuple[str, ...] | None:
    """``docker compose`` or ``docker-compose``, whichever is installed, or None."""
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        return ("docker", "compose")
    if shutil.which("docker-compose"):
        return ("docker-compose",)
    return None


def compose_problem() -> str | None:
    """Why docker-compose.yml cannot be validated, or None."""
    if compose_command() is None:
        return (
            "neither `docker compose` nor `docker-compose` is installed: "
            "`make services` installs docker-compose"
        )
    return None


SOCKETIO_CLIENT = Path(__file__).resolve().parent / "ops" / "socketio_client"


def node_problem() -> str | None:
    """Why the npm socket.io-client (locked in tests/ops/socketio_client) cannot run, or None."""
    if shutil.which("node") is None:
        return "node is not installed: `make services` installs it"
    if not (SOCKETIO_CLIENT / "node_modules" / "socket.io-client").is_dir():
        return (
            "the npm socket.io-client is not installed: `make services` runs "
            "`npm ci --prefix tests/ops/socketio_client`"
        )
    return None


# What a test may need: the variable that makes its absence a failure, and the check.
NEEDS: dict[str, tuple[str, Callable[[], str | None]]] = {
    "rabbitmq": ("OMS_REQUIRE_RABBITMQ", rabbitmq_problem),
    "nginx": ("OMS_REQUIRE_NGINX", nginx_problem),
    "chromium": ("OMS_REQUIRE_BROWSER", chromium_problem),
    "compose": ("OMS_REQUIRE_COMPOSE", compose_problem),
    "node": ("OMS_REQUIRE_NODE", node_problem),
}


def require(name: str) -> None:
    """Skip the running test (loudly) or fail it when ``name`` is missing."""
    variable, problem_of = NEEDS[name]
    problem = problem_of()
    if problem is None:
        return
    message = f"{name.upper()} TESTS NOT RUN: {problem}."
    if os.environ.get(variable) == "1":
        pytest.fail(f"{message} {variable}=1 makes this a failure.", pytrace=False)
    pytest.skip(f"{message} Set {variable}=1 to make this a failure.")
