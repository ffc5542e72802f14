"""Test fixtures: a real PostgreSQL database migrated to head, a real Redis db of its own.

Why not a rolled-back transaction per test: services own their transactions and run work
after commit (events, task enqueueing), and integration tests hand data to real Celery worker
processes, which only see committed rows. So tests commit for real and every table is
truncated after each test (a few milliseconds on PostgreSQL).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg2
import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from psycopg2 import sql
from sqlalchemy.engine import make_url

from oms import create_app
from oms.extensions import db

TEST_DATABASE_URL = os.environ.get(
    "OMS_TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/oms_test"
)
TEST_REDIS_URL = os.environ.get("OMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` if it does not exist."""
    parsed = make_url(url)
    conn = psycopg2.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname="postgres",
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(parsed.database)))
    conn.close()


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
        "OMS_RATELIMIT_LOGIN": "10000 per minute",
        "RATELIMIT_DEFAULT": "10000 per minute",
        "OMS_LOG_LEVEL": "WARNING",
        "CELERY": {
            "broker_url": "memory://",
            "result_backend": None,
            "task_always_eager": True,
            "task_eager_propagates": True,
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


@pytest.fixture(autouse=True)
def _clean_tables(request) -> Iterator[None]:
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        tables = ", ".join(t.name for t in reversed(db.metadata.sorted_tables))
        with db.engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()


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
