"""Worker health: ``GET /api/v1/ops/workers`` and ``/readyz`` on a broker of the test's own,
first with no worker (queued tasks wait, readiness is degraded), then with a real worker
process (it is listed, the queue drains, its outcomes are counted, readiness is ok)."""

from __future__ import annotations

import pytest

from oms import create_app, tasks
from oms.auth.enums import UserRole
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL, make_test_config
from tests.factories import make_user
from tests.processes import PrivateRedis, stack_env, start_worker, wait_for

pytestmark = pytest.mark.slow  # a broker and a worker process


@pytest.fixture
def broker():
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


def _depth(health: dict, queue: str) -> int:
    return {q["name"]: q["depth"] for q in health["queues"]}[queue]


def test_workers_and_readiness_with_and_without_a_worker(app_ctx, tokens, broker, tmp_path):
    app = create_app(
        make_test_config(
            CELERY={"broker_url": broker.url, "result_backend": None, "task_always_eager": False},
            OMS_FLOWER_URL="http://flower.example.test",
        )
    )
    client = app.test_client()
    admin = tokens.headers(make_user(UserRole.ADMIN))

    ready = client.get("/readyz")
    assert ready.status_code == 200  # this process serves; the orders wait in the queue
    assert ready.get_json() == {
        "status": "degraded",
        "checks": {"database": "ok", "redis": "ok", "workers": "degraded: no worker answers"},
    }

    celery = app.extensions["celery"]
    for _ in range(3):
        celery.send_task(tasks.PURGE_EXPIRED)  # routed to maintenance, nobody consumes it yet
    health = client.get("/api/v1/ops/workers", headers=admin).get_json()
    assert health["workers"] == [] and health["inspect_error"] is None
    assert _depth(health, "maintenance") == 3
    assert (health["broker"], health["embedded"]) == ("redis", False)
    assert health["flower_url"] == "http://flower.example.test"

    env = stack_env(database_url=TEST_DATABASE_URL, redis_url=TEST_REDIS_URL, broker_url=broker.url)
    worker = start_worker(env, tmp_path / "worker.log", name="health")
    try:

        def drained() -> dict | None:
            health = client.get("/api/v1/ops/workers", headers=admin).get_json()
            done = {t["name"]: t["succeeded"] for t in health["tasks"]}
            if (
                health["workers"]
                and _depth(health, "maintenance") == 0
                and done.get(tasks.PURGE_EXPIRED, 0) >= 3
            ):
                return health
            return None

        assert wait_for(drained, 60), worker.log()
        health = drained()
        (listed,) = health["workers"]
        assert listed["name"].startswith("health@")
        assert listed["pid"] == worker.popen.pid
        assert listed["concurrency"] == 2
        assert listed["processed"] >= 3

        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.get_json() == {
            "status": "ready",
            "checks": {"database": "ok", "redis": "ok", "workers": "ok"},
        }
    finally:
        worker.stop()


def test_only_admins_see_worker_health(app_ctx, client, tokens):
    staff = tokens.headers(make_user(UserRole.STAFF))
    assert client.get("/api/v1/ops/workers", headers=staff).status_code == 403
    assert client.get("/api/v1/ops/workers").status_code == 401
    embedded = client.get("/api/v1/ops/workers", headers=tokens.headers(make_user(UserRole.ADMIN)))
    body = embedded.get_json()
    assert (body["embedded"], body["workers"], body["broker"]) == (True, [], "in-process")
    assert {q["name"] for q in body["queues"]} == set(tasks.QUEUES)
