"""The Flask application: ``create_app`` is a list of named registration steps."""

from __future__ import annotations

import functools
from logging import getLogger  # (not `import logging`: oms.logging, once imported, is that name)
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

# Nothing of the app or Flask is imported here at module level: the gunicorn masters import
# oms.logging and oms.gunicorn before they fork, and must load no application module (nor
# prometheus_client, which reads PROMETHEUS_MULTIPROC_DIR once, when it is imported).


def create_app(config: dict | None = None) -> Flask:
    """Build the application; ``config`` overrides what the environment says (tests use it)."""
    from flask import Flask

    from oms.config import instance_dir, load_config

    app = Flask(
        __name__,
        instance_path=str(instance_dir()),
        template_folder=bundled("templates"),
        static_folder=None,  # oms.assets serves oms/static under a versioned URL
    )
    app.config.update(load_config(config))
    configure_proxy(app)
    configure_logger(app)
    warn_about_transport(app)
    register_extensions(app)
    register_request_hooks(app)
    register_errorhandlers(app)
    register_blueprints(app)
    register_realtime(app)
    register_webhooks(app)
    register_scheduler(app)
    register_commands(app)
    return app


def bundled(folder: str) -> str:
    """Where the top-level ``templates`` or ``migrations`` folder is: inside the package when
    installed from the wheel (pyproject maps them there), beside it in a source checkout."""
    package = Path(__file__).parent
    inside = package / folder
    return str(inside if inside.is_dir() else package.parent / folder)


def configure_proxy(app: Flask) -> None:
    """Behind ``OMS_PROXY_HOPS`` trusted proxies, take the client's address, scheme and host
    from their X-Forwarded-* headers (rate limits and logs then see the real client). Off by
    default: without a proxy those headers are the client's own and must not be believed."""
    hops = app.config["OMS_PROXY_HOPS"]
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Flask's documented way to wrap the WSGI app
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )


def configure_logger(app: Flask) -> None:
    """Log lines as ``OMS_LOG_FORMAT`` says, the ``oms`` ones at ``OMS_LOG_LEVEL``, Celery's
    too (and the request id in task headers); unhandled errors to the error tracker when
    ``OMS_SENTRY_DSN`` is set."""
    from oms.logging import configure_error_tracker, configure_logging, register_celery_logging

    configure_logging(app.config["OMS_LOG_LEVEL"], app.config["OMS_LOG_FORMAT"])
    register_celery_logging()
    configure_error_tracker(app.config["OMS_SENTRY_DSN"], environment=app.config["OMS_ENV"])


def warn_about_transport(app: Flask) -> None:
    """Say at start when production's public address is plain HTTP for a host browsers do not
    trust over HTTP: nobody could log in there (the login cookies are ``Secure``)."""
    from oms.config import plain_http_public_url

    warning = plain_http_public_url(app.config)
    if warning:
        getLogger("oms.config").warning(warning)


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions (database, JWT, limiter, Celery, Socket.IO) to ``app``."""
    from oms import models  # noqa: F401  (mappers must know every table)
    from oms.auth import tokens
    from oms.extensions import api, celery_init_app, db, jwt, limiter, migrate, socketio

    db.init_app(app)
    migrate.init_app(app, db, directory=bundled("migrations"), render_as_batch=True)
    jwt.init_app(app)
    tokens.register_jwt_callbacks(jwt)
    limiter.init_app(app)
    api.init_app(app)
    # Handlers must be declared before init_app, so every app's server gets them.
    from oms.realtime import handlers  # noqa: F401

    init_socketio(app, socketio)
    celery_init_app(app)
    if app.config["OMS_COMPRESS"]:
        from oms.extensions import compress

        compress.init_app(app)


def init_socketio(app: Flask, socketio) -> None:
    """Bind Socket.IO as ``OMS_SOCKETIO`` says: served here on threads (``embedded``), not
    served here at all (``separate``: events only leave through Redis, for the socket
    process), or served here on gevent's greenlets (``server``: ``oms.socket_server``).

    Every transport, so clients at their defaults (long polling first) connect: a polling
    session lives in the process that opened it, and the proxy keeps each client on one
    socket process (deploy/nginx.conf)."""
    from oms.realtime import handlers
    from oms.realtime.manager import RedisManager

    mode = app.config["OMS_SOCKETIO"]
    # Flask-SocketIO keeps the previous app's options; each app decides its own (several
    # apps live in one test process).
    socketio.server_options.pop("client_manager", None)
    # loggers of their own, not True/False (with those they add a plain-text handler), at the
    # level they keep when not asked to log
    server_logger, engine_logger = getLogger("socketio.server"), getLogger("engineio.server")
    server_logger.setLevel("ERROR")
    engine_logger.setLevel("ERROR")
    options = {}
    if app.config["OMS_REDIS_URL"]:
        options["client_manager"] = RedisManager(
            app.config["OMS_REDIS_URL"],
            channel=f"{app.config['OMS_REDIS_NAMESPACE']}:socketio",
            write_only=mode == "separate",  # no app: only emits
            on_resubscribed=handlers.ask_to_catch_up,
            on_recheck=functools.partial(handlers.recheck, app),
        )
    socketio.init_app(
        None if mode == "separate" else app,
        **options,
        async_mode="gevent" if mode == "server" else "threading",
        # None: the page must come from the address it connects to
        cors_allowed_origins=_socket_origins(app) if mode == "server" else None,
        logger=server_logger,
        engineio_logger=engine_logger,
    )


def _socket_origins(app: Flask):
    """Same-origin pages, and those of ``OMS_SOCKET_ALLOWED_ORIGINS`` (``make stack``'s
    pages are served from the API's port)."""
    allowed = set(app.config["OMS_SOCKET_ALLOWED_ORIGINS"])
    if not allowed:
        return None

    def accepts(origin, environ) -> bool:
        own = f"{environ['wsgi.url_scheme']}://{environ.get('HTTP_HOST', '')}"
        return origin in allowed or origin == own

    return accepts


def register_realtime(app: Flask) -> None:
    """Relay published events to the Socket.IO rooms; re-check a user's open connections
    when their sessions end."""
    from oms.auth import service as auth_service
    from oms.realtime.handlers import recheck_everywhere
    from oms.realtime.relay import register_relay

    register_relay()
    auth_service.on_sessions_changed(recheck_everywhere)


def register_webhooks(app: Flask) -> None:
    """Fan every published event out to the webhook endpoints subscribed to it."""
    from oms.webhooks import service

    service.register()


def register_scheduler(app: Flask) -> None:
    """With no broker (the embedded default), run beat's schedule in this process."""
    from oms import scheduler

    scheduler.register(app)


def register_request_hooks(app: Flask) -> None:
    """Content checks, request logging and security headers around every request."""
    from oms.api.content import register_content_checks
    from oms.headers import register_security_headers
    from oms.logging import register_request_logging

    register_request_logging(app)
    register_content_checks(app)
    register_security_headers(app)


def register_errorhandlers(app: Flask) -> None:
    """The one error envelope for every error."""
    from oms.errors import register_error_handlers

    register_error_handlers(app)


def register_blueprints(app: Flask) -> None:
    """The API, the pages and the metrics endpoint."""
    from oms.api import auth, customers, docs, health, orders, products, users
    from oms.assets import register_static_files
    from oms.extensions import api
    from oms.metrics import register_metrics
    from oms.web import views

    register_static_files(app)
    app.register_blueprint(health.blp)
    register_metrics(app)
    app.register_blueprint(docs.blp)
    app.register_blueprint(views.blp)
    api.register_blueprint(auth.blp, url_prefix="/api/v1/auth")
    api.register_blueprint(users.blp, url_prefix="/api/v1/users")
    api.register_blueprint(orders.blp, url_prefix="/api/v1/orders")
    api.register_blueprint(orders.customer_orders_blp, url_prefix="/api/v1/customers")
    from oms.openapi import document_choices

    carriers = [carrier["code"] for carrier in app.config["OMS_CARRIERS"]]
    document_choices(api, "StatusChange", "carrier", carriers)
    api.register_blueprint(products.blp, url_prefix="/api/v1/products")
    api.register_blueprint(customers.blp, url_prefix="/api/v1/customers")
    from oms.api import reports

    api.register_blueprint(reports.blp, url_prefix="/api/v1/reports")
    from oms.api import analytics

    api.register_blueprint(analytics.blp, url_prefix="/api/v1/reports/analytics")
    from oms.api import webhooks

    api.register_blueprint(webhooks.blp, url_prefix="/api/v1/webhooks")
    from oms.api import audit

    api.register_blueprint(audit.blp, url_prefix="/api/v1/audit")
    from oms.api import ops

    api.register_blueprint(ops.blp, url_prefix="/api/v1/ops")


def register_commands(app: Flask) -> None:
    """The ``flask`` CLI commands (users, database, demo)."""
    from oms.cli import register_cli

    register_cli(app)
