"""Configuration from OMS_* variables; production refuses to start without its secrets."""

from __future__ import annotations

import pytest

from oms import create_app
from oms.config import ConfigurationError, load_config


def test_production_refuses_to_start_without_secrets(monkeypatch):
    monkeypatch.setenv("OMS_ENV", "production")
    monkeypatch.delenv("OMS_SECRET_KEY", raising=False)
    monkeypatch.delenv("OMS_JWT_SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError) as info:
        create_app()
    assert "OMS_SECRET_KEY" in str(info.value) and "OMS_JWT_SECRET_KEY" in str(info.value)


def test_production_names_the_one_missing_secret(monkeypatch):
    monkeypatch.setenv("OMS_ENV", "production")
    monkeypatch.setenv("OMS_SECRET_KEY", "s" * 40)
    monkeypatch.delenv("OMS_JWT_SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError) as info:
        load_config()
    assert "OMS_JWT_SECRET_KEY" in str(info.value)
    assert "OMS_SECRET_KEY," not in str(info.value)


ENCRYPTION_KEY = "yV4gVkD3CkYhSIMQj1HvKqCkU9bNu5uOtd1c3jyXOvg="  # a Fernet key


def _production(monkeypatch):
    monkeypatch.setenv("OMS_ENV", "production")
    monkeypatch.setenv("OMS_SECRET_KEY", "a" * 40)
    monkeypatch.setenv("OMS_JWT_SECRET_KEY", "b" * 40)
    monkeypatch.setenv("OMS_METRICS_TOKEN", "c" * 40)
    monkeypatch.setenv("OMS_WEBHOOKS_ENCRYPTION_KEYS", ENCRYPTION_KEY)
    monkeypatch.setenv("OMS_PUBLIC_URL", "https://shop.example.com/")


def test_production_with_secrets_uses_them(monkeypatch):
    _production(monkeypatch)
    config = load_config()
    assert config["SECRET_KEY"] == "a" * 40
    assert config["JWT_SECRET_KEY"] == "b" * 40
    assert config["JWT_COOKIE_SECURE"] is True
    assert config["OMS_PUBLIC_URL"] == "https://shop.example.com"
    assert config["OMS_WEBHOOKS_ENCRYPTION_KEYS"] == [ENCRYPTION_KEY]


@pytest.mark.parametrize("name", ["OMS_PUBLIC_URL", "OMS_WEBHOOKS_ENCRYPTION_KEYS"])
def test_production_refuses_to_start_without_the_public_url_or_the_encryption_key(
    monkeypatch, name
):
    """Links in emails would point at a development address; webhook secrets would be
    encrypted with a key derived from another secret."""
    _production(monkeypatch)
    monkeypatch.delenv(name)
    with pytest.raises(ConfigurationError) as info:
        create_app()
    assert name in str(info.value)


def test_encryption_keys_are_checked_and_rotate(monkeypatch):
    from cryptography.fernet import Fernet

    monkeypatch.setenv("OMS_WEBHOOKS_ENCRYPTION_KEYS", "not-a-key")
    with pytest.raises(ConfigurationError, match="OMS_WEBHOOKS_ENCRYPTION_KEYS"):
        load_config()
    newer = Fernet.generate_key().decode()
    monkeypatch.setenv("OMS_WEBHOOKS_ENCRYPTION_KEYS", f"{newer}, {ENCRYPTION_KEY}")
    assert load_config()["OMS_WEBHOOKS_ENCRYPTION_KEYS"] == [newer, ENCRYPTION_KEY]


def test_development_derives_the_encryption_key_from_the_secret_key(monkeypatch, tmp_path):
    from cryptography.fernet import Fernet

    monkeypatch.setenv("OMS_ENV", "development")
    monkeypatch.delenv("OMS_WEBHOOKS_ENCRYPTION_KEYS", raising=False)
    monkeypatch.setenv("OMS_SECRET_KEY", "d" * 40)
    (key,) = load_config()["OMS_WEBHOOKS_ENCRYPTION_KEYS"]
    assert load_config()["OMS_WEBHOOKS_ENCRYPTION_KEYS"] == [key]  # the same every start
    Fernet(key)
    monkeypatch.setenv("OMS_SECRET_KEY", "e" * 40)
    assert load_config()["OMS_WEBHOOKS_ENCRYPTION_KEYS"] != [key]


def test_development_generates_and_keeps_secrets(monkeypatch, tmp_path):
    monkeypatch.setenv("OMS_ENV", "development")
    monkeypatch.setenv("OMS_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("OMS_SECRET_KEY", raising=False)
    monkeypatch.delenv("OMS_JWT_SECRET_KEY", raising=False)
    first = load_config()
    second = load_config()
    assert len(first["SECRET_KEY"]) >= 32
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert first["SECRET_KEY"] != first["JWT_SECRET_KEY"]
    assert (tmp_path / "secret_key.secret").exists()


def test_embedded_default_needs_no_servers(monkeypatch, tmp_path):
    for name in ("OMS_DATABASE_URL", "OMS_REDIS_URL", "OMS_BROKER_URL", "OMS_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMS_INSTANCE_DIR", str(tmp_path))
    config = load_config()
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'oms.sqlite3'}"
    assert config["CELERY"]["task_always_eager"] is True
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("OMS_DATABASE_URL", "postgresql+psycopg2://u@db/oms")
    monkeypatch.setenv("OMS_REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("OMS_ACCESS_TOKEN_MINUTES", "5")
    config = load_config()
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg2://u@db/oms"
    assert config["CELERY"]["broker_url"] == "redis://cache:6379/0"
    assert config["CELERY"]["task_always_eager"] is False
    assert config["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/0"
    assert config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds() == 300


def test_bad_values_are_named(monkeypatch):
    monkeypatch.setenv("OMS_ACCESS_TOKEN_MINUTES", "soon")
    with pytest.raises(ConfigurationError, match="OMS_ACCESS_TOKEN_MINUTES"):
        load_config()
    monkeypatch.delenv("OMS_ACCESS_TOKEN_MINUTES")
    monkeypatch.setenv("OMS_ENV", "staging")
    with pytest.raises(ConfigurationError, match="OMS_ENV"):
        load_config()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_plain_database_url_uses_the_installed_driver(monkeypatch, scheme):
    """The form hosting platforms and libpq tools give (no driver named) connects."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from oms.extensions import db
    from tests.conftest import TEST_DATABASE_URL

    url = make_url(TEST_DATABASE_URL)
    plain = f"{scheme}://{url.username}@{url.host}:{url.port or 5432}/{url.database}"
    monkeypatch.setenv("OMS_DATABASE_URL", plain)
    app = create_app({"OMS_ENV": "testing"})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg2://")
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT 1")) == 1
        db.session.remove()
        db.engine.dispose()


def test_a_database_url_with_its_driver_is_kept(monkeypatch):
    monkeypatch.setenv("OMS_DATABASE_URL", "postgresql+psycopg://u@db/oms")
    assert load_config()["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/oms"
    monkeypatch.setenv("OMS_DATABASE_URL", "sqlite:////tmp/x.sqlite3")
    assert load_config()["SQLALCHEMY_DATABASE_URI"] == "sqlite:////tmp/x.sqlite3"


def test_the_pool_holds_a_connection_for_every_web_thread(monkeypatch):
    from oms.extensions import db
    from tests.conftest import TEST_DATABASE_URL

    monkeypatch.setenv("OMS_DATABASE_URL", TEST_DATABASE_URL)
    monkeypatch.setenv("OMS_WEB_THREADS", "40")
    app = create_app({"OMS_ENV": "testing"})
    with app.app_context():
        assert db.engine.pool.size() >= 40
        # 40 threads at once each get a connection without waiting for another to return one
        connections = [db.engine.connect() for _ in range(40)]
        assert db.engine.pool.overflow() <= 0
        for connection in connections:
            connection.close()
        db.engine.dispose()
    monkeypatch.setenv("OMS_DB_POOL_SIZE", "7")
    assert load_config()["SQLALCHEMY_ENGINE_OPTIONS"]["pool_size"] == 7


def test_the_api_uses_every_core_and_sizes_threads_from_the_same_setting(monkeypatch, tmp_path):
    import os
    import runpy

    from tests.processes import ROOT

    # the settings files name a metrics folder in the environment (oms/gunicorn.py): set here,
    # it is this test's and is gone after it, so /metrics of later tests stays single-process
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    monkeypatch.delenv("OMS_WEB_WORKERS", raising=False)
    monkeypatch.delenv("OMS_WEB_THREADS", raising=False)
    api = runpy.run_path(str(ROOT / "deploy/gunicorn_api.py"))
    assert api["workers"] == os.cpu_count()
    # gthread, a request getting a thread once it has arrived, refusals in the envelope
    assert api["worker_class"] == "oms.http_worker.BufferingThreadWorker"
    assert api["threads"] == load_config()["OMS_WEB_THREADS"]
    assert "OMS_SOCKETIO=separate" in api["raw_env"]  # no Socket.IO on the API processes
    monkeypatch.setenv("OMS_WEB_WORKERS", "3")
    monkeypatch.setenv("OMS_WEB_THREADS", "40")
    api = runpy.run_path(str(ROOT / "deploy/gunicorn_api.py"))
    assert (api["workers"], api["threads"], load_config()["OMS_WEB_THREADS"]) == (3, 40, 40)
    socket = runpy.run_path(str(ROOT / "deploy/gunicorn_socket.py"))
    assert socket["worker_class"] == "oms.gunicorn_workers.GeventWorker"
    procfile = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert "-c deploy/gunicorn_api.py" in procfile["web"] and "wsgi:app" in procfile["web"]
    assert "-c deploy/gunicorn_socket.py" in procfile["socket"]
    assert "oms.socket_server:app" in procfile["socket"]


def test_socketio_modes(monkeypatch):
    with pytest.raises(ConfigurationError, match="OMS_SOCKETIO"):
        load_config({"OMS_SOCKETIO": "elsewhere"})
    # events reach a separate Socket.IO process only through Redis
    with pytest.raises(ConfigurationError, match="OMS_REDIS_URL"):
        load_config({"OMS_SOCKETIO": "separate", "OMS_REDIS_URL": None})
    monkeypatch.setenv("OMS_SOCKET_ALLOWED_ORIGINS", "http://127.0.0.1:5000/, http://a.test")
    config = load_config({"OMS_REDIS_URL": "redis://cache:6379/0"})
    assert config["OMS_SOCKETIO"] == "embedded" and config["OMS_SOCKET_URL"] == ""
    assert config["OMS_SOCKET_ALLOWED_ORIGINS"] == ["http://127.0.0.1:5000", "http://a.test"]


def test_redis_names_are_scoped_to_the_deployment(monkeypatch):
    monkeypatch.delenv("OMS_REDIS_NAMESPACE", raising=False)
    first = load_config({"OMS_REDIS_URL": "redis://cache:6379/10"})
    second = load_config({"OMS_REDIS_URL": "redis://cache:6379/11"})
    assert first["OMS_REDIS_NAMESPACE"] != second["OMS_REDIS_NAMESPACE"]
    assert first["RATELIMIT_KEY_PREFIX"].startswith(first["OMS_REDIS_NAMESPACE"])
    monkeypatch.setenv("OMS_REDIS_NAMESPACE", "shop-eu")
    assert load_config({"OMS_REDIS_URL": "redis://cache:6379/10"})["OMS_REDIS_NAMESPACE"] == (
        "shop-eu"
    )


def test_backup_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("OMS_INSTANCE_DIR", str(tmp_path))
    config = load_config()
    assert config["OMS_BACKUP_DIR"] == str(tmp_path / "backups")
    assert (config["OMS_BACKUP_KEEP"], config["OMS_BACKUP_INTERVAL_HOURS"]) == (14, 24.0)
    for name, value, says in (
        ("OMS_BACKUP_KEEP", "0", "at least 1"),
        ("OMS_BACKUP_KEEP", "many", "must be an integer"),
        ("OMS_BACKUP_INTERVAL_HOURS", "0", "more than 0"),
    ):
        with monkeypatch.context() as patch:
            patch.setenv(name, value)
            with pytest.raises(ConfigurationError, match=says):
                load_config()
