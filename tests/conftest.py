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
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
import sqlalchemy as sa
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from oms import create_app
from oms.db import create_database_if_missing
from oms.extensions import db
from oms.limits import SETTINGS as RATELIMIT_SETTINGS
from tests import contract

SESSION_DATABASE_URL = os.environ.get(
    "OMS_TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/oms_test"
)
SESSION_REDIS_URL = os.environ.get("OMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# The Celery broker gets a Redis db of its own: it is never flushed between tests, since kombu
# keeps its queue bindings there.
SESSION_BROKER_URL = os.environ.get("OMS_TEST_BROKER_URL", "redis://127.0.0.1:6379/14")
TEST_MAIL_DIR = os.path.join(tempfile.gettempdir(), f"oms-test-mail-{os.getpid()}")
TEST_EXPORT_DIR = os.path.join(tempfile.gettempdir(), f"oms-test-exports-{os.getpid()}")

# pytest-xdist (`make test-fast`): every worker process truncates tables and flushes Redis
# after each of its tests, so each gets a database and two Redis dbs of its own. The database
# is the session's with the worker's id appended (oms_test -> oms_test_gw0). The Redis dbs come
# from OMS_TEST_XDIST_REDIS_DBS when set (a comma-separated list, two per worker in worker
# order: gw0 takes the first two for its Redis and broker, gw1 the next two, ...); otherwise
# they are counted down from the lower of the session's two dbs, skipping db 0 (the development
# default) and the session's own dbs: with the defaults 15 and 14, gw0 gets 13 and 12, gw1 11
# and 10.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _redis_db(url: str) -> int:
    return int(urlsplit(url).path.strip("/") or 0)


def _with_redis_db(url: str, db: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


def xdist_redis_dbs(worker: str, redis_url: str, broker_url: str, listed: str) -> list[int]:
    """The two Redis dbs (Redis, broker) of xdist worker ``worker`` (``gw0``, ``gw1``, ...)."""
    index = int(worker.removeprefix("gw"))
    if listed:
        dbs = [int(db) for db in listed.split(",") if db.strip()]
    else:
        session = {_redis_db(redis_url), _redis_db(broker_url)}
        counted = [(min(session) - step) % 16 for step in range(1, 16)]
        dbs = [db for db in counted if db != 0 and db not in session]
    if len(dbs) < 2 * index + 2:
        raise RuntimeError(
            f"no Redis dbs left for xdist worker {worker}: set OMS_TEST_XDIST_REDIS_DBS "
            "to a comma-separated list of two free dbs per worker, or run fewer workers"
        )
    return dbs[2 * index : 2 * index + 2]


if XDIST_WORKER:
    _url = make_url(SESSION_DATABASE_URL)
    TEST_DATABASE_URL = _url.set(database=f"{_url.database}_{XDIST_WORKER}").render_as_string(
        hide_password=False
    )
    _redis, _broker = xdist_redis_dbs(
        XDIST_WORKER,
        SESSION_REDIS_URL,
        SESSION_BROKER_URL,
        os.environ.get("OMS_TEST_XDIST_REDIS_DBS", ""),
    )
    TEST_REDIS_URL = _with_redis_db(SESSION_REDIS_URL, _redis)
    TEST_BROKER_URL = (
        _with_redis_db(SESSION_BROKER_URL, _broker)
        if SESSION_BROKER_URL.startswith("redis")
        else SESSION_BROKER_URL
    )
else:
    TEST_DATABASE_URL = SESSION_DATABASE_URL
    TEST_REDIS_URL = SESSION_REDIS_URL
    TEST_BROKER_URL = SESSION_BROKER_URL


# Fixtures that start processes (a Celery worker, a web server) or a browser: a test using one
# is slow, whether or not its module says so, so `make test-fast` (-m "not slow") never starts them.
PROCESS_FIXTURES = frozenset({"worker", "web", "live_app", "browser", "playwright"})


@pytest.hookimpl(tryfirst=True)  # before -m deselects by mark
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests using a process-starting fixture ``slow``, tests/generated ``generated``, and
    every test that uses the browser as needing Chromium."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if PROCESS_FIXTURES.intersection(fixtures):
            item.add_marker(pytest.mark.slow)
        if item.nodeid.startswith("tests/generated/"):
            item.add_marker(pytest.mark.generated)
        if {"browser", "playwright"}.intersection(fixtures):
            item.add_marker(pytest.mark.needs("chromium"))


@pytest.hookimpl(tryfirst=True)  # before any fixture of the test is set up
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip, or fail in CI, a test whose ``needs`` (RabbitMQ, nginx, ...) are missing."""
    from tests import needs

    for mark in item.iter_markers("needs"):
        for name in mark.args:
            needs.require(name)


def unreachable_services() -> list[str]:
    """The services every run needs (PostgreSQL, Redis) that do not answer, each with where
    it was looked for and why it failed."""
    import psycopg2

    missing = []
    url = make_url(TEST_DATABASE_URL)
    if url.get_backend_name() == "postgresql":
        try:
            psycopg2.connect(
                host=url.host,
                port=url.port or 5432,
                user=url.username,
                password=url.password,
                dbname="postgres",
                connect_timeout=3,
            ).close()
        except psycopg2.Error as exc:
            reason = str(exc).strip().splitlines()[0]
            missing.append(
                f"PostgreSQL at {url.host}:{url.port or 5432} (OMS_TEST_DATABASE_URL): {reason}"
            )
    servers = {}
    for variable, redis_url in (
        ("OMS_TEST_REDIS_URL", TEST_REDIS_URL),
        ("OMS_TEST_BROKER_URL", TEST_BROKER_URL),
    ):
        if redis_url.startswith(("redis://", "rediss://", "unix://")):
            parts = urlsplit(redis_url)
            servers.setdefault(f"{parts.hostname}:{parts.port or 6379}", (variable, redis_url))
    for address, (variable, redis_url) in servers.items():
        try:
            redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=3).ping()
        except redis.RedisError as exc:
            missing.append(f"Redis at {address} ({variable}): {exc}")
    return missing


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """The preflight: without PostgreSQL or Redis, stop at once, saying which is missing and
    what starts it (rather than one connection traceback per test)."""
    missing = unreachable_services()
    if missing:
        raise pytest.UsageError(
            "the tests need PostgreSQL and Redis, and these do not answer:\n"
            + "".join(f"  - {line}\n" for line in missing)
            + "Run `make services` to install and start them on this machine (Debian or "
            "Ubuntu, as root or with sudo), or point OMS_TEST_DATABASE_URL and "
            "OMS_TEST_REDIS_URL at running ones (README: Testing notes)."
        )


# Every Flask test client checks each API response against the app's own OpenAPI document
# (tests/contract.py); a test that breaks the app on purpose is marked off_contract.
Flask.test_client_class = contract.ContractClient


@pytest.fixture(autouse=True)
def _api_contract(request) -> Iterator[None]:
    contract.state["enabled"] = request.node.get_closest_marker("off_contract") is None
    yield
    contract.state["enabled"] = True


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
        "OMS_EMBEDDED_SCHEDULER": False,  # tests run periodic work themselves
        "CELERY": {
            "broker_url": "memory://",
            "result_backend": None,
            "task_always_eager": True,
            "task_eager_propagates": False,
        },
    }
    config.update(overrides)
    return config


def sqlite_app(path, **overrides) -> Flask:
    """A test app on a SQLite file at ``path`` without Redis: the embedded default's setup."""
    return create_app(
        make_test_config(
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}", OMS_REDIS_URL=None, **overrides
        )
    )


@pytest.fixture
def embedded_app(tmp_path) -> Iterator[Flask]:
    """:func:`sqlite_app` migrated, with its context pushed."""
    app = sqlite_app(tmp_path / "embedded.sqlite3")
    with app.app_context():
        upgrade()
        yield app


@pytest.fixture(scope="session")
def _database() -> str:
    ensure_database(TEST_DATABASE_URL)
    reset_schema(TEST_DATABASE_URL)
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    return TEST_DATABASE_URL


@pytest.fixture(scope="session")
def app(_database) -> Flask:
    app = create_app(make_test_config())
    with app.app_context():
        upgrade()
    return app


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
    # Shared tasks run on Celery's current app, the last one created: after a test that built
    # another app (a SQLite one), a task applied here would run in that app's context.
    app.extensions["celery"].set_current()
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class TokenActions:
    """Tokens for a user without an HTTP login: the pair the app issues at login
    (``oms.auth.tokens.issue_tokens``: same identity, ``sid`` and ``role`` claims), signed with
    the test app's key. Use ``auth`` where the login itself is under test."""

    def __init__(self, app: Flask):
        self._app = app

    def issue(self, user, *, sid: str | None = None) -> dict:
        """``{"access_token": ..., "refresh_token": ...}`` for ``user`` (a ``User``)."""
        from oms.auth.tokens import issue_tokens

        if has_app_context():
            return issue_tokens(user, sid=sid)
        with self._app.app_context():
            return issue_tokens(user, sid=sid)

    def headers(self, user, *, sid: str | None = None) -> dict:
        """Bearer headers with a fresh access token for ``user``."""
        return {"Authorization": f"Bearer {self.issue(user, sid=sid)['access_token']}"}


@pytest.fixture
def tokens(app) -> TokenActions:
    return TokenActions(app)


@pytest.fixture
def drain_outbox(app_ctx):
    """``drain_outbox()`` hands every unsent outbox message over now (tests/outbox.py)."""
    from tests.outbox import drain_outbox

    return drain_outbox


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
def outbox_mail(monkeypatch) -> list:
    """The emails sent, in order: the mailer (the boundary to the mail server) appends to this
    list; the outbox and the notifications task stay real."""
    from oms.notifications import mailer

    sent: list = []
    monkeypatch.setattr(mailer, "send", lambda message: sent.append(message) or "test")
    return sent


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)
