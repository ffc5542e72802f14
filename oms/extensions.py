"""Unbound extension objects; ``create_app`` binds them to an application."""

from __future__ import annotations

from datetime import UTC, datetime

from celery import Celery, Task
from flask import Flask
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.orm import DeclarativeBase, Mapper

from oms import limits
from oms.openapi import Api


class Base(DeclarativeBase):
    """Declarative base shared by every model (and by Alembic's autogenerate).

    The naming convention gives every constraint a predictable name, so migrations can
    drop and alter them on PostgreSQL and SQLite alike."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def _utc_datetimes(target, *_args) -> None:
    """Every timestamp column is ``timezone=True`` and stored in UTC, but SQLite (the embedded
    default) hands them back naive: make them aware again, so the API always writes them with
    their offset (RFC 3339 ``date-time``, as documented). PostgreSQL's are aware already."""
    for key, value in list(vars(target).items()):
        if isinstance(value, datetime) and value.tzinfo is None:
            target.__dict__[key] = value.replace(tzinfo=UTC)  # no change history: as loaded


# On the Mapper class: every mapped class, whichever declarative base Flask-SQLAlchemy made.
event.listen(Mapper, "load", _utc_datetimes)
event.listen(Mapper, "refresh", _utc_datetimes)

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
jwt = JWTManager()
# Every limit, key and message lives in oms.limits. All breached limits of a request are
# evaluated (not only the first), so Retry-After and the message name the widest breached
# window (of the lock tiers, the longest).
limiter = Limiter(
    key_func=limits.request_key,
    application_limits=[limits.APPLICATION_LIMIT],
    on_breach=limits.on_breach,
    fail_on_first_breach=False,
)
socketio = SocketIO()
api = Api()


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app whose tasks each run inside ``app.app_context()``.

    Task modules use ``@shared_task`` and never import the Flask app (Flask's own Celery
    example). ``celery_config`` holds every setting; the deployment's part arrives in
    ``app.config["CELERY"]`` (``oms.config``, tests override it).
    """
    import celery_config

    class FlaskTask(Task):
        _oms_flask_app = app  # for signal handlers that need an app context (metrics)

        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_config)
    celery_app.conf.update(app.config["CELERY"])
    celery_app.set_default()
    celery_app.loader.import_default_modules()  # register the tasks in this process too
    app.extensions["celery"] = celery_app
    return celery_app
