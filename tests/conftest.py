"""Test fixtures: a real PostgreSQL database migrated to head, a real Redis db of its own.

Why not a rolled-back transaction per test: services own their transactions and run work
after commit (events, task enqueueing), and integration tests hand data to real Celery worker
processes, which only see committed rows. So tests commit for real and every table is
truncated after each test (a few milliseconds on PostgreSQL).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from oms import create_app
from oms.db import create_database_if_missing
from oms.extensions import db
from oms.limits import SETTINGS as RATELIMIT_SETTINGS

TEST_DATABASE_URL = os.environ.get(
    "OMS_TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/oms_test"
)
TEST_REDIS_URL = os.environ.get("OMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# The Celery broker gets a Redis db of its own: it is never flushed between tests, since kombu
# keeps its queue bindings there.
TEST_MAIL_DIR = os.path.join(tempfile.gettempdir(), f"oms-test-mail-{os.getpid()}")
TEST_EXPORT_DIR = os.path.join(tempfile.gettempdir(), f"oms-test-exports-{os.getpid()}")
TEST_BROKER_URL = os.environ.get("OMS_TEST_BROKER_URL", "redis://127.0.0.1:6379/14")


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` if it does not exist."""
    create_database_if_missing(make_url(url))


def reset_schema(url: str) -> None:
    """Drop everything in the database, so migrations run from empty every session."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def make_test_config(**overrides) -> dict:
    """Config for a test app: real PostgreSQL and Redis, cheap bcrypt, no login throttling."""
    config = {
        "OMS_ENV": "testing",
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": TEST_DATABASE_URL,
        "OMS_REDIS_URL": TEST_REDIS_URL,
        "OMS_BCRYPT_ROUNDS": 4,
        "RATELIMIT_STORAGE_URI": TEST_REDIS_URL,
        **{name: "10000 per minute" for name in RATELIMIT_SETTINGS},
        "OMS_LOG_LEVEL": "WARNING",
        "OMS_MAIL_DIR": TEST_MAIL_DIR,
        "OMS_EXPORT_DIR": TEST_EXPORT_DIR,
        "CELERY": {
            "broker_url": "memory://",
            "result_backend": None,
            "task_always_eager": True,
            "task_eager_propagates": False,
        },
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def _database() -> str:
    ensure_database(TEST_DATABASE_URL)
    reset_schema(TEST_DATABASE_URL)
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    return TEST_DATABASE_URL


@pytest.fixture(scope="session")
def app(_database) -> Iterator[Flask]:
    app = create_app(make_test_config())
    with app.app_context():
        upgrade()
    yield app


STOCK_INVARIANT_SQL = """
SELECT p.id, p.name, p.inventory_count, p.reserved_count, COALESCE(held.units, 0) AS held
FROM products p
LEFT JOIN (
    SELECT i.product_id, SUM(i.quantity) AS units
    FROM order_items i JOIN orders o ON o.id = i.order_id
    WHERE o.status IN ('placed', 'picked')
    GROUP BY i.product_id
) held ON held.product_id = p.id
WHERE p.reserved_count <> COALESCE(held.units, 0)
   OR p.reserved_count < 0 OR p.reserved_count > p.inventory_count
"""


def stock_invariant_violations() -> list:
    """Products whose reserved_count is not the units of their placed and picked orders."""
    with db.engine.connect() as conn:
        return list(conn.execute(sa.text(STOCK_INVARIANT_SQL)))


def truncate_all(attempts: int = 20) -> None:
    """Empty every table. A worker process may still be finishing a task of the test that
    just ended (a customer email, say) and hold row locks: wait for it, and try again if
    PostgreSQL picks the TRUNCATE as a deadlock victim."""
    tables = ", ".join(t.name for t in reversed(db.metadata.sorted_tables))
    for attempt in range(1, attempts + 1):
        try:
            with db.engine.begin() as conn:
                conn.execute(sa.text("SET LOCAL lock_timeout = '10s'"))
                conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            return
        except sa.exc.OperationalError:
            if attempt == attempts:
                raise
            time.sleep(0.25)


@pytest.fixture(autouse=True)
def _clean_tables(request) -> Iterator[None]:
    """After every test that used the database: check the stock invariant, then empty it."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        violations = stock_invariant_violations()
        truncate_all()
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    assert not violations, f"stock invariant broken: {violations}"


@pytest.fixture(scope="session")
def live_app(app) -> Flask:
    """An app that sends tasks to the real broker (a worker process runs them)."""
    return create_app(
        make_test_config(
            CELERY={
                "broker_url": TEST_BROKER_URL,
                "result_backend": None,
                "task_always_eager": False,
            }
        )
    )


@pytest.fixture(scope="session")
def worker(app, tmp_path_factory):
    """A real Celery worker process on the test broker, for the whole session."""
    from tests.processes import stack_env, start_worker

    redis.Redis.from_url(TEST_BROKER_URL).flushdb()
    process = start_worker(
        stack_env(
            database_url=TEST_DATABASE_URL, redis_url=TEST_REDIS_URL, broker_url=TEST_BROKER_URL
        ),
        tmp_path_factory.mktemp("worker") / "worker.log",
    )
    yield process
    process.stop()


@pytest.fixture(scope="session")
def web(worker, tmp_path_factory):
    """A threaded web server process on the test database and broker; yields its base URL.
    Shared by the integration tests and the browser tests."""
    from tests.processes import free_port, stack_env, start_web

    port = free_port()
    process = start_web(
        stack_env(
            database_url=TEST_DATABASE_URL, redis_url=TEST_REDIS_URL, broker_url=TEST_BROKER_URL
        ),
        tmp_path_factory.mktemp("web") / "web.log",
        port,
    )
    yield f"http://127.0.0.1:{port}"
    process.stop()


@pytest.fixture
def app_ctx(app) -> Iterator[Flask]:
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    """Log users in through the real API and hand back their Bearer headers."""

    def __init__(self, client: FlaskClient):
        self._client = client

    def login(self, email: str, password: str) -> dict:
        response = self._client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def headers(self, email: str, password: str) -> dict:
        return {"Authorization": f"Bearer {self.login(email, password)['access_token']}"}


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)
