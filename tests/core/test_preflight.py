"""A test run on a machine without the services: the preflight (tests/conftest.py) stops it at
once naming what is missing and `make services`; tests needing RabbitMQ or nginx skip saying
so, or fail where CI requires them (tests/needs.py). Each case is a pytest run of its own."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import TEST_DATABASE_URL
from tests.processes import ROOT, free_port

RABBITMQ_TEST = "tests/ops/test_brokers_and_shutdown.py::test_rabbitmq_broker_works_like_redis"
NGINX_TEST = "tests/ops/test_proxy.py::test_one_address_routes_the_api_and_socketio"
# A test that uses the database and Redis, as most do.
DATABASE_TEST = "tests/security/test_audit.py::test_the_log_is_append_only"

pytestmark = pytest.mark.slow  # each test starts a pytest process


def _pytest(*args: str, **env: str) -> tuple[int, str]:
    """Run pytest in a fresh process: not this run's xdist worker, none of CI's requirements;
    its database is never this run's (a run that got past the preflight would reset it)."""
    base = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYTEST_", "OMS_REQUIRE_"))
    }
    url = make_url(TEST_DATABASE_URL)
    base["OMS_TEST_DATABASE_URL"] = url.set(database=f"{url.database}_preflight").render_as_string(
        hide_password=False
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.returncode, result.stdout + result.stderr


def test_without_postgresql_and_redis_the_run_stops_naming_both_and_make_services():
    database_port, redis_port = free_port(), free_port()
    code, output = _pytest(
        DATABASE_TEST,
        OMS_TEST_DATABASE_URL=f"postgresql+psycopg2://postgres@127.0.0.1:{database_port}/oms_test",
        OMS_TEST_REDIS_URL=f"redis://127.0.0.1:{redis_port}/15",
        OMS_TEST_BROKER_URL=f"redis://127.0.0.1:{redis_port}/14",
    )
    assert code == 4, output  # pytest's usage error: nothing ran
    assert "Traceback" not in output and len(output.strip().splitlines()) <= 6, output
    assert f"PostgreSQL at 127.0.0.1:{database_port} (OMS_TEST_DATABASE_URL)" in output
    assert f"Redis at 127.0.0.1:{redis_port} (OMS_TEST_REDIS_URL)" in output
    assert "Connection refused" in output
    assert "Run `make services`" in output


def test_only_what_is_missing_is_named():
    redis_port = free_port()
    code, output = _pytest(
        DATABASE_TEST,
        OMS_TEST_REDIS_URL=f"redis://127.0.0.1:{redis_port}/15",
        OMS_TEST_BROKER_URL=f"redis://127.0.0.1:{redis_port}/14",
    )
    assert code == 4, output
    assert f"Redis at 127.0.0.1:{redis_port}" in output and "make services" in output
    assert "PostgreSQL at" not in output and "Traceback" not in output


def test_rabbitmq_and_nginx_tests_skip_outside_ci_saying_why():
    code, output = _pytest(
        RABBITMQ_TEST,
        NGINX_TEST,
        "-rs",
        OMS_TEST_RABBITMQ_URL=f"amqp://guest:guest@127.0.0.1:{free_port()}//",
        OMS_NGINX="/nonexistent/nginx",
    )
    assert code == 0 and "2 skipped" in output, output
    assert (
        "RABBITMQ TESTS NOT RUN: RabbitMQ does not answer at amqp://guest:**@127.0.0.1:" in output
    )
    assert "NGINX TESTS NOT RUN: nginx is not installed (/nonexistent/nginx)" in output
    assert output.count("`make services`") == 2, output
    assert "Set OMS_REQUIRE_RABBITMQ=1" in output and "Set OMS_REQUIRE_NGINX=1" in output


def test_in_ci_missing_rabbitmq_and_nginx_fail_the_run():
    code, output = _pytest(
        RABBITMQ_TEST,
        NGINX_TEST,
        OMS_TEST_RABBITMQ_URL=f"amqp://guest:guest@127.0.0.1:{free_port()}//",
        OMS_NGINX="/nonexistent/nginx",
        OMS_REQUIRE_RABBITMQ="1",
        OMS_REQUIRE_NGINX="1",
    )
    assert code == 1 and "2 errors" in output, output
    assert "OMS_REQUIRE_RABBITMQ=1 makes this a failure" in output
    assert "OMS_REQUIRE_NGINX=1 makes this a failure" in output
