"""A real worker process SIGKILLed in the middle of an export: the job is found by the
recovery sweep and run again to the end, never left running forever."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from oms import create_app
from oms.auth.enums import UserRole
from oms.exports.enums import ExportStatus
from oms.exports.models import ExportJob
from oms.extensions import db
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL, make_test_config
from tests.exports.helpers import load_orders, parse_csv
from tests.factories import PASSWORD, make_user
from tests.processes import PrivateRedis, stack_env, start_worker, wait_for

pytestmark = pytest.mark.slow

STALE_SECONDS = 3


@pytest.fixture
def broker():
    """A Redis of this test's own as the broker, so killing its worker disturbs no one."""
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


def _job() -> ExportJob:
    db.session.remove()
    return db.session.scalars(sa.select(ExportJob)).one()


def test_worker_killed_mid_export_is_run_again_to_the_end(app_ctx, broker, tmp_path):
    export_dir = tmp_path / "exports"
    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        broker_url=broker.url,
        OMS_EXPORT_DIR=str(export_dir),
        OMS_EXPORT_PROGRESS_SECONDS="0.1",
        OMS_EXPORT_STALE_SECONDS=str(STALE_SECONDS),
    )
    web = create_app(
        make_test_config(
            CELERY={"broker_url": broker.url, "result_backend": None, "task_always_eager": False},
            OMS_EXPORT_DIR=str(export_dir),
        )
    )
    load_orders(100_000)  # 200,000 order lines: seconds of work, time to kill it half-way
    admin = make_user(UserRole.ADMIN)
    client = web.test_client()
    token = client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD}
    ).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post(
        "/api/v1/reports/exports", json={"per_line": True, "gzip": True}, headers=headers
    )
    assert response.status_code == 202

    victim = start_worker(env, tmp_path / "victim.log", concurrency=1, name="victim")
    try:
        started = wait_for(lambda: _job().rows_written > 0, 60, interval=0.05)
        assert started, victim.log()[-3000:]
    finally:
        victim.kill()  # SIGKILL, mid-file
    job = _job()
    assert job.status == ExportStatus.RUNNING and 0 < job.rows_written < job.total_rows
    assert [p.name for p in export_dir.iterdir()] == [f"{job.id}.1.part"]

    # nothing will ever touch this job again but the recovery sweep (beat, every minute)
    time.sleep(STALE_SECONDS + 0.5)
    assert _job().status == ExportStatus.RUNNING
    survivor = start_worker(env, tmp_path / "survivor.log", concurrency=1, name="survivor")
    try:
        web.extensions["celery"].send_task("reports.recover_stale_exports")
        done = wait_for(
            lambda: _job().status not in (ExportStatus.RUNNING, ExportStatus.QUEUED), 120
        )
        assert done, survivor.log()[-3000:]
    finally:
        survivor.stop()

    job = _job()
    assert job.status == ExportStatus.FINISHED, job.error
    assert job.attempts == 2 and job.rows_written == job.total_rows == 200_000
    assert [p.name for p in export_dir.iterdir()] == [f"{job.id}.csv.gz"]
    download = client.get(f"/api/v1/reports/exports/{job.id}/download", headers=headers)
    _, rows = parse_csv(download.data, gzipped=True)
    assert len(rows) == 200_000
