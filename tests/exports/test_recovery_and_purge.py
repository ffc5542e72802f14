"""A run whose worker was lost is retried or failed, never left running; a second delivery of
the task does nothing; old exports and stray files are purged."""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta

import sqlalchemy as sa

from oms import events
from oms.db import utcnow
from oms.exports import service as exports
from oms.exports.enums import ExportStatus
from oms.exports.models import ExportJob
from oms.extensions import db
from tests.exports.helpers import load_orders, run_task
from tests.outbox import transaction_without_dispatch

STALE = timedelta(seconds=300)


def _queued(admin, **fields) -> uuid.UUID:
    """A queued export whose task has not reached a worker yet."""
    with transaction_without_dispatch():
        job = exports.create(actor=admin.user, filters={}, **fields)
    return job.id


def _job(job_id) -> ExportJob:
    db.session.remove()
    return db.session.get(ExportJob, job_id)


def _age_heartbeat(job_id, seconds: float) -> None:
    db.session.execute(
        sa.update(ExportJob)
        .where(ExportJob.id == job_id)
        .values(heartbeat_at=utcnow() - timedelta(seconds=seconds))
    )
    db.session.commit()


def test_a_lost_run_is_queued_again_and_finished(admin, export_dir):
    load_orders(30)
    job_id = _queued(admin)
    lost = exports.start(job_id=job_id)  # a worker claimed it, then died mid-file
    (export_dir / f"{job_id}.1.part").write_bytes(b"half a file")
    _age_heartbeat(job_id, 301)

    # the next run happens right away in the eager app, as a worker would pick it up
    assert exports.recover_stale(stale_after=STALE, max_attempts=2) == {
        "requeued": 1,
        "failed": 0,
        "resent": 0,
    }
    job = _job(job_id)
    assert job.status == ExportStatus.FINISHED and job.attempts == 2 and job.rows_written == 30
    assert sorted(p.name for p in export_dir.iterdir()) == [f"{job_id}.csv"]

    # the lost run, were it still alive, can change nothing any more
    assert not exports.mark_progress(claim=lost, rows_written=5, total_rows=30)
    assert not exports.fail(claim=lost, error="late")
    assert not exports.finish(claim=lost, temp=export_dir / "nothing", rows_written=5)
    assert _job(job_id).status == ExportStatus.FINISHED


def test_a_run_lost_too_often_is_marked_failed(admin, export_dir):
    job_id = _queued(admin)
    exports.start(job_id=job_id)
    db.session.execute(sa.update(ExportJob).values(attempts=2))
    db.session.commit()
    (export_dir / f"{job_id}.2.part").write_bytes(b"half a file")
    _age_heartbeat(job_id, 301)
    seen: list[dict] = []
    unsubscribe = events.subscribe(seen.append)
    try:
        assert exports.recover_stale(stale_after=STALE, max_attempts=2) == {
            "requeued": 0,
            "failed": 1,
            "resent": 0,
        }
    finally:
        unsubscribe()
    job = _job(job_id)
    assert job.status == ExportStatus.FAILED and "worker was lost" in job.error
    assert job.finished_at is not None
    assert list(export_dir.iterdir()) == []
    assert [(e["type"], e["status"]) for e in seen] == [("export.finished", "failed")]


def test_a_live_run_is_left_alone(app, admin, export_dir):
    job_id = _queued(admin)
    exports.start(job_id=job_id)
    _age_heartbeat(job_id, 10)
    # the beat task, with the thresholds of the config (300 s)
    assert run_task(app, "reports.recover_stale_exports") == {
        "requeued": 0,
        "failed": 0,
        "resent": 0,
    }
    assert _job(job_id).status == ExportStatus.RUNNING


def test_a_queued_job_whose_task_vanished_is_sent_again(admin, export_dir):
    load_orders(12)
    waiting = _queued(admin)  # its task was taken by a worker that died before claiming it
    fresh = _queued(admin)  # queued a moment ago: still waiting its turn, left alone
    _age_heartbeat(waiting, exports.QUEUED_RESEND_AFTER.total_seconds() + 1)
    # in the eager app the resent task runs at once, as a worker would run it
    assert exports.recover_stale(stale_after=STALE, max_attempts=2) == {
        "requeued": 0,
        "failed": 0,
        "resent": 1,
    }
    assert _job(waiting).status == ExportStatus.FINISHED
    assert _job(waiting).rows_written == 12
    assert _job(fresh).status == ExportStatus.QUEUED


def test_a_second_delivery_of_the_task_does_nothing(app, client, admin, export_dir):
    load_orders(10)
    job_id = client.post("/api/v1/reports/exports", json={}, headers=admin.headers).get_json()["id"]
    before = _job(uuid.UUID(job_id))
    assert before.status == ExportStatus.FINISHED
    size, finished_at = before.file_size, before.finished_at
    assert run_task(app, "reports.export_orders", job_id=job_id) is None
    after = _job(uuid.UUID(job_id))
    assert (after.status, after.attempts, after.file_size, after.finished_at) == (
        ExportStatus.FINISHED,
        1,
        size,
        finished_at,
    )
    assert run_task(app, "reports.export_orders", job_id=str(uuid.uuid4())) is None


def test_purge_removes_old_exports_and_stray_files(client, admin, export_dir, app, monkeypatch):
    load_orders(5)
    ids = [
        client.post("/api/v1/reports/exports", json={}, headers=admin.headers).get_json()["id"]
        for _ in range(2)
    ]
    old, recent = (uuid.UUID(i) for i in ids)
    db.session.execute(
        sa.update(ExportJob)
        .where(ExportJob.id == old)
        .values(finished_at=utcnow() - timedelta(hours=73))
    )
    db.session.commit()
    running = _queued(admin)
    exports.start(job_id=running)
    long_ago = time.time() - 3600
    strays = {
        f"{uuid.uuid4()}.csv": long_ago,  # its job was deleted with its user
        f"{recent}.7.part": long_ago,  # a lost run of a job that finished since
        f"{running}.1.part": long_ago,  # the live run's own file
        f"{uuid.uuid4()}.1.part": time.time(),  # too young to judge
        "notes.txt": long_ago,  # not ours
    }
    for name, mtime in strays.items():
        (export_dir / name).write_bytes(b"x")
        os.utime(export_dir / name, (mtime, mtime))

    monkeypatch.setitem(app.config, "OMS_EXPORT_RETENTION_HOURS", 72)
    assert run_task(app, "reports.purge_exports") == {"jobs": 1, "orphan_files": 2}
    assert _job(old) is None and _job(recent) is not None
    assert sorted(p.name for p in export_dir.iterdir()) == sorted(
        [f"{recent}.csv", f"{running}.1.part", *list(strays)[3:]]
    )
