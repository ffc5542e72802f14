"""Backups (oms/ops/backup.py, `flask backup ...`): the demo data dumped by the real pg_dump,
restored by pg_restore into a new database, the app run on it; retention; refusals."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
import sqlalchemy as sa
from psycopg2 import sql
from sqlalchemy.engine import make_url

from oms import create_app, demo
from oms.ops import backup
from tests.conftest import (
    TEST_BROKER_URL,
    TEST_DATABASE_URL,
    TEST_REDIS_URL,
    make_test_config,
)
from tests.factories import make_product
from tests.processes import BIN, ROOT, Process, stack_env, wait_for

_source = make_url(TEST_DATABASE_URL)
RESTORED_URL = _source.set(database=f"{_source.database}_restored").render_as_string(
    hide_password=False
)
ADMIN_EMAIL, ADMIN_PASSWORD, _ = demo.LOGINS[0]


def _drop_database(url: str) -> None:
    parsed = make_url(url)
    conn = psycopg2.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname="postgres",
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(parsed.database)
                )
            )
    finally:
        conn.close()


@pytest.fixture
def restored_url():
    """The name of a database that does not exist yet, dropped again after the test."""
    _drop_database(RESTORED_URL)
    yield RESTORED_URL
    _drop_database(RESTORED_URL)


def _row_counts(url: str) -> dict[str, int]:
    """Rows of every table in the database (alembic_version included)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
            return {
                table: conn.execute(
                    sa.select(sa.func.count()).select_from(sa.table(table))
                ).scalar_one()
                for table in tables
            }
    finally:
        engine.dispose()


def _flask(*args: str, env: dict) -> subprocess.CompletedProcess:
    """An operator command, as operators run it."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _login(client) -> dict:
    response = client.post(
        "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


@pytest.mark.slow
def test_a_backup_restores_into_a_new_database_and_the_app_runs_on_it(
    app, app_ctx, client, tmp_path, monkeypatch, restored_url
):
    exports = tmp_path / "exports"
    monkeypatch.setitem(app.config, "OMS_EXPORT_DIR", str(exports))
    assert demo.load()
    admin = _login(client)
    export = client.post("/api/v1/reports/exports", json={}, headers=admin)
    assert export.status_code == 202, export.get_json()
    job = client.get(export.headers["Location"], headers=admin).get_json()
    assert job["status"] == "finished", job
    export_file = client.get(job["download_url"], headers=admin).data
    before = _row_counts(TEST_DATABASE_URL)
    assert before["orders"] > 200 and before["audit_log"] > 0 and before["export_jobs"] == 1

    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        broker_url=TEST_BROKER_URL,
        OMS_EXPORT_DIR=str(exports),
        OMS_BACKUP_DIR=str(tmp_path / "backups"),
    )
    made = _flask("backup", "create", env=env)
    assert made.returncode == 0, made.stderr
    (taken,) = backup.list_backups(tmp_path / "backups")
    assert taken.dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format

    restored_exports = tmp_path / "restored-exports"
    restored = _flask(
        "backup",
        "restore",
        "latest",
        env={**env, "OMS_DATABASE_URL": restored_url, "OMS_EXPORT_DIR": str(restored_exports)},
    )
    assert restored.returncode == 0, restored.stderr
    assert f"{before['orders']} orders, {before['audit_log']} audit entries" in restored.stdout
    assert _row_counts(restored_url) == before

    # The app on the restored database: the same orders, the export downloads the same file.
    restored_app = create_app(
        make_test_config(SQLALCHEMY_DATABASE_URI=restored_url, OMS_EXPORT_DIR=str(restored_exports))
    )
    with restored_app.app_context():
        restored_client = restored_app.test_client()
        headers = _login(restored_client)
        orders = restored_client.get("/api/v1/orders", headers=headers)
        assert orders.status_code == 200, orders.get_json()
        assert orders.get_json()["count"] == before["orders"]
        download = restored_client.get(job["download_url"], headers=headers)
        assert download.status_code == 200 and download.data == export_file
        from oms.extensions import db

        db.engine.dispose()

    # The audit log is still append-only: its trigger came along.
    entries = _row_counts(restored_url)["audit_log"]  # the logins above added theirs
    engine = sa.create_engine(restored_url)
    try:
        for statement in (
            "UPDATE audit_log SET action = 'forged'",
            "DELETE FROM audit_log",
        ):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()
    assert _row_counts(restored_url)["audit_log"] == entries


def test_the_newest_backups_are_kept(app_ctx, tmp_path):
    make_product()
    folder = tmp_path / "backups"
    folder.mkdir()
    killed = folder / "20261101T031500.000000Z.dump.partial"  # a backup killed a month ago
    in_progress = folder / "20261207T031500.000000Z.dump.partial"  # another one running now
    for partial in (killed, in_progress):
        partial.write_bytes(b"PGDMP")
    os.utime(killed, (time.time() - 30 * 86400,) * 2)
    made = []
    for _ in range(3):
        taken, removed = backup.create_backup(
            database_url=TEST_DATABASE_URL, export_dir=tmp_path / "none", backup_dir=folder, keep=2
        )
        made.append(taken)
    assert [b.name for b in removed] == [made[0].name]
    assert [b.name for b in backup.list_backups(folder)] == [made[2].name, made[1].name]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [in_progress.name, *(p.name for b in made[1:] for p in (b.dump, b.exports))]
    )


def test_restore_refuses_a_database_that_has_tables(app_ctx, tmp_path):
    make_product()
    taken, _ = backup.create_backup(
        database_url=TEST_DATABASE_URL, export_dir=tmp_path, backup_dir=tmp_path / "b", keep=1
    )
    with pytest.raises(backup.BackupError, match="is not empty"):
        backup.restore_backup(taken, database_url=TEST_DATABASE_URL, export_dir=tmp_path / "x")
    assert _row_counts(TEST_DATABASE_URL)["products"] == 1  # untouched


def test_the_cli_names_what_is_wrong(runner, tmp_path, monkeypatch, app):
    monkeypatch.setitem(app.config, "OMS_BACKUP_DIR", str(tmp_path))
    missing = runner.invoke(args=["backup", "restore", "latest"])
    assert missing.exit_code == 1 and f"no backups in {tmp_path}" in missing.output
    monkeypatch.setitem(app.config, "SQLALCHEMY_DATABASE_URI", "sqlite:///x.sqlite3")
    sqlite = runner.invoke(args=["backup", "create"])
    assert sqlite.exit_code == 1 and "backups need PostgreSQL" in sqlite.output


@pytest.mark.slow
def test_the_scheduled_service_backs_up_every_interval_and_keeps_the_newest(app_ctx, tmp_path):
    """Compose's `backup` service command, on an interval of 1.8 s."""
    make_product()
    folder = tmp_path / "backups"
    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        broker_url=TEST_BROKER_URL,
        OMS_BACKUP_DIR=str(folder),
        OMS_BACKUP_KEEP="2",
        OMS_BACKUP_INTERVAL_HOURS="0.0005",
    )
    schedule = Process(
        [str(BIN / "flask"), "--app", "wsgi", "backup", "schedule"], env, tmp_path / "log"
    )

    def two_pruned() -> bool:
        return schedule.log().count("deleted backup") >= 2

    try:
        assert wait_for(lambda: two_pruned() or schedule.popen.poll() is not None, 90)
        assert two_pruned(), schedule.log()
    finally:
        schedule.stop()
    taken = backup.list_backups(folder)
    assert len(taken) == 2, schedule.log()
    assert timedelta(seconds=1.7) <= taken[0].taken_at - taken[1].taken_at, schedule.log()


def test_a_schedule_waits_for_the_newest_backup_to_age():
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    day = timedelta(hours=24)
    assert backup.seconds_until_due(None, day, now) == 0
    assert backup.seconds_until_due(now - timedelta(hours=20), day, now) == 4 * 3600
    assert backup.seconds_until_due(now - timedelta(hours=30), day, now) == 0
